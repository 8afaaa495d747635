// Every SIMILAR relationship.
MATCH (:Product)-[s:SIMILAR]->(:Product) RETURN count(s) AS similar;
