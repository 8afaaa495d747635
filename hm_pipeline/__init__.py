"""hm-pipeline: a Dagster-orchestrated recommender for the H&M Personalized Fashion Recommendations data."""
