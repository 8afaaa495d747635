// BASELINE ONLY (bench/bench_fusion.py): the seed's per-customer filter, one customer per call. Of the candidate
// products $candidates (the SIMILAR neighbours of the customer's purchases), those from a department AND an index
// the customer $customer_id has bought from. The pipeline uses the batched customer_departments /
// customer_indexes statements instead.
MATCH (c:Customer {id: $customer_id})
UNWIND $candidates AS rec_code
MATCH (ind:Index)<-[:HAS_INDEX]-(rec:Product {code: rec_code})-[:FROM_DEPARTMENT]->(d:Department)
WHERE EXISTS { MATCH (c)-[:PURCHASED]->(:Product)-[:FROM_DEPARTMENT]->(d) }
  AND EXISTS { MATCH (c)-[:PURCHASED]->(:Product)-[:HAS_INDEX]->(ind) }
RETURN DISTINCT rec.code AS recommended_item;
