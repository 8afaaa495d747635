// One batch of PerceivedColourMaster nodes: $rows = [{id, name}].
UNWIND $rows AS row
MERGE (n:`PerceivedColourMaster` {id: row.id})
SET n.name = row.name;
