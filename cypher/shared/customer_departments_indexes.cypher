// The (department, index) of everything each customer with $first_idx <= idx < $last_idx bought: the fusion
// step's department AND index filter, both from one pass over the purchases. One call per range of customers
// (`GraphStore.customer_chunk`), never one per customer.
MATCH (i:`Index`)<-[:HAS_INDEX]-(p:Product)<-[:PURCHASED]-(c:Customer), (p)-[:FROM_DEPARTMENT]->(d:Department)
WHERE c.idx >= $first_idx AND c.idx < $last_idx
RETURN DISTINCT c.idx AS customer_idx, d.number AS department, i.code AS index_code;
