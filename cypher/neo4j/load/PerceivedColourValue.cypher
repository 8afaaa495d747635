// One batch of PerceivedColourValue nodes: $rows = [{id, name}].
UNWIND $rows AS row
MERGE (n:`PerceivedColourValue` {id: row.id})
SET n.name = row.name;
