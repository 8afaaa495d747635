"""Dagster wiring, loaded by `hm_pipeline.definitions` (Dagster's defs folder): one module per stage of the story
(ingest, graph, images, training, ranker, recommend, evaluation), which imports only the cores, `layout`, and
`resources` / `metadata` here; `automation` (jobs, schedule, sensor) sits on top."""
