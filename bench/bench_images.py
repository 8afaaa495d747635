"""Image-stage benchmarks, each side by side in one run (cases interleaved within each repeat; medians):

1. embedding: the batched tf.data pipeline (`embed.embed_images`) vs the seed's loop (keras `load_img` 224x224 +
   `img_to_array` + `preprocess_input` + one `predict` per image), same model object (ResNet50V2, 224x224; seeded
   random weights: ImageNet weights cannot be downloaded here, the arithmetic is identical), same process and
   TensorFlow settings (the pipeline's: oneDNN on, `embed.configure_tf_threads`), same real photos;
2. exact top-10 over random Gaussian float32 vectors (`knn.topk_full`, blocked) vs the bare float32 matrix product
   it needs (the same row blocks of the normalized matrix times its transpose, results discarded); and adding one
   folder (`knn.topk_update` with `added` new rows at the end) vs that full rebuild. The state before the folder
   landed is derived once, untimed, from the full result by `knn.topk_update(removed=the folder)` (equal to a
   full rebuild of the old rows, as test_images_knn.py checks; this saves a second full pass), and each
   incremental result is checked equal to the full rebuild, bit for bit;
3. the sensor's folder fingerprint scan over ~100k empty files;
4. precision (issue #18): the same ResNet50V2 embedding path at fp32 (Keras), bf16 (Keras mixed_bfloat16) and
   int8 (OpenVINO + NNCF), interleaved, medians, on the real photos at 224x224 (decode + resize included), with
   the one-off int8 conversion timed apart; and the faithfulness of bf16/int8 to fp32 (per-photo cosine, top-10
   SIMILAR overlap) on the real photos and on generated ones, for two random-weight seeds:

    flock /work/coord/heavy.lock .venv/bin/python bench/bench_images.py --only precision \
        --out bench/out/images_precision.json

5. cores (issue #18, "Embedding loop: cores used"): today's `embed.embed_images` (fixed tf.data parallelism with
   autotuning off, two model calls in flight) vs the loop before it (`before_issue18_embeddings`: tf.data
   AUTOTUNE, one `predict_on_batch` at a time), same model object (fp32 Keras, 224x224, batch 32, seeded random
   weights), interleaved, medians, with the cores used (CPU s / wall s) and the embeddings checked equal bit for
   bit in every repeat; on the real photos, then on one folder of generated 360x540 photos (`--generated-images`,
   rendered by `bench_pipeline.py --steps photos`), each set in its own lock hold:

    flock /work/coord/heavy.lock .venv/bin/python bench/bench_images.py --only cores --photos real \
        --out bench/out/images_cores_real.json
    flock /work/coord/heavy.lock .venv/bin/python bench/bench_images.py --only cores --photos generated \
        --generated-images /tmp/t18-cores-e2e/input/images/031 --out bench/out/images_cores_generated.json

Every case reports wall and process CPU seconds (all threads); each section records the 1-minute load average
(`os.getloadavg`) at its start and end: the machine is shared.

Figures for issue #4 (105,000 x 2048, one ~1,200-image folder; the 105k product is ~4.5e13 flops, minutes):

    .venv/bin/python bench/bench_images.py --only knn --knn-repeats 1 --out bench/out/images_knn.json
    .venv/bin/python bench/bench_images.py --only embedding --out bench/out/images_embedding.json
    TF_ENABLE_ONEDNN_OPTS=0 .venv/bin/python bench/bench_images.py --only embedding --repeats 1 \
        --out bench/out/images_embedding_onednn_off.json   # TensorFlow's own default on AMD CPUs, for comparison

(defaults: --n 105000 --added 1200 --knn-repeats 1 --images 150 --repeats 3 --batch-sizes 8,32).
Quick run at a small size: `--n 20000 --knn-repeats 3`.
"""

from __future__ import annotations

import argparse
import json
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

REAL_IMAGES_DEFAULT = REPO_ROOT.parent / "shared" / "real_sample" / "images"


