// The seed's validation query ("Randomly sampling data for quick validation"): the products SIMILAR to
// $prod_code by image, with their score, product type and department, most similar first.
MATCH (p:Product {code: $prod_code})-[s:SIMILAR]->(other:Product)
OPTIONAL MATCH (other)-[:SUBSET_OF]->(type:ProductType)
OPTIONAL MATCH (other)-[:FROM_DEPARTMENT]->(d:Department)
RETURN other.code AS prod_code, s.score AS sim_score, type.name AS prod_type, d.name AS department_name,
       s.rank AS rank
ORDER BY rank;
