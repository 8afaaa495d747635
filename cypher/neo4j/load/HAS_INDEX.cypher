// One batch of HAS_INDEX edges (Product -> Index); MERGE: one edge per pair.
UNWIND $rows AS row
MATCH (s:`Product` {code: row.source})
MATCH (t:`Index` {code: row.target})
MERGE (s)-[:HAS_INDEX]->(t);
