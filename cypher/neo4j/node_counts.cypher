// Nodes per label (the GraphLoad status node is bookkeeping, not data).
MATCH (n) WHERE NOT n:GraphLoad
UNWIND labels(n) AS label
RETURN label, count(*) AS count ORDER BY label;
