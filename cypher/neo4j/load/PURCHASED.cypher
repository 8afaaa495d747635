// One batch of PURCHASED edges (Customer -> Product); CREATE: every purchase is its own edge, repeats included.
UNWIND $rows AS row
MATCH (s:`Customer` {id: row.source})
MATCH (t:`Product` {code: row.target})
CREATE (s)-[:PURCHASED {t_date: row.t_date, price: row.price, sales_channel: row.sales_channel}]->(t);
