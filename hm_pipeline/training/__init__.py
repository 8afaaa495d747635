"""Implicit-feedback training: time split, thresholded interaction matrix, ALS, baselines, MAP@12 evaluation.

Plain functions over numpy / scipy.sparse / pyarrow; the Dagster wiring lives in `hm_pipeline.defs.training`.
"""
