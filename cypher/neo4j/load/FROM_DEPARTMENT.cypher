// One batch of FROM_DEPARTMENT edges (Product -> Department); MERGE: one edge per pair.
UNWIND $rows AS row
MATCH (s:`Product` {code: row.source})
MATCH (t:`Department` {number: row.target})
MERGE (s)-[:FROM_DEPARTMENT]->(t);
