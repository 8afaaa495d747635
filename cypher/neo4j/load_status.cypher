// Status of every load part: "loading" means a load started and did not finish.
MATCH (s:GraphLoad) RETURN s.part AS part, s.status AS status ORDER BY part;
