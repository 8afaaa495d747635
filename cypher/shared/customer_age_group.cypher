// The AgeGroup of each customer with $first_idx <= idx < $last_idx (cold-start popularity in the fusion step).
MATCH (c:Customer)-[:IS_AGE_GROUP]->(g:AgeGroup)
WHERE c.idx >= $first_idx AND c.idx < $last_idx
RETURN c.idx AS customer_idx, g.name AS age_group;
