// One batch of FROM_SECTION edges (Department -> Section); MERGE: one edge per pair.
UNWIND $rows AS row
MATCH (s:`Department` {number: row.source})
MATCH (t:`Section` {number: row.target})
MERGE (s)-[:FROM_SECTION]->(t);
