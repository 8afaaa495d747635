// Every PURCHASED edge.
MATCH (:Customer)-[p:PURCHASED]->(:Product) RETURN count(p) AS purchases;
