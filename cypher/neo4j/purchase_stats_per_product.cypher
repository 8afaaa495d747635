// Purchases per product (products bought at least once): count, sum and sum of squares, for mean and sd.
// The PURCHASED in-degree of each product (every PURCHASED starts at a Customer: the model), read from the
// relationship group of a dense node instead of walking its chain.
MATCH (prod:Product)
WITH COUNT { (prod)<-[:PURCHASED]-() } AS n
WHERE n > 0
RETURN count(*) AS entities, sum(n) AS total, sum(n * n) AS total_sq;
