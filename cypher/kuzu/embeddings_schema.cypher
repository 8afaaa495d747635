// Drop and recreate the image-embedding table: one row per Product code that has an image (2048 = ResNet50V2).
DROP TABLE IF EXISTS ProductEmbedding;
CREATE NODE TABLE `ProductEmbedding`(code STRING, embedding FLOAT[2048], PRIMARY KEY (code));
