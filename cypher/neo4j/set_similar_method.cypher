// Records how the current SIMILAR set was made ('exact' from similar.parquet, or 'gds_knn').
MERGE (s:GraphLoad {part: 'similar'})
SET s.method = $method;
