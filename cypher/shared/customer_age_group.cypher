// The AgeGroup of each customer in $customer_ids (cold-start popularity in the fusion step).
UNWIND $customer_ids AS customer_id
MATCH (c:Customer {id: customer_id})-[:IS_AGE_GROUP]->(g:AgeGroup)
RETURN c.id AS customer_id, g.name AS age_group
ORDER BY customer_id;
