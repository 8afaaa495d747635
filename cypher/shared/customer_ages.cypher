// Every customer's id and age (null when unknown), for bucketing into age groups.
MATCH (c:Customer) RETURN c.id AS id, c.age AS age ORDER BY id;
