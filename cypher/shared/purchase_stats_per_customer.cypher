// Purchases per customer (customers with at least one purchase): count, sum and sum of squares, for mean and sd.
MATCH (c:Customer)-[p:PURCHASED]->(:Product)
WITH c, count(p) AS n
RETURN count(*) AS entities, sum(n) AS total, sum(n * n) AS total_sq;
