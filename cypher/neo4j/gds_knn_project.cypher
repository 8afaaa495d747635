// Projects every Product with a stored image embedding into the in-memory GDS graph $graph_name (nodes only).
MATCH (p:Product)
WHERE p.embedding IS NOT NULL
WITH gds.graph.project($graph_name, p, null, {sourceNodeProperties: p {.embedding}, targetNodeProperties: null}) AS g
RETURN g.nodeCount AS products;
