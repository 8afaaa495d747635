// One batch of HAS_COLOUR edges (Product -> ColourGroup); MERGE: one edge per pair.
UNWIND $rows AS row
MATCH (s:`Product` {code: row.source})
MATCH (t:`ColourGroup` {code: row.target})
MERGE (s)-[:HAS_COLOUR]->(t);
