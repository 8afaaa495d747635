// Products with a stored image embedding.
MATCH (p:Product) WHERE p.embedding IS NOT NULL RETURN count(p) AS embeddings;
