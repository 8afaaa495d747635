// Drops the in-memory GDS graph $graph_name (no error when it is already gone).
CALL gds.graph.drop($graph_name, false) YIELD graphName
RETURN graphName;
