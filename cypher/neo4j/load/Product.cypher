// One batch of Product nodes: $rows = [{code, idx, name, description}].
UNWIND $rows AS row
MERGE (n:`Product` {code: row.code})
SET n.idx = row.idx,
    n.name = row.name,
    n.description = row.description;
