// One batch of HAS_MASTER_COLOUR edges (Product -> PerceivedColourMaster); MERGE: one edge per pair.
UNWIND $rows AS row
MATCH (s:`Product` {code: row.source})
MATCH (t:`PerceivedColourMaster` {id: row.target})
MERGE (s)-[:HAS_MASTER_COLOUR]->(t);
