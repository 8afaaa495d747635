"""Synthetic H&M data in the exact Kaggle layout (articles, customers, transactions, sample submission, images).

Entry point: `hm_pipeline.data.synthetic.generate.generate(scale, out_dir, seed=...)`.
"""
