// Customers per age group (groups without customers are absent).
MATCH (c:Customer)-[:IS_AGE_GROUP]->(a:AgeGroup)
RETURN a.name AS age_group, count(c) AS customers
ORDER BY age_group;
