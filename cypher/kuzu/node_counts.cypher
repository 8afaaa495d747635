// Nodes per label.
MATCH (n) RETURN label(n) AS label, count(*) AS count ORDER BY label;
