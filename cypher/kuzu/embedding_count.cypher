// Products with a stored image embedding.
MATCH (e:ProductEmbedding) RETURN count(e) AS embeddings;
