"""Fused recommendations (the seed's final step), in index space: candidate sources -> ALS ranking -> fusion -> CSV.

`sources` generate candidates for a batch of customers, `ranking` orders each customer's own candidates,
`fusion` merges the sources into exactly 12 unique articles per customer, `submission` writes and validates the
Kaggle file, `explain` shows one customer's recommendations next to their purchases.
"""
