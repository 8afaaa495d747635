// Seasonality: purchases and revenue per calendar month. PURCHASED only joins Customer to Product (the model), so
// the end labels are left out: Neo4j then scans the relationships by type in store order (sequential reads)
// instead of expanding every product's incoming chain and reading every customer node.
MATCH ()-[p:PURCHASED]->()
RETURN p.t_date.year AS year, p.t_date.month AS month, count(*) AS purchases, sum(p.price) AS revenue
ORDER BY year, month;
