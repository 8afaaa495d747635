// All 2-hop paths product <- customer -> a different product, over every purchase edge.
MATCH (a:Product)<-[:PURCHASED]-(:Customer)-[:PURCHASED]->(b:Product)
WHERE a.code <> b.code
RETURN count(*) AS paths;
