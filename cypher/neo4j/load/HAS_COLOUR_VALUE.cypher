// One batch of HAS_COLOUR_VALUE edges (Product -> PerceivedColourValue); MERGE: one edge per pair.
UNWIND $rows AS row
MATCH (s:`Product` {code: row.source})
MATCH (t:`PerceivedColourValue` {id: row.target})
MERGE (s)-[:HAS_COLOUR_VALUE]->(t);
