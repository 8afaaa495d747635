// Marks a load of $part as "loading" before it starts and "complete" after it ends, so a half-finished load
// is visible to every reader (Neo4j cannot swap a whole database atomically the way the embedded store does).
MERGE (s:GraphLoad {part: $part})
SET s.status = $status, s.updated_at = datetime();
