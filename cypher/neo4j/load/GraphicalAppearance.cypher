// One batch of GraphicalAppearance nodes: $rows = [{number, name}].
UNWIND $rows AS row
MERGE (n:`GraphicalAppearance` {number: row.number})
SET n.name = row.name;
