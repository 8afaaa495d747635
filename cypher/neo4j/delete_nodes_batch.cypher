// Clearing the graph before a full reload: one batch of nodes, after their relationships (run until deleted = 0).
MATCH (n) WHERE NOT n:GraphLoad
WITH n LIMIT $batch_size
DETACH DELETE n
RETURN count(*) AS deleted;
