// Numbers each product's SIMILAR edges 1, 2, ... by descending score (ties by target code), as the exact path does.
MATCH (p:Product)-[r:SIMILAR]->(q:Product)
WITH p, r, q
ORDER BY r.score DESC, q.code
WITH p, collect(r) AS edges
UNWIND range(1, size(edges)) AS rank
WITH edges[rank - 1] AS r, rank
SET r.rank = rank
RETURN count(*) AS ranked;
