// Replacing the age groups: the AgeGroup nodes (a handful; their edges are already gone).
MATCH (a:AgeGroup)
DETACH DELETE a
RETURN count(*) AS deleted;
