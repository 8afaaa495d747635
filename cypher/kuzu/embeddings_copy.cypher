// Bulk load of the image embeddings from an Arrow parameter (code, embedding).
COPY `ProductEmbedding` FROM $productembedding_rows;
