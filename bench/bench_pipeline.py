"""The whole pipeline end to end on the embedded default (kuzu), one asset per fresh process, timed.

    .venv/bin/python bench/bench_pipeline.py --root /tmp/hm_e2e                  # full scale (H&M size)
    .venv/bin/python bench/bench_pipeline.py --root /tmp/hm_e2e --scale tiny     # a quick look
    .venv/bin/python bench/bench_pipeline.py --root /tmp/hm_e2e --input-from /work/hm_full2 --image-folders 8

Steps, each in its own Python process as a Dagster run would be (so every step pays its imports, and each peak RSS
is that step's own). First the data: generate the synthetic Kaggle files with their photos (skipped with
--reuse-input when input/ is already there), or, with --input-from DIR, link DIR/input's CSVs (generated earlier
by the synthetic generator, `--scale`/`--seed` as given) and render only the photos of the benchmarked folders
(`photos`, at --photo-size; not part of the pipeline's totals). Then every asset of the main path with the
assets' own defaults unless an option overrides them — ingest, graph, age groups, graph EDA, image embeddings
(224 px, the default precision) for a SUBSET of the image folders (--image-folders, spread over the range;
ResNet50V2 with seeded random weights: ImageNet weights cannot be downloaded here and the arithmetic is the same),
top-10 SIMILAR, SIMILAR in the graph, the interaction matrices, ALS (100 factors x 15 iterations, both fits:
before the held-out week and on all data), the ranker's label weeks and its two LightGBM rankers, the stored
candidates of every customer, the ranked recommendations of every customer, the submission CSV with its blocking
check, and the evaluation (--no-evaluation leaves it out). Assets run through the project's own Definitions on a
Dagster instance under ROOT/.dagster_bench, so the run records and metadata can be read afterwards.

Prints, and writes as JSON to --out: per step wall seconds, CPU seconds (user + system of the process and its
children), peak RSS, rows in and out (from each asset's `dagster/row_count` metadata), the 1-minute load average
at its start and end; the totals with and without the photos (the data preparation, `generate` or
`photos`, is shown but not counted); photos/s of the embedding step and, labelled as a
projection, the time for the whole catalogue's photos at that rate; the machine (cores, RAM) and the commit.
`--steps a,b` runs only those steps on an existing root (a run split over several lock periods): every step's row
is also appended to ROOT/bench_steps.jsonl, and the table shows the latest row of every step found there.

`--ratios` then runs the side-by-side benchmarks of the earlier issues, each in its own process, and prints their
ratios: the seed's per-customer Cypher loop vs the batched fusion on one embedded graph (`bench_fusion.py --graph
small`), batched vs one-`predict`-per-image embedding (`bench_images.py --only embedding`, 150 real photos, batch
32), exact top-10 vs the bare float32 product and one added folder vs a full rebuild (`bench_images.py --only knn`
at --knn-n rows x 2048: ~40 min at 105,000 on 2 cores), and our ALS wrapper vs bare `implicit`
(`bench_training.py`, 200k x 30k, 4M purchases). `--ratios-only` skips the pipeline.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))


@dataclass(frozen=True)
class Step:
    name: str
    assets: tuple[str, ...] = ()
    rows_in_from: str | None = None  # the asset whose row count is this step's input
    config: dict = field(default_factory=dict)  # ops config by asset name


CATALOGUE_PHOTOS = 105_100  # photos of the H&M catalogue (articles with a photo; the synthetic `full` has as many)


def _overrides(**values: object) -> dict:
    """Asset config with only the options given on the command line (the rest keeps the asset's default)."""
    return {key: value for key, value in values.items() if value is not None}


def pipeline_steps(args: argparse.Namespace) -> list[Step]:
    image_config = {"weights": "random", **_overrides(image_size=args.image_size, precision=args.precision)}
    als_config = _overrides(factors=args.als_factors, iterations=args.als_iterations)
    steps = [
        Step("articles", ("articles",)),
        Step("customers", ("customers",)),
        Step("transactions", ("transactions",), "articles"),
        Step("product_graph", ("product_graph",), "transactions"),
        Step("age_groups", ("age_groups",), "customers"),
        Step("graph_eda", ("graph_eda",), "product_graph"),
        Step("image_embeddings", ("image_embeddings",), None, {"image_embeddings": image_config}),
        Step("similar_products", ("similar_products",), "image_embeddings"),
        Step("similar_graph", ("similar_graph",), "similar_products"),
        Step("interaction_matrix", ("interaction_matrix",), "transactions"),
        Step("als_model", ("als_model",), "interaction_matrix", {"als_model": als_config}),
        Step("ranker_train_set", ("ranker_train_set",), "interaction_matrix"),
        Step("ranker_model", ("ranker_model",), "ranker_train_set"),
        Step("ranker_candidates", ("ranker_candidates",), "customers"),
        Step("recommendations", ("recommendations",), "ranker_candidates"),
        Step("submission_csv", ("submission_csv",), "recommendations"),
    ]
    if args.evaluation:
        steps.append(Step("holdout_evaluation", ("holdout_evaluation",), "interaction_matrix"))
    return steps


# ---------------------------------------------------------------------------------------------- child process


def _child_env(root: Path) -> dict[str, str]:
    home = root / ".dagster_bench"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return {**os.environ, "HM_DATA_DIR": str(root), "DAGSTER_HOME": str(home), "OPENBLAS_NUM_THREADS": "1"}


def run_step_in_this_process(step: Step, folders: list[str]) -> None:
    import dagster as dg

    from hm_pipeline.definitions import defs
    from hm_pipeline.defs.images import image_folders

    instance = dg.DagsterInstance.get()
    run_config = {"ops": {name: {"config": cfg} for name, cfg in step.config.items()}}
    if step.name == "image_embeddings":
        known = set(instance.get_dynamic_partitions(image_folders.name))
        instance.add_dynamic_partitions(image_folders.name, [f for f in folders if f not in known])
        job = defs.resolve_job_def("embed_images_job")
        for folder in folders:
            result = job.execute_in_process(instance=instance, partition_key=folder, run_config=run_config)
            if not result.success:
                raise SystemExit(f"image_embeddings[{folder}] failed")
        return
    job = defs.resolve_job_def("full_refresh")
    keys = [dg.AssetKey(name) for name in step.assets]
    result = job.execute_in_process(instance=instance, asset_selection=keys, run_config=run_config)
    if not result.success:
        raise SystemExit(f"{step.name} failed")


def generate_in_this_process(root: Path, scale: str, seed: int) -> None:
    from hm_pipeline.data.synthetic.generate import generate

    print(generate(scale, root / "input", seed=seed).to_text(), file=sys.stderr)


def link_input(root: Path, source: Path) -> None:
    """ROOT/input/<file> -> SOURCE/input/<file> for every Kaggle CSV (kept when already linked there)."""
    from hm_pipeline.data.synthetic.generate import OUTPUT_FILES

    (root / "input").mkdir(parents=True, exist_ok=True)
    for name in OUTPUT_FILES:
        target, link = (source / "input" / name).resolve(strict=True), root / "input" / name
        if link.is_symlink() and link.resolve() == target:
            continue
        if os.path.lexists(link):
            raise SystemExit(f"{link} exists and is not a link to {target}: use a new --root")
        link.symlink_to(target)


def spread(names: list[str], count: int) -> list[str]:
    """`count` of the sorted `names`, spread over the range (the first image folders hold few photos)."""
    return names[:: max(1, len(names) // max(count, 1))][:count]


def render_photos_in_this_process(root: Path, scale: str, seed: int, count: int, size: tuple[int, int]) -> None:
    """Render the photos of `count` image folders of the synthetic catalogue behind ROOT/input/articles.csv (the
    generator's own renderer and per-folder seeds, so they are the photos `generate` would have written); folders
    already there are kept."""
    import numpy as np
    import pyarrow.csv as pcsv

    from hm_pipeline.data.synthetic.catalog import article_id_strings, build_catalog
    from hm_pipeline.data.synthetic.generate import _scale
    from hm_pipeline.data.synthetic.images import folder_tasks, render_folder, start_pool
    from hm_pipeline.data.synthetic.taxonomy import build_taxonomy

    tax = build_taxonomy()
    cat = build_catalog(_scale(scale), tax, np.random.default_rng(seed))  # the generator's first draws
    ids = np.array(article_id_strings(cat.article_number).to_pylist(), dtype=object)
    articles = root / "input" / "articles.csv"
    options = pcsv.ConvertOptions(include_columns=["article_id"], column_types={"article_id": "string"})
    parse = pcsv.ParseOptions(newlines_in_values=True)
    if pcsv.read_csv(articles, parse_options=parse, convert_options=options).column(0).to_pylist() != ids.tolist():
        raise SystemExit(f"{articles} is not the synthetic catalogue of scale {scale!r}, seed {seed}")
    has = np.flatnonzero(cat.has_image)
    tasks = folder_tasks(root / "input" / "images", ids[has], tax.colour_rgb[cat.colour[has]],
                         tax.product_type_shape[cat.product_type[has]], tax.appearance_pattern[cat.appearance[has]],
                         size, seed)
    chosen = set(spread([t.folder.name for t in tasks], count))
    todo = [t for t in tasks if t.folder.name in chosen and not t.folder.exists()]
    (root / "input" / "images").mkdir(exist_ok=True)
    pool = start_pool(2)
    try:
        rendered = sum(pool.map(render_folder, todo, chunksize=1) if pool else map(render_folder, todo))
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    print(f"rendered {rendered:,} photos in {len(todo)} folders ({len(chosen)} chosen)", file=sys.stderr)


# ---------------------------------------------------------------------------------------------- parent


def run_child(argv: list[str], env: dict[str, str], log: Path) -> dict:
    """Run one step in a fresh process; wall, CPU (process + children) and peak RSS from wait4."""
    load_start, started = os.getloadavg()[0], time.strftime("%H:%M:%S")
    start = time.perf_counter()
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, __file__, *argv], env=env, stdout=out, stderr=out)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"step {argv} failed with exit code {proc.returncode}; log: {log}")
    return {"wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_rss_gb": round(usage.ru_maxrss / 1024**2, 2), "started": started,
            "load": f"{load_start:.1f}-{os.getloadavg()[0]:.1f}"}


