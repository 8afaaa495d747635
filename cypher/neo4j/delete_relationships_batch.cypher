// Clearing the graph before a full reload: one batch of relationships (run until deleted = 0).
MATCH ()-[r]->()
WITH r LIMIT $batch_size
DELETE r
RETURN count(*) AS deleted;
