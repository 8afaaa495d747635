"""Image-stage benchmarks, each side by side in one run (medians of --repeats):

1. embedding: the batched tf.data pipeline vs the seed's loop (load_img + one `predict` per image), same model
   (ResNet50V2, 224x224; random weights: ImageNet weights cannot be downloaded here, the arithmetic is identical),
   same real photos;
2. exact top-10 (blocked, `knn.topk_full`) vs the bare float32 matrix product it needs (same blocks) vs the naive
   full matmul + argsort; and adding one folder (`knn.topk_update`) vs the full rebuild;
3. the sensor's folder fingerprint scan over ~100k empty files.

    .venv/bin/python bench/bench_images.py [--images 64] [--n 20000] [--added 1200] [--files 100000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from hm_pipeline.images import knn  # noqa: E402
from hm_pipeline.images.scan import fingerprint_tree, scan_folder  # noqa: E402

REAL_IMAGES = REPO_ROOT.parent / "shared" / "real_sample" / "images"


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def side_by_side(cases: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds per case, the cases interleaved within each repeat (same machine load for each)."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            times[name].append(timed(fn))
            print(f"  .. {name}: {times[name][-1]:.2f} s", file=sys.stderr, flush=True)
    return {name: statistics.median(t) for name, t in times.items()}


def bench_embedding(n_images: int, repeats: int, batch_sizes: list[int]) -> None:
    from hm_pipeline.images.embed import embed_images, load_model

    scans = [scan_folder(p) for p in sorted(REAL_IMAGES.iterdir()) if p.is_dir()]
    ids = [a for s in scans for a in s.article_ids][:n_images]
    paths = [p for s in scans for p in s.paths][:n_images]
    model = load_model("random", 224, 0)
    from tensorflow.keras.applications import resnet_v2
    from tensorflow.keras.preprocessing import image

    def seed_loop() -> None:  # the seed's ImageEmbedder.create_embedding, once per image
        for path in paths:
            img = image.load_img(path, target_size=(224, 224))
            vec = np.expand_dims(image.img_to_array(img), axis=0)
            model.model.predict(resnet_v2.preprocess_input(vec), verbose=0)

    def batched(batch_size: int) -> Callable[[], None]:
        def run() -> None:
            result = embed_images(ids, paths, model, batch_size=batch_size)
            assert len(result.article_ids) == len(ids)

        return run

    cases = {"seed loop": seed_loop, **{f"batch {b}": batched(b) for b in batch_sizes}}
    for fn in cases.values():
        fn()  # warm-up: graph tracing, file cache
    med = side_by_side(cases, repeats)
    print(f"\n[embedding] {len(paths)} real photos, ResNet50V2 224x224, {repeats} repeats, medians")
    for name, sec in med.items():
        ratio = med["seed loop"] / sec
        print(f"  {name:<10} {sec:8.2f} s  {len(paths) / sec:7.2f} images/s  {ratio:5.2f}x seed loop")
    print("  goal: batched >= 2.5x seed loop")


def bench_knn(n: int, added: int, repeats: int, naive: bool, bare: bool = True) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 2048)).astype(np.float32)
    xn = knn.normalize_rows(x)

    def bare_matmul() -> None:
        with knn.blas_threads():
            for start in range(0, n, knn.DEFAULT_BLOCK):
                xn[start : start + knn.DEFAULT_BLOCK] @ xn.T

    ids = np.array([f"{i:010d}" for i in range(n)], dtype=object)
    old_n = n - added
    old = knn.topk_full(x[:old_n])  # the state before the folder landed
    print(f"  .. previous top-k over {old_n} rows ready", file=sys.stderr, flush=True)

    def incremental() -> None:
        _, stats = knn.topk_update(
            x, ids, ids[old.src], ids[old.dst], old.score, ids[old_n:].tolist(), [], [], knn.DEFAULT_K
        )
        assert stats.mode == "incremental"

    cases = {"bare matmul": bare_matmul} if bare else {}
    med = side_by_side({**cases, "topk_full": lambda: knn.topk_full(x), "add folder": incremental}, repeats)
    print(f"\n[knn] {n} x 2048 float32, k=10, block {knn.DEFAULT_BLOCK}, {repeats} repeats, medians")
    for name, sec in med.items():
        print(f"  {name:<12} {sec:8.2f} s")
    if bare:
        print(f"  topk_full / bare matmul: {med['topk_full'] / med['bare matmul']:.2f}x  (goal <= 1.3x)")
    print(f"  add {added} to {old_n} / full rebuild: {100 * med['add folder'] / med['topk_full']:.1f}%  (goal <= 5%)")
    if naive:

        def full_matmul_argsort() -> None:
            with knn.blas_threads():
                s = xn @ xn.T
            np.fill_diagonal(s, -np.inf)
            np.argsort(-s, axis=1)[:, :10]

        sec = timed(full_matmul_argsort)
        print(f"  naive full matmul + argsort (1 run): {sec:.2f} s = {sec / med['topk_full']:.2f}x topk_full")


def bench_sensor_scan(n_files: int, repeats: int) -> None:
    per_folder = 1200
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i in range(n_files):
            folder = root / f"{10 + i // per_folder:03d}"
            if i % per_folder == 0:
                folder.mkdir()
            (folder / f"{folder.name}{i:07d}.jpg").touch()
        fingerprint_tree(root)  # warm the directory cache, as a sensor ticking every minute would
        times = [timed(lambda: fingerprint_tree(root)) for _ in range(repeats)]
        print(f"\n[sensor scan] {n_files} files in {len(os.listdir(root))} folders, {repeats} repeats")
        print(f"  fingerprint_tree median {statistics.median(times):.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--added", type=int, default=1200)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-sizes", default="8,32", help="comma-separated batch sizes for the batched pipeline")
    parser.add_argument("--naive", action="store_true", help="also time the full matmul + argsort once")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare matmul (large --n)")
    parser.add_argument("--only", choices=["embedding", "knn", "sensor"], action="append")
    args = parser.parse_args()
    only = set(args.only or ["embedding", "knn", "sensor"])
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()}")
    if "sensor" in only:
        bench_sensor_scan(args.files, 5)
    if "knn" in only:
        bench_knn(args.n, args.added, args.repeats, args.naive, bare=not args.no_bare)
    if "embedding" in only:
        if REAL_IMAGES.is_dir():
            bench_embedding(args.images, args.repeats, [int(b) for b in args.batch_sizes.split(",")])
        else:
            print(f"\n[embedding] skipped: {REAL_IMAGES} not found")
    print(f"\nload average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
