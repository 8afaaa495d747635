"""Cost of validating the submission at its temporary path before publishing it, at the full customer count.

    PYTHONPATH=$PWD OPENBLAS_NUM_THREADS=1 flock /work/coord/heavy.lock .venv/bin/python bench/bench_submission.py

Random ids (1,371,980 customers, 105,542 articles), 12 distinct articles per customer; prints the total time of
`write_submission` and the part spent in `validate_submission` on the temporary file, with peak RSS and the load.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

import numpy as np

from hm_pipeline.recommend import submission


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_371_980)
    parser.add_argument("--articles", type=int, default=105_542)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    customers = np.unique(np.array([f"{x:064x}" for x in rng.integers(0, 2**62, args.customers)]))
    articles = np.array([f"0{x:09d}" for x in np.arange(args.articles) + 108775000])
    step = args.articles // 40  # 12 of 40 distinct offsets, shifted per customer: distinct ids in every row
    items = np.argsort(rng.random((len(customers), 40)), axis=1)[:, :12] * step + rng.integers(0, step, (len(customers), 1))
    order = customers[rng.permutation(len(customers))]
    validate, spent = submission.validate_submission, {}

    def timed(*a, **k):
        start = time.perf_counter()
        result = validate(*a, **k)
        spent["validate"] = time.perf_counter() - start
        return result

    submission.validate_submission = timed
    with tempfile.TemporaryDirectory(prefix="bench-submission-") as folder:
        path = os.path.join(folder, "submission.csv")
        start = time.perf_counter()
        rows = submission.write_submission(path, order, customers, items, articles)
        total = time.perf_counter() - start
        size = os.path.getsize(path)
    print(f"rows {rows:,}; write_submission {total:.2f} s, of which validating the temporary file "
          f"{spent['validate']:.2f} s; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB; "
          f"file {size / 1e6:.0f} MB; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
