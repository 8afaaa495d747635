// Departments each customer in $customer_ids bought from (the fusion step's department filter).
UNWIND $customer_ids AS customer_id
MATCH (c:Customer {id: customer_id})-[:PURCHASED]->(:Product)-[:FROM_DEPARTMENT]->(d:Department)
RETURN DISTINCT c.id AS customer_id, d.number AS department
ORDER BY customer_id, department;
