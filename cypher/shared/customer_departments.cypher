// Departments each customer with $first_idx <= idx < $last_idx bought from (the fusion step's department filter).
// One call per range of customers (`GraphStore.customer_chunk`), never one per customer.
MATCH (c:Customer)-[:PURCHASED]->(:Product)-[:FROM_DEPARTMENT]->(d:Department)
WHERE c.idx >= $first_idx AND c.idx < $last_idx
RETURN DISTINCT c.idx AS customer_idx, d.number AS department;
