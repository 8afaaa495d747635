"""Kaggle-shaped data: the file contract, typed ingest, and the synthetic generator."""
