// The seed's fallback recommender, for a batch of customers: products bought by customers who bought what the
// customer bought, scored by the number of such 2-hop paths (every purchase edge counts), never a product the
// customer already has. Returns every candidate with its score; callers take the top k per customer.
// Shape chosen for the embedded engine: the WITH stages make it expand from the customers outwards (written as
// one pattern, kuzu/ladybug plan a join that exhausts a 4 GB buffer pool on 1M purchases); the customer's own
// products are filtered per candidate after aggregation (a NOT EXISTS per path was ~3x slower); node variables
// cannot cross an aggregation in kuzu, so the customer is matched again by id.
UNWIND $customer_ids AS customer_id
MATCH (:Customer {id: customer_id})-[:PURCHASED]->(p:Product)
WITH customer_id, p
MATCH (p)<-[:PURCHASED]-(other:Customer)
WITH customer_id, p, other
MATCH (other)-[:PURCHASED]->(rec:Product)
WHERE p <> rec
WITH customer_id, rec.code AS product, count(*) AS score
MATCH (:Customer {id: customer_id})-[:PURCHASED]->(own:Product)
WITH customer_id, product, score, collect(own.code) AS owned
WHERE NOT (product IN owned)
RETURN customer_id, product, score
ORDER BY customer_id, score DESC, product;
