// Every SIMILAR edge as (source, target) product codes (benchmarks compare them with the exact top-k).
MATCH (p:Product)-[:SIMILAR]->(q:Product)
RETURN p.code AS source, q.code AS target;
