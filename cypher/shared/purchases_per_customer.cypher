// Purchases (every transaction) of each customer in $customer_ids.
UNWIND $customer_ids AS customer_id
MATCH (c:Customer {id: customer_id})-[p:PURCHASED]->(:Product)
RETURN c.id AS customer_id, count(p) AS purchases
ORDER BY customer_id;
