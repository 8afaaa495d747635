// The key of every Product node (SIMILAR and embedding loads leave out rows naming any other article).
MATCH (p:Product) RETURN p.code AS code;