def row_count(instance, asset: str) -> int | None:
    import dagster as dg

    event = instance.get_latest_materialization_event(dg.AssetKey(asset))
    if event is None or event.asset_materialization is None:
        return None
    value = event.asset_materialization.metadata.get("dagster/row_count")
    return None if value is None else int(value.value)


def embedded_photos(instance, folders: list[str]) -> tuple[int, float]:
    """(photos embedded, seconds of the embedding loops: decode + model, without process start and model build)
    over the latest materialization of each benchmarked folder."""
    import dagster as dg

    photos, seconds = 0, 0.0
    for folder in folders:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("image_embeddings"), asset_partitions=[folder]),
            limit=1).records
        if not records:
            continue
        metadata = records[0].asset_materialization.metadata
        rows, rate = int(metadata["dagster/row_count"].value), float(metadata["images_per_second"].value)
        photos, seconds = photos + rows, seconds + (rows / rate if rate > 0 else 0.0)
    return photos, seconds


def rows_of(instance, asset: str, folders: list[str]) -> int | None:
    """Row count of an asset; for the partitioned embeddings, summed over the benchmarked folders."""
    return embedded_photos(instance, folders)[0] if asset == "image_embeddings" else row_count(instance, asset)


def photo_projection(step: dict, photos: int, loop_seconds: float) -> dict:
    """photos/s of the embedding step (whole step, and the embedding loops alone) and, at the step's rate (model
    build and per-folder runs included, so on the safe side), the whole catalogue's wall and CPU time."""
    rate = photos / step["wall_s"]
    return {"photos": photos, "photos_per_s_step": round(rate, 2),
            "photos_per_s_loop": round(photos / loop_seconds, 2) if loop_seconds else None,
            "cpu_s_per_photo": round(step["cpu_s"] / photos, 4),
            "projected_catalogue_min": round(CATALOGUE_PHOTOS / rate / 60, 1),
            "projected_catalogue_cpu_min": round(CATALOGUE_PHOTOS * step["cpu_s"] / photos / 60, 1)}


