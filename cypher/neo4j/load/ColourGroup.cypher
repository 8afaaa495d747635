// One batch of ColourGroup nodes: $rows = [{code, name}].
UNWIND $rows AS row
MERGE (n:`ColourGroup` {code: row.code})
SET n.name = row.name;
