// Replacing SIMILAR: one batch of SIMILAR relationships (run until deleted = 0).
MATCH (:Product)-[r:SIMILAR]->(:Product)
WITH r LIMIT $batch_size
DELETE r
RETURN count(*) AS deleted;
