// One batch of Department nodes: $rows = [{number, name}].
UNWIND $rows AS row
MERGE (n:`Department` {number: row.number})
SET n.name = row.name;
