// One batch of Section nodes: $rows = [{number, name}].
UNWIND $rows AS row
MERGE (n:`Section` {number: row.number})
SET n.name = row.name;
