// One batch of PURCHASED edges (Customer -> Product); CREATE: every purchase is its own edge, repeats included.
// Each distinct end is looked up once per batch ($sources, $targets: keys), rows name theirs by position
// (row.s, row.t); a batch with an end that is not there writes nothing (`written` tells the loader).
UNWIND range(0, size($sources) - 1) AS i
MATCH (s:`Customer` {id: $sources[i]})
WITH i, s ORDER BY i
WITH collect(s) AS sources
UNWIND range(0, size($targets) - 1) AS i
MATCH (t:`Product` {code: $targets[i]})
WITH sources, i, t ORDER BY i
WITH sources, collect(t) AS targets
WHERE size(sources) = size($sources) AND size(targets) = size($targets)
UNWIND $rows AS row
WITH sources[row.s] AS s, targets[row.t] AS t, row
CREATE (s)-[:PURCHASED {t_date: row.t_date, price: row.price, sales_channel: row.sales_channel}]->(t)
RETURN count(*) AS written;
