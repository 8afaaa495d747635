// One batch of Index nodes: $rows = [{code, name}].
UNWIND $rows AS row
MERGE (n:`Index` {code: row.code})
SET n.name = row.name;
