// Purchases per customer (customers with at least one purchase): count, sum and sum of squares, for mean and sd.
// The PURCHASED out-degree of each customer (every PURCHASED ends at a Product: the model), counted by Neo4j
// without producing a row per purchase.
MATCH (c:Customer)
WITH COUNT { (c)-[:PURCHASED]->() } AS n
WHERE n > 0
RETURN count(*) AS entities, sum(n) AS total, sum(n * n) AS total_sq;
