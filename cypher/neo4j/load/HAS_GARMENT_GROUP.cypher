// One batch of HAS_GARMENT_GROUP edges (Product -> GarmentGroup); MERGE: one edge per pair.
UNWIND $rows AS row
MATCH (s:`Product` {code: row.source})
MATCH (t:`GarmentGroup` {number: row.target})
MERGE (s)-[:HAS_GARMENT_GROUP]->(t);
