// Every PURCHASED edge, answered from Neo4j's count store: PURCHASED only joins Customer to Product (the model), so
// this is the shared statement's count; with both end labels Neo4j would expand every edge (minutes at full scale).
MATCH (:Customer)-[p:PURCHASED]->()
RETURN count(p) AS purchases;