def machine() -> dict:
    commit = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True).stdout.strip())
    ram_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "cores": os.cpu_count(), "ram_gb": round(ram_gb, 1),
            "commit": commit + ("+dirty" if dirty else ""), "python": sys.version.split()[0]}


def choose_folders(images_dir: Path, count: int) -> list[str]:
    from hm_pipeline.images.scan import list_folders

    return spread(list_folders(images_dir) if images_dir.is_dir() else [], count)


def format_table(rows: list[dict]) -> str:
    def fmt(value: object) -> str:
        return "" if value is None else f"{value:,}" if isinstance(value, int) else str(value)

    header = ["step", "wall s", "CPU s", "peak RSS GB", "rows in", "rows out", "started", "load avg"]
    keys = ["step", "wall_s", "cpu_s", "peak_rss_gb", "rows_in", "rows_out", "started", "load"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(row.get(k)) for k in keys) + " |" for row in rows]
    return "\n".join(lines)


RATIO_BENCHES = {
    "fusion vs seed loop": ("bench_fusion.py", ["--graph", "small"]),
    "embedding batched vs per image": ("bench_images.py", ["--only", "embedding", "--batch-sizes", "32"]),
    "kNN vs bare matmul": ("bench_images.py", ["--only", "knn", "--knn-repeats", "1"]),
    "ALS wrapper vs bare implicit": ("bench_training.py", ["--users", "200000", "--items", "30000", "--rows",
                                                           "4000000", "--runs", "3", "--blas-rows", "0"]),
}


