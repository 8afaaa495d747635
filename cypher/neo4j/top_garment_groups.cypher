// Most bought garment groups: purchases (every transaction) and distinct products bought, per group.
// A product's purchases are its PURCHASED in-degree (every PURCHASED starts at a Customer: the model), which Neo4j
// reads from the relationship group of a dense node instead of walking its chain.
MATCH (p:Product)-[:HAS_GARMENT_GROUP]->(g:GarmentGroup)
WITH g, p, COUNT { (p)<-[:PURCHASED]-() } AS bought
WHERE bought > 0
RETURN g.name AS garment_group, count(p) AS products, sum(bought) AS purchases
ORDER BY purchases DESC, garment_group
LIMIT $limit;
