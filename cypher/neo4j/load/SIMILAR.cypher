// One batch of SIMILAR edges (Product -> Product) with score and rank; CREATE: the old set was deleted first.
UNWIND $rows AS row
MATCH (s:`Product` {code: row.source})
MATCH (t:`Product` {code: row.target})
CREATE (s)-[:SIMILAR {score: row.score, rank: row.rank}]->(t);
