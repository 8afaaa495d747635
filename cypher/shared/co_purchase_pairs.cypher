// Product pairs bought by the same customer: 2-hop paths product <- customer -> other product, counted over
// every purchase edge (repeat purchases multiply), for products in $product_codes.
// The WITH stage makes the embedded engine expand from the given products (see co_purchase_scores).
UNWIND $product_codes AS code
MATCH (a:Product {code: code})<-[:PURCHASED]-(buyer:Customer)
WITH a, buyer
MATCH (buyer)-[:PURCHASED]->(b:Product)
WHERE a <> b
RETURN a.code AS product, b.code AS other, count(*) AS paths
ORDER BY product, other;
