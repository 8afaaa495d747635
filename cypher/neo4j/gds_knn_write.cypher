// The seed's SIMILAR: GDS kNN over the projected embeddings (cosine), topK per product, written as
// (:Product)-[:SIMILAR {score}]->(:Product). One thread with a fixed seed, so a re-run writes the same edges.
CALL gds.knn.write($graph_name, {
  nodeProperties: {embedding: 'COSINE'},
  topK: $top_k,
  sampleRate: $sample_rate,
  deltaThreshold: $delta_threshold,
  randomSeed: $random_seed,
  concurrency: 1,
  writeRelationshipType: 'SIMILAR',
  writeProperty: 'score'
})
YIELD nodesCompared, relationshipsWritten, ranIterations, didConverge, nodePairsConsidered, computeMillis, writeMillis
RETURN nodesCompared, relationshipsWritten, ranIterations, didConverge, nodePairsConsidered, computeMillis,
       writeMillis;
