// Purchases per product (products bought at least once): count, sum and sum of squares, for mean and sd.
MATCH (:Customer)-[p:PURCHASED]->(prod:Product)
WITH prod, count(p) AS n
RETURN count(*) AS entities, sum(n) AS total, sum(n * n) AS total_sq;
