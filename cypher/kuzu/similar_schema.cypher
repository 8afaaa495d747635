// Drop and recreate the SIMILAR table (similar_graph replaces the whole set; rank 1 = most similar).
DROP TABLE IF EXISTS SIMILAR;
CREATE REL TABLE `SIMILAR`(FROM `Product` TO `Product`, score FLOAT, rank INT8);
