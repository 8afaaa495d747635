// One batch of HAS_GROUP edges (Index -> IndexGroup); MERGE: one edge per pair.
UNWIND $rows AS row
MATCH (s:`Index` {code: row.source})
MATCH (t:`IndexGroup` {number: row.target})
MERGE (s)-[:HAS_GROUP]->(t);
