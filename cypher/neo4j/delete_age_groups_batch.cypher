// Replacing the age groups: one batch of IS_AGE_GROUP edges, then the AgeGroup nodes once none are left.
MATCH ()-[r:IS_AGE_GROUP]->()
WITH r LIMIT $batch_size
DELETE r
RETURN count(*) AS deleted;
