// One batch of ProductType nodes: $rows = [{number, name}].
UNWIND $rows AS row
MERGE (n:`ProductType` {number: row.number})
SET n.name = row.name;
