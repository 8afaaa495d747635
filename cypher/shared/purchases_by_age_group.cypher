// Buyers and purchases per age group (groups without purchases are absent).
// Two aggregation stages on purpose: in a grouped RETURN, kuzu 0.11.3 returns 0 for count(p) next to count(DISTINCT c) (see README).
MATCH (c:Customer)-[:IS_AGE_GROUP]->(a:AgeGroup)
MATCH (c)-[p:PURCHASED]->(:Product)
WITH a, c, count(p) AS bought
RETURN a.name AS age_group, count(c) AS buyers, sum(bought) AS purchases
ORDER BY age_group;
