// One batch of HAS_APPEARANCE_TYPE edges (Product -> GraphicalAppearance); MERGE: one edge per pair.
UNWIND $rows AS row
MATCH (s:`Product` {code: row.source})
MATCH (t:`GraphicalAppearance` {number: row.target})
MERGE (s)-[:HAS_APPEARANCE_TYPE]->(t);
