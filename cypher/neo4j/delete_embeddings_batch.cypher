// Replacing the image embeddings: one batch of Product nodes loses its embedding (run until deleted = 0).
MATCH (p:Product) WHERE p.embedding IS NOT NULL
WITH p LIMIT $batch_size
REMOVE p.embedding
RETURN count(*) AS deleted;
