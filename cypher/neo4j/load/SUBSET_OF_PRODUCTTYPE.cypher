// One batch of SUBSET_OF edges (Product -> ProductType); MERGE: one edge per pair.
UNWIND $rows AS row
MATCH (s:`Product` {code: row.source})
MATCH (t:`ProductType` {number: row.target})
MERGE (s)-[:SUBSET_OF]->(t);
