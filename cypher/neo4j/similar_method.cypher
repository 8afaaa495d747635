// How the current SIMILAR set was made (no row before the first load).
MATCH (s:GraphLoad {part: 'similar'})
RETURN s.method AS method;
