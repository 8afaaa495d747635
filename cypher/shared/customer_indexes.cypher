// Indexes each customer in $customer_ids bought from (the fusion step's index filter).
UNWIND $customer_ids AS customer_id
MATCH (c:Customer {id: customer_id})-[:PURCHASED]->(:Product)-[:HAS_INDEX]->(i:`Index`)
RETURN DISTINCT c.id AS customer_id, i.code AS index_code
ORDER BY customer_id, index_code;
