// One batch of IS_AGE_GROUP edges (Customer -> AgeGroup); MERGE: one edge per pair.
UNWIND $rows AS row
MATCH (s:`Customer` {id: row.source})
MATCH (t:`AgeGroup` {name: row.target})
MERGE (s)-[:IS_AGE_GROUP]->(t);
