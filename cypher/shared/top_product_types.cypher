// Most bought product types: purchases (every transaction) and distinct products bought, per type.
// Two aggregation stages on purpose: in a grouped RETURN, kuzu 0.11.3 returns 0 for count(b) next to count(DISTINCT p) (see README).
MATCH (:Customer)-[b:PURCHASED]->(p:Product)-[:SUBSET_OF]->(t:ProductType)
WITH t, p, count(b) AS bought
RETURN t.name AS product_type, count(p) AS products, sum(bought) AS purchases
ORDER BY purchases DESC, product_type
LIMIT $limit;