def log(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """(wall seconds, process CPU seconds over all threads, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def median_of(runs: list[tuple[float, float]]) -> dict[str, object]:
    return {
        "wall_s": statistics.median(w for w, _ in runs),
        "cpu_s": statistics.median(c for _, c in runs),
        "runs": [{"wall_s": round(w, 3), "cpu_s": round(c, 3)} for w, c in runs],
    }


def side_by_side(cases: dict[str, Callable[[], object]], repeats: int) -> dict[str, dict[str, object]]:
    """Median wall/CPU seconds per case, the cases interleaved within each repeat (same machine load for each)."""
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            wall, cpu, _ = timed(fn)
            runs[name].append((wall, cpu))
            log(f"{name}: {wall:.2f} s wall, {cpu:.2f} s CPU, load {load()}")
    return {name: median_of(r) for name, r in runs.items()}


def bench_embedding(n_images: int, repeats: int, batch_sizes: list[int], real_images: Path) -> dict[str, object]:
    from hm_pipeline.images.embed import embed_images, load_model

    scans = [scan_folder(p) for p in sorted(real_images.iterdir()) if p.is_dir()]
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
    start_load = load()
    for fn in cases.values():
        fn()  # warm-up: graph tracing, file cache
    med = side_by_side(cases, repeats)
    seed = med["seed loop"]
    print(f"\n[embedding] {len(paths)} real photos, ResNet50V2 224x224, {repeats} repeats, medians")
    for name, m in med.items():
        m["images_per_s"] = len(paths) / m["wall_s"]
        m["x_seed_loop_wall"] = seed["wall_s"] / m["wall_s"]
        m["x_seed_loop_cpu"] = seed["cpu_s"] / m["cpu_s"]
        print(
            f"  {name:<10} {m['wall_s']:8.2f} s wall {m['cpu_s']:8.2f} s CPU  {m['images_per_s']:7.2f} images/s"
            f"  {m['x_seed_loop_wall']:5.2f}x seed loop (wall)  {m['x_seed_loop_cpu']:5.2f}x (CPU)"
        )
    print("  goal: batched >= 2.5x seed loop")
    return {
        "images": len(paths),
        "repeats": repeats,
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        "load_start": start_load,
        "load_end": load(),
        "cases": med,
    }


def _generated_photos(count: int) -> tuple[list[str], list[str]]:
    """(ids, paths) of `count` photos drawn by the generator (tiny scale, seed 7, 64x96) in a temp folder."""
    from hm_pipeline.data.synthetic.generate import generate

    out = Path(tempfile.mkdtemp(prefix="bench-images-"))
    generate("tiny", out, seed=7, workers=1)
    scans = [scan_folder(p) for p in sorted((out / "images").iterdir())]
    return [a for s in scans for a in s.article_ids][:count], [p for s in scans for p in s.paths][:count]


def bench_precision(n_images: int, repeats: int, seeds: list[int], real_images: Path) -> dict[str, object]:
    from hm_pipeline.images import faithfulness
    from hm_pipeline.images.embed import PRECISIONS, embed_images, load_model

    scans = [scan_folder(p) for p in sorted(real_images.iterdir()) if p.is_dir()]
    photo_sets = {"real": ([a for s in scans for a in s.article_ids][:n_images],
                           [p for s in scans for p in s.paths][:n_images]),
                  "generated": _generated_photos(n_images)}
    cache = tempfile.mkdtemp(prefix="bench-keras-home-")  # a cold int8 cache: the conversion is timed
    start_load = load()
    convert: dict[str, float] = {}
    models = {}
    for precision in PRECISIONS:
        wall, _, models[precision] = timed(lambda: load_model("random", 224, seeds[0], cache, precision, "cpu"))
        convert[precision] = wall
        log(f"load {precision}: {wall:.1f} s")
    ids, paths = photo_sets["real"]

    def run(precision: str) -> Callable[[], None]:
        return lambda: embed_images(ids, paths, models[precision], batch_size=32)

    cases = {p: run(p) for p in PRECISIONS}
    for fn in cases.values():
        fn()  # warm-up
    med = side_by_side(cases, repeats)
    print(f"\n[precision] {len(paths)} real photos, ResNet50V2 224x224, batch 32, {repeats} interleaved repeats")
    for name, m in med.items():
        m["images_per_s"] = len(paths) / m["wall_s"]
        m["x_fp32_wall"] = med["fp32"]["wall_s"] / m["wall_s"]
        m["x_fp32_cpu"] = med["fp32"]["cpu_s"] / m["cpu_s"]
        print(f"  {name:<5} {m['wall_s']:7.2f} s wall {m['cpu_s']:7.2f} s CPU {m['images_per_s']:7.2f} photos/s "
              f" {m['x_fp32_wall']:5.2f}x fp32 (wall) {m['x_fp32_cpu']:5.2f}x (CPU)   model load {convert[name]:.1f} s")
    end_load = load()
    print(f"  load average {start_load} -> {end_load}; goal: >= 40 photos/s on a quiet machine (>= 2x fp32)")
    faith: dict[str, object] = {}
    for seed in seeds:
        for set_name, (ids_, paths_) in photo_sets.items():
            emb = {p: embed_images(ids_, paths_, load_model("random", 224, seed, cache, p, "cpu")).embeddings
                   for p in PRECISIONS}
            for p in ("bf16", "int8"):
                f = faithfulness.compare(emb["fp32"], emb[p]).as_dict()
                faith[f"{p} seed {seed} {set_name}"] = f
                print(f"  faithfulness {p} seed {seed} {set_name:<9} photos {f['photos']}: cosine min "
                      f"{f['cosine_min']:.4f} median {f['cosine_median']:.5f}; top-10 overlap mean "
                      f"{f['overlap_mean']:.3f} min {f['overlap_min']:.1f}, identical lists {f['products_with_full_overlap']:.2f}")
    return {"images": len(paths), "repeats": repeats, "load_start": start_load, "load_end": end_load,
            "model_load_s": convert, "cases": med, "faithfulness": faith}


def before_issue18_embeddings(paths: list[str], model: object, batch_size: int = 32) -> np.ndarray:
    """The embedding loop as it was before issue #18's cores fix: tf.data with AUTOTUNE parallelism and prefetch
    (autotuning on), one `predict_on_batch` at a time (the same decode, resize and model as `embed_images`)."""
    import tensorflow as tf

    from hm_pipeline.images.embed import preprocess

    def decode(index: object, path: object) -> tuple[object, object]:
        image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3, dct_method="INTEGER_ACCURATE")
        return index, preprocess(image, model.image_size)  # type: ignore[attr-defined]

    ds = tf.data.Dataset.from_tensor_slices((np.arange(len(paths), dtype=np.int64), np.asarray(paths, dtype=str)))
    ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).ignore_errors(log_warning=False)
    chunks = [np.asarray(model.model.predict_on_batch(images), dtype=np.float32)  # type: ignore[attr-defined]
              for _, images in ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)]
    return np.concatenate(chunks)


def bench_cores(photos: str, n_images: int, repeats: int, real_images: Path,
                generated: Path | None) -> dict[str, object]:
    from hm_pipeline.images.embed import embed_images, load_model

    folder = real_images if photos == "real" else generated
    if folder is None or not folder.is_dir():
        raise SystemExit(f"--only cores --photos {photos}: {folder} is not a folder of photos (see --generated-images)")
    scans = [scan_folder(p) for p in sorted(p for p in folder.iterdir() if p.is_dir())] or [scan_folder(folder)]
    ids = [a for s in scans for a in s.article_ids][:n_images]
    paths = [p for s in scans for p in s.paths][:n_images]
    model = load_model("random", 224, 0)
    outputs: dict[str, np.ndarray] = {}

    def case(name: str, fn: Callable[[list[str]], np.ndarray]) -> Callable[[], None]:
        def run() -> None:
            outputs[name] = fn(paths)
        return run

    cases = {
        "before (AUTOTUNE, one call at a time)": case("before", lambda p: before_issue18_embeddings(p, model)),
        "after (embed_images)": case("after", lambda p: embed_images(p, p, model, batch_size=32).embeddings),
    }
    before_issue18_embeddings(paths[:64], model)  # warm-up on two batches: tracing, file cache of the first files
    embed_images(paths[:64], paths[:64], model)
    start_load = load()
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    identical = []
    for _ in range(repeats):
        for name, fn in cases.items():
            wall, cpu, _ = timed(fn)
            runs[name].append((wall, cpu))
            log(f"{name}: {wall:.2f} s wall, {cpu:.2f} s CPU, {cpu / wall:.2f} cores, load {load()}")
        identical.append(bool(np.array_equal(outputs["before"], outputs["after"])))
    med = {name: median_of(r) for name, r in runs.items()}
    before = med["before (AUTOTUNE, one call at a time)"]
    print(f"\n[cores] {len(paths)} {photos} photos ({folder}), ResNet50V2 fp32 224x224, batch 32, {repeats} "
          "interleaved repeats, medians")
    for name, m in med.items():
        m["images_per_s"] = len(paths) / m["wall_s"]
        m["cpu_s_per_image"] = m["cpu_s"] / len(paths)
        m["cores_used"] = m["cpu_s"] / m["wall_s"]
        m["x_before_wall"] = before["wall_s"] / m["wall_s"]
        print(f"  {name:<38} {m['wall_s']:7.2f} s wall {m['cpu_s']:7.2f} s CPU {m['images_per_s']:6.2f} photos/s "
              f"{m['cpu_s_per_image']:.4f} CPU-s/photo {m['cores_used']:.2f} cores  {m['x_before_wall']:.2f}x before")
    print(f"  embeddings bit-identical in every repeat: {all(identical)}; load average {start_load} -> {load()}")
    return {"photos": photos, "folder": str(folder), "images": len(paths), "repeats": repeats,
            "load_start": start_load, "load_end": load(), "bit_identical": identical, "cases": med}


def bench_knn(n: int, added: int, repeats: int, naive: bool, bare: bool = True, row_blocks: bool = True,
              with_update: bool = True) -> dict[str, object]:
    start_load = load()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 2048), dtype=np.float32)
    xn = knn.normalize_rows(x)
    ids = np.array([f"{i:010d}" for i in range(n)], dtype=object)
    old_n = n - added

    def bare_matmul() -> None:  # the products topk_full computes, into one reused buffer as topk_full does
        out = np.empty((min(knn.DEFAULT_BLOCK, n), n), dtype=np.float32)
        with knn.blas_threads():
            for start in range(0, n, knn.DEFAULT_BLOCK):
                q = xn[start : start + knn.DEFAULT_BLOCK]
                np.matmul(q, xn.T, out=out[: len(q)])

    runs: dict[str, list[tuple[float, float]]] = {"bare matmul": [], "row blocks": [], "topk_full": [],
                                                  "add folder": []}
    setup: dict[str, object] = {}
    for _ in range(repeats):
        if bare:
            wall, cpu, _ = timed(bare_matmul)
            runs["bare matmul"].append((wall, cpu))
            log(f"bare matmul: {wall:.2f} s wall, {cpu:.2f} s CPU, load {load()}")
        if row_blocks:
            wall, cpu, rows_result = timed(lambda: knn.topk_full(x, symmetric=False))  # before #18
            runs["row blocks"].append((wall, cpu))
            log(f"topk_full row blocks (before #18): {wall:.2f} s wall, {cpu:.2f} s CPU, load {load()}")
        wall, cpu, full = timed(lambda: knn.topk_full(x, symmetric=True))
        runs["topk_full"].append((wall, cpu))
        log(f"topk_full (symmetric): {wall:.2f} s wall, {cpu:.2f} s CPU, load {load()}")
        if row_blocks:
            for field in ("src", "dst", "score", "rank"):
                assert np.array_equal(getattr(rows_result, field), getattr(full, field)), f"symmetric != rows: {field}"
        if not with_update:
            continue
        if not setup:  # the lists before the folder landed, from the full result (untimed in the comparison)
            wall, cpu, (old, stats) = timed(
                lambda: knn.topk_update(
                    x[:old_n], ids[:old_n], ids[full.src], ids[full.dst], full.score, [], [], ids[old_n:].tolist()
                )
            )
            assert stats.mode == "incremental"
            setup = {"wall_s": wall, "cpu_s": cpu, "lists_recomputed": stats.lists_recomputed}
            log(f"state before the folder ({stats.lists_recomputed} lists recomputed): {wall:.2f} s wall")
        wall, cpu, (got, stats) = timed(
            lambda: knn.topk_update(
                x, ids, ids[old.src], ids[old.dst], old.score, ids[old_n:].tolist(), [], [], knn.DEFAULT_K
            )
        )
        assert stats.mode == "incremental"
        for field in ("src", "dst", "score", "rank"):
            assert np.array_equal(getattr(got, field), getattr(full, field)), f"incremental != full rebuild: {field}"
        runs["add folder"].append((wall, cpu))
        log(f"add folder ({stats.lists_recomputed} lists recomputed): {wall:.2f} s wall, {cpu:.2f} s CPU")
    med = {name: median_of(r) for name, r in runs.items() if r}
    print(f"\n[knn] {n} x 2048 float32 (random Gaussian rows), k=10, block {knn.DEFAULT_BLOCK}, {repeats} repeats,"
          " medians")
    for name, m in med.items():
        print(f"  {name:<12} {m['wall_s']:8.2f} s wall {m['cpu_s']:8.2f} s CPU")
    report: dict[str, object] = {"n": n, "dim": 2048, "k": knn.DEFAULT_K, "block": knn.DEFAULT_BLOCK, "added": added,
                                 "repeats": repeats, "load_start": start_load, "cases": med,
                                 "setup_state_before_folder": setup, "incremental_equals_full": True}
    if bare:
        report["topk_full_over_bare_wall"] = med["topk_full"]["wall_s"] / med["bare matmul"]["wall_s"]
        report["topk_full_over_bare_cpu"] = med["topk_full"]["cpu_s"] / med["bare matmul"]["cpu_s"]
        print(f"  topk_full / bare matmul: {report['topk_full_over_bare_wall']:.3f}x wall, "
              f"{report['topk_full_over_bare_cpu']:.3f}x CPU  (goal <= 1.3x)")
    if row_blocks:
        report["symmetric_over_row_blocks_wall"] = med["topk_full"]["wall_s"] / med["row blocks"]["wall_s"]
        report["symmetric_over_row_blocks_cpu"] = med["topk_full"]["cpu_s"] / med["row blocks"]["cpu_s"]
        print(f"  topk_full symmetric / row blocks (before #18): {report['symmetric_over_row_blocks_wall']:.3f}x wall,"
              f" {report['symmetric_over_row_blocks_cpu']:.3f}x CPU  (goal <= 0.6x; results equal bit for bit)")
    if with_update:
        report["add_over_full_wall"] = med["add folder"]["wall_s"] / med["topk_full"]["wall_s"]
        report["add_over_full_cpu"] = med["add folder"]["cpu_s"] / med["topk_full"]["cpu_s"]
        print(f"  add {added} to {old_n} / full rebuild: {100 * report['add_over_full_wall']:.2f}% wall, "
              f"{100 * report['add_over_full_cpu']:.2f}% CPU  (goal <= 5%)")
        print("  incremental result == full rebuild: yes (checked every repeat)")
    if naive:

        def full_matmul_argsort() -> None:
            with knn.blas_threads():
                s = xn @ xn.T
            np.fill_diagonal(s, -np.inf)
            np.argsort(-s, axis=1)[:, :10]

        wall, cpu, _ = timed(full_matmul_argsort)
        report["naive_full_matmul_argsort"] = {"wall_s": wall, "cpu_s": cpu}
        times = wall / med["topk_full"]["wall_s"]
        print(f"  naive full matmul + argsort (1 run): {wall:.2f} s = {times:.2f}x topk_full")
    report["load_end"] = load()
    return report


def bench_sensor_scan(n_files: int, repeats: int) -> dict[str, object]:
    per_folder = 1200
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i in range(n_files):
            folder = root / f"{10 + i // per_folder:03d}"
            if i % per_folder == 0:
                folder.mkdir()
            (folder / f"{folder.name}{i:07d}.jpg").touch()
        start_load = load()
        fingerprint_tree(root)  # warm the directory cache, as a sensor ticking every minute would
        med = median_of([timed(lambda: fingerprint_tree(root))[:2] for _ in range(repeats)])
        folders = len(os.listdir(root))
    print(f"\n[sensor scan] {n_files} files in {folders} folders, {repeats} repeats")
    print(f"  fingerprint_tree median {med['wall_s']:.3f} s wall, {med['cpu_s']:.3f} s CPU")
    return {"files": n_files, "folders": folders, "repeats": repeats, "load_start": start_load, "load_end": load(),
            **med}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=150, help="real photos to embed (the sample has 150)")
    parser.add_argument("--real-images", type=Path, default=REAL_IMAGES_DEFAULT, help="folder of real photo folders (default:"
                        " ../shared/real_sample/images beside the repository)")
    parser.add_argument("--n", default="105000", help="rows of the kNN matrix (x 2048 float32); comma-separated "
                        "for several sizes")
    parser.add_argument("--added", type=int, default=1200, help="rows of the added folder")
    parser.add_argument("--files", type=int, default=100_000, help="empty files for the sensor scan")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the embedding and sensor cases")
    parser.add_argument("--knn-repeats", type=int, default=1, help="repeats of the kNN cases (minutes each at 105k)")
    parser.add_argument("--batch-sizes", default="8,32", help="comma-separated batch sizes for the batched pipeline")
    parser.add_argument("--naive", action="store_true", help="also time the full matmul + argsort once (small --n only:"
                        " the n x n float32 matrix must fit in memory)")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare matmul")
    parser.add_argument("--no-row-blocks", action="store_true", help="skip the row-block topk_full (before #18)")
    parser.add_argument("--no-update", action="store_true", help="skip the add-one-folder case")
    parser.add_argument("--seeds", default="0,1", help="random-weight seeds for the precision faithfulness figures")
    parser.add_argument("--photos", choices=["real", "generated"], default="real", help="photo set of --only cores")
    parser.add_argument("--generated-images", type=Path, help="a folder of generated photos for --only cores "
                        "--photos generated (e.g. ROOT/input/images/031 after bench_pipeline.py --steps photos)")
    parser.add_argument("--only", choices=["embedding", "knn", "sensor", "precision", "cores"], action="append")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here (e.g. bench/out/images.json)")
    args = parser.parse_args()
    only = set(args.only or ["embedding", "knn", "sensor"])
    report: dict[str, object] = {"args": {k: str(v) for k, v in vars(args).items()}, "cores": os.cpu_count(),
                                 "load_start": load(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(f"cores: {os.cpu_count()}, load average: {report['load_start']}")
    if "sensor" in only:
        report["sensor"] = bench_sensor_scan(args.files, args.repeats)
    if "knn" in only:
        for n in [int(v) for v in str(args.n).split(",")]:
            report[f"knn_{n}"] = bench_knn(n, args.added, args.knn_repeats, args.naive, bare=not args.no_bare,
                                           row_blocks=not args.no_row_blocks, with_update=not args.no_update)
    if "embedding" in only:
        if args.real_images.is_dir():
            batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
            report["embedding"] = bench_embedding(args.images, args.repeats, batch_sizes, args.real_images)
        else:
            print(f"\n[embedding] skipped: {args.real_images} not found")
    if "precision" in only:
        seeds = [int(x) for x in args.seeds.split(",")]
        report["precision"] = bench_precision(args.images, args.repeats, seeds, args.real_images)
    if "cores" in only:
        limit = args.images if args.photos == "real" else 10**9  # --images caps the real set (150 photos)
        report["cores"] = bench_cores(args.photos, limit, args.repeats, args.real_images, args.generated_images)
    report["load_end"] = load()
    print(f"\nload average at the end: {report['load_end']}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
