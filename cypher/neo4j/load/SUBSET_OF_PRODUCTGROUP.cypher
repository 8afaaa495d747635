// One batch of SUBSET_OF edges (ProductType -> ProductGroup); MERGE: one edge per pair.
UNWIND $rows AS row
MATCH (s:`ProductType` {number: row.source})
MATCH (t:`ProductGroup` {name: row.target})
MERGE (s)-[:SUBSET_OF]->(t);