def _ratio_rows(name: str, figures: dict) -> list[dict]:
    """The ratios of one side-by-side benchmark's JSON, as table rows (name, ratio, goal, detail)."""
    if name == "fusion vs seed loop":
        return [{"ratio": name, "value": f"{figures['ratio']:,.0f}x", "goal": ">= 1000x",
                 "detail": f"seed loop {figures['loop_ms_per_customer_median']:.2f} ms/customer (median of "
                           f"{figures['loop_customers']}) vs batched {figures['batched_us_per_customer']:.1f} us/"
                           f"customer over {figures['customers']:,} customers"}]
    if name == "embedding batched vs per image":
        cases = figures["embedding"]["cases"]
        seed, batched = cases["seed loop"], next(v for k, v in cases.items() if k != "seed loop")
        return [{"ratio": name, "value": f"{seed['wall_s'] / batched['wall_s']:.2f}x wall, "
                 f"{seed['cpu_s'] / batched['cpu_s']:.2f}x CPU", "goal": ">= 2.5x",
                 "detail": f"{figures['embedding']['images']} photos, medians of {figures['embedding']['repeats']}"}]
    if name == "kNN vs bare matmul":
        knn = figures["knn"]
        cases = knn["cases"]
        full, bare, update = cases["topk_full"], cases["bare matmul"], cases["add folder"]
        return [{"ratio": "exact top-10 / bare matmul", "value": f"{full['wall_s'] / bare['wall_s']:.2f}x wall, "
                 f"{full['cpu_s'] / bare['cpu_s']:.2f}x CPU", "goal": "<= 1.3x", "detail": f"n = {knn['n']:,} x 2048"},
                {"ratio": "add one folder / full rebuild", "value": f"{update['wall_s'] / full['wall_s']:.1%} wall",
                 "goal": "<= 5%", "detail": f"{knn['added']:,} rows added"}]
    als = figures["als"]
    return [{"ratio": name, "value": f"{als['ratio_wrapper_over_bare_pinned']:.3f}x", "goal": "<= 1.1x",
             "detail": f"{als['factors']} factors x {als['iterations']} iterations, medians of 3"}]


