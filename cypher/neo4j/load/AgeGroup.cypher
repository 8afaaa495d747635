// One batch of AgeGroup nodes: $rows = [{name, lower, upper}].
UNWIND $rows AS row
MERGE (n:`AgeGroup` {name: row.name})
SET n.lower = row.lower,
    n.upper = row.upper;
