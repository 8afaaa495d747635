// One batch of GarmentGroup nodes: $rows = [{number, name}].
UNWIND $rows AS row
MERGE (n:`GarmentGroup` {number: row.number})
SET n.name = row.name;