def run_ratios(args: argparse.Namespace, env: dict[str, str], log: Path) -> list[dict]:
    rows = []
    out_dir = Path(args.out).parent if args.out else REPO_ROOT / "bench" / "out"
    for name, (script, argv) in RATIO_BENCHES.items():
        out = out_dir / f"ratio_{script.removesuffix('.py')}_{len(rows)}.json"
        argv = [*argv, "--out", str(out)]
        if name == "kNN vs bare matmul":
            argv += ["--n", str(args.knn_n)]
        start = time.perf_counter()
        with open(log, "ab") as sink:
            subprocess.run([sys.executable, str(REPO_ROOT / "bench" / script), *argv], env=env, stdout=sink,
                           stderr=sink, check=True)
        new = _ratio_rows(name, json.loads(out.read_text()))
        print(f"{name}: {new} ({time.perf_counter() - start:.0f} s)", flush=True)
        rows += new
    return rows


DATA_STEPS = ("generate", "photos")  # data preparation: shown, not part of the pipeline's totals


def totals(rows: list[dict]) -> list[dict]:
    """The pipeline's total, and its total without the photos' step (the issue's two budgets)."""
    pipeline = [r for r in rows if r["step"] not in DATA_STEPS]
    out = []
    for name, part in (("total", pipeline), ("total without image_embeddings",
                                             [r for r in pipeline if r["step"] != "image_embeddings"])):
        if part:
            out.append({"step": name, "wall_s": round(sum(r["wall_s"] for r in part), 1),
                        "cpu_s": round(sum(r["cpu_s"] for r in part), 1),
                        "peak_rss_gb": max(r["peak_rss_gb"] for r in part)})
    return out


def merged_rows(ledger: Path, order: list[str]) -> list[dict]:
    """The latest row of every step in ROOT/bench_steps.jsonl (a run split over several invocations), in path order."""
    latest = {}
    for line in ledger.read_text().splitlines() if ledger.exists() else []:
        row = json.loads(line)
        latest[row["step"]] = row
    return [latest[name] for name in order if name in latest]


