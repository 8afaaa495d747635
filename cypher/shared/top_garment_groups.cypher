// Most bought garment groups: purchases (every transaction) and distinct products bought, per group.
// Two aggregation stages on purpose: in a grouped RETURN, kuzu 0.11.3 returns 0 for count(b) next to count(DISTINCT p) (see README).
MATCH (:Customer)-[b:PURCHASED]->(p:Product)-[:HAS_GARMENT_GROUP]->(g:GarmentGroup)
WITH g, p, count(b) AS bought
RETURN g.name AS garment_group, count(p) AS products, sum(bought) AS purchases
ORDER BY purchases DESC, garment_group
LIMIT $limit;
