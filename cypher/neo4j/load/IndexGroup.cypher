// One batch of IndexGroup nodes: $rows = [{number, name}].
UNWIND $rows AS row
MERGE (n:`IndexGroup` {number: row.number})
SET n.name = row.name;
