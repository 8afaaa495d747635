// Bulk load of the SIMILAR relationships from an Arrow parameter (source, target, score, rank).
COPY `SIMILAR` FROM $similar_rows;
