// Most bought product types: purchases (every transaction) and distinct products bought, per type.
// A product's purchases are its PURCHASED in-degree (every PURCHASED starts at a Customer: the model), which Neo4j
// reads from the relationship group of a dense node instead of walking its chain.
MATCH (p:Product)-[:SUBSET_OF]->(t:ProductType)
WITH t, p, COUNT { (p)<-[:PURCHASED]-() } AS bought
WHERE bought > 0
RETURN t.name AS product_type, count(p) AS products, sum(bought) AS purchases
ORDER BY purchases DESC, product_type
LIMIT $limit;
