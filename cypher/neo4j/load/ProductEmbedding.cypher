// One batch of image embeddings: $rows = [{code, embedding}], stored as the Product's `embedding` list property.
UNWIND $rows AS row
MATCH (p:`Product` {code: row.code})
SET p.embedding = row.embedding;