def main_parent(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve()
    env = _child_env(root)
    log = root / "bench_pipeline.log"
    ledger = root / "bench_steps.jsonl"
    root.mkdir(parents=True, exist_ok=True)
    report: dict = {"machine": machine(), "args": vars(args), "load_before": os.getloadavg(), "steps": []}
    shared = ["--root", str(root), "--image-folders", str(args.image_folders), "--scale", args.scale,
              "--seed", str(args.seed), *(["--no-evaluation"] if not args.evaluation else [])]
    for option in ("image_size", "precision", "als_factors", "als_iterations"):
        if getattr(args, option) is not None:
            shared += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
    if args.ratios_only:
        report["ratios"] = run_ratios(args, env, log)
        return _finish(report, args)
    names = ["generate", "photos", *(step.name for step in pipeline_steps(args))]
    chosen = args.steps.split(",") if args.steps else names
    if unknown := sorted(set(chosen) - set(names)):
        raise SystemExit(f"unknown steps {unknown}; the steps are {names}")

    def record(row: dict) -> None:
        row["run"] = report["machine"]["date"]
        report["steps"].append(row)
        with open(ledger, "a") as out:
            out.write(json.dumps(row) + "\n")
        print(f"{row['step']}: {row}", flush=True)

    if args.input_from:
        link_input(root, Path(args.input_from))
        if "photos" in chosen:
            size = "x".join(map(str, args.photo_size))
            record({"step": "photos", **run_child(["--render-photos", size, *shared], env, log)})
    elif "generate" in chosen and not (args.reuse_input and (root / "input" / "transactions_train.csv").is_file()):
        record({"step": "generate", **run_child(["--generate", args.scale, *shared], env, log)})

    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    import dagster as dg

    folders = choose_folders(root / "input" / "images", args.image_folders)
    report["image_folders"] = folders
    for step in pipeline_steps(args):
        if step.name not in chosen:
            continue
        row = {"step": step.name, **run_child(["--step", step.name, *shared], env, log)}
        with dg.DagsterInstance.get() as instance:
            row["rows_out"] = rows_of(instance, step.assets[0], folders)
            row["rows_in"] = rows_of(instance, step.rows_in_from, folders) if step.rows_in_from else None
            if step.name == "image_embeddings":
                row["photos"] = photo_projection(row, *embedded_photos(instance, folders))
        record(row)
    if args.steps:
        report["steps_this_run"] = report["steps"]
        report["steps"] = merged_rows(ledger, names)
    report["steps"] += totals(report["steps"])
    report["load_after_pipeline"] = os.getloadavg()
    if args.ratios:
        report["ratios"] = run_ratios(args, env, log)
    return _finish(report, args)


def _finish(report: dict, args: argparse.Namespace) -> int:
    report["load_after"] = os.getloadavg()
    if report.get("steps"):
        print(format_table(report["steps"]))
        for row in report["steps"]:
            if "photos" in row:
                print(f"photos ({len(report.get('image_folders', []))} folders): {row['photos']} "
                      f"(projected_*: {CATALOGUE_PHOTOS:,} photos at this step's rate, a PROJECTION, not measured)")
    if report.get("ratios"):
        print("| side by side | ratio | goal | detail |\n|---|---|---|---|")
        for row in report["ratios"]:
            print(f"| {row['ratio']} | {row['value']} | {row['goal']} | {row['detail']} |")
    print(f"machine: {report['machine']}; load average before {report['load_before']}, after {report['load_after']}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2, default=str))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True, help="data root for this benchmark (input/ is generated there)")
    parser.add_argument("--scale", choices=["tiny", "small", "full"], default="full")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reuse-input", action="store_true", help="skip generation when ROOT/input has the files")
    parser.add_argument("--input-from", help="link DIR/input's CSVs (generated with --scale/--seed) instead of "
                        "generating them, and render only the benchmarked folders' photos")
    parser.add_argument("--photo-size", type=lambda v: tuple(int(x) for x in v.split("x")), default=(360, 540),
                        help="WxH of the photos rendered with --input-from (default: the real sample's 360x540)")
    parser.add_argument("--image-folders", type=int, default=8, help="image folders (partitions) embedded")
    parser.add_argument("--image-size", type=int, help="square ResNet50V2 input size (default: the asset's, 224)")
    parser.add_argument("--precision", help="embedding precision (default: the asset's)")
    parser.add_argument("--als-factors", type=int, help="default: the asset's (100)")
    parser.add_argument("--als-iterations", type=int, help="default: the asset's (15)")
    parser.add_argument("--no-evaluation", dest="evaluation", action="store_false",
                        help="leave holdout_evaluation out")
    parser.add_argument("--steps", help="comma-separated steps to run on an existing root (see above)")
    parser.add_argument("--ratios", action="store_true", help="then run the side-by-side benchmarks (see above)")
    parser.add_argument("--ratios-only", action="store_true", help="only the side-by-side benchmarks")
    parser.add_argument("--knn-n", type=int, default=105_000, help="kNN rows in the ratios (x 2048 float32)")
    parser.add_argument("--out", default=str(REPO_ROOT / "bench" / "out" / "pipeline.json"))
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--generate", help=argparse.SUPPRESS)
    parser.add_argument("--render-photos", help=argparse.SUPPRESS)
    args = parser.parse_args()
    root = Path(args.root).resolve()
    if args.generate:
        generate_in_this_process(root, args.generate, args.seed)
        return 0
    if args.render_photos:
        width, height = (int(x) for x in args.render_photos.split("x"))
        render_photos_in_this_process(root, args.scale, args.seed, args.image_folders, (width, height))
        return 0
    if args.step:
        steps = {s.name: s for s in pipeline_steps(args)}
        run_step_in_this_process(steps[args.step], choose_folders(root / "input" / "images", args.image_folders))
        return 0
    return main_parent(args)


if __name__ == "__main__":
    sys.exit(main())
