"""Dagster wiring, one module per domain; each exposes `defs`, merged in `hm_pipeline.definitions`."""
