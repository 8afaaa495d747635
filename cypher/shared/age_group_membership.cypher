// Customers in exactly one age group and in several (with Customer node count: the rest are in none).
// Plain MATCH + CASE, no count(DISTINCT) beside count(): kuzu 0.11.3 returns 0 for such a count (see README).
MATCH (c:Customer)-[r:IS_AGE_GROUP]->(:AgeGroup)
WITH c, count(r) AS groups
RETURN count(*) AS customers_with_group,
       sum(CASE WHEN groups = 1 THEN 1 ELSE 0 END) AS in_one_group;
