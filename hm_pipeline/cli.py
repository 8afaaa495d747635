"""`hm-pipeline` console command: generate synthetic Kaggle data, run the whole pipeline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hm_pipeline.images.embed import WEIGHTS_MODES
from hm_pipeline.layout import DataLayout


def _image_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 64x96, got {text!r}") from None
    return width, height


def cmd_generate(args: argparse.Namespace) -> int:
    from hm_pipeline.data.synthetic.generate import generate

    try:
        report = generate(args.scale, Path(args.out), seed=args.seed, image_size=args.image_size,
                          images=not args.no_images, workers=args.workers)
    except FileExistsError as error:
        raise SystemExit(f"hm-pipeline generate: {error}") from None
    print(report.to_text())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """The main job: ingest, every image folder embedded (one partition each), then every other asset."""
    from hm_pipeline.run_all import cmd_run as run

    return run(args)


def _print_items(title: str, rows: list[dict], first: str, last: str | None) -> None:
    print(title)
    if not rows:
        print("  (none)")
    for row in rows:
        tail = f"  [{row[last]}]" if last else ""
        print(f"  {row[first]!s:>10}  {row['article_id']}  {row['prod_name']} | {row['product_type_name']} | "
              f"{row['colour_group_name']}{tail}")


def cmd_recommend(args: argparse.Namespace) -> int:
    """The customer's 12 fused recommendations (from fused.parquet) next to their own recent purchases."""
    from hm_pipeline.recommend.stored import explain_from_files

    layout = DataLayout.from_env(args.data_root)
    try:
        explanation = explain_from_files(layout, args.customer_id, recent=args.recent)
    except (KeyError, FileNotFoundError) as error:
        print(f"hm-pipeline recommend: {error.args[0] if error.args else error}", file=sys.stderr)
        return 1
    print(f"customer {explanation.customer_id} (path: {explanation.path})")
    _print_items("recommended (rank, article, name | type | colour [source]):", explanation.recommended,
                 "rank", "source")
    _print_items("recent purchases (last bought, article, name | type | colour [times bought]), newest first:",
                 explanation.recent_purchases, "last_bought", "times_bought")
    if explanation.path == "ranked":
        from hm_pipeline.recommend.ranker_files import explain_ranked

        print("why (rank: sources that proposed it; the 3 features that pushed it up most, value -> contribution):")
        for row, reason in zip(explanation.recommended, explain_ranked(layout, args.customer_id)):
            features = ", ".join(f"{name}={value:.3g} (+{gain:.3f})" for name, value, gain in reason["features"])
            print(f"  {row['rank']:>2}: {'+'.join(reason['sources']) or 'popularity top-up'}; {features or '-'}")
    return 0


def cmd_neo4j(args: argparse.Namespace) -> int:
    """A local Neo4j server (with GDS) for the data root: install, start, stop, status."""
    from hm_pipeline.graph import neo4j_server

    layout = DataLayout.from_env(args.data_root)
    try:
        if args.action == "install":
            print(f"Neo4j and GDS jars in {neo4j_server.install()}")
        elif args.action == "start":
            neo4j_server.install()
            print(f"starting Neo4j for {layout.root} (heap {args.heap}; up to a minute)...", flush=True)
            state = neo4j_server.start(layout, heap=args.heap, pagecache=args.pagecache)
            print(f"Neo4j running: pid {state.pid}, {state.uri}; password in {neo4j_server.state_file(layout)}")
            print(f"run the pipeline on it: HM_GRAPH_BACKEND=neo4j hm-pipeline run --data-root {layout.root}")
        elif args.action == "import":
            _neo4j_import(layout, args.heap, args.pagecache)
        elif args.action == "stop":
            stopped = neo4j_server.stop(layout, force=args.force)
            print("stopped" if stopped else f"no Neo4j server running for {layout.root}")
        else:
            print(neo4j_server.status_text(layout))
    except neo4j_server.Neo4jServerError as error:
        print(f"hm-pipeline neo4j {args.action}: {error}", file=sys.stderr)
        return 1
    return 0


def _neo4j_import(layout: DataLayout, heap: str, pagecache: str) -> None:
    """The first load at full scale: the product graph and age groups of the ingest tables, offline."""
    import time

    from hm_pipeline.graph import neo4j_server
    from hm_pipeline.graph.admin_import import import_graph, import_tables

    started = time.perf_counter()
    graph = import_tables(layout)
    print(f"graph tables of {layout.root / 'ingest'}: {sum(graph.node_counts().values()):,} nodes, "
          f"{sum(t.num_rows for t in graph.rels.values()):,} relationships ({time.perf_counter() - started:.1f} s)",
          flush=True)
    seconds = import_graph(layout, graph, heap=heap, pagecache=pagecache, progress=lambda line: print(line, flush=True))
    state = neo4j_server.connection(layout)
    print(f"imported in {time.perf_counter() - started:.1f} s (" + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items())
          + f"); Neo4j running: pid {state.pid}, {state.uri}")


def _add_neo4j_parser(sub: argparse._SubParsersAction) -> None:
    from hm_pipeline.graph.neo4j_server import DEFAULT_PAGECACHE  # no heavy imports in that module

    neo = sub.add_parser("neo4j", help="a local Neo4j server with Graph Data Science for the data root")
    neo.add_argument("action", choices=["install", "start", "import", "stop", "status"],
                     help="import: first load of the ingest tables' graph with neo4j-admin (server stopped; "
                          "replaces its database, then starts it)")
    neo.add_argument("--data-root", default=None, help="data root (default $HM_DATA_DIR or data/)")
    neo.add_argument("--heap", default="1g", help="JVM heap of the server, e.g. 1g or 2g")
    neo.add_argument("--pagecache", default=DEFAULT_PAGECACHE,
                     help="page cache of the server (the store's hot part; at full scale the graph is ~3 GB)")
    neo.add_argument("--force", action="store_true",
                     help="stop: kill the server (SIGKILL) when it has not stopped 60 s after SIGTERM")
    neo.set_defaults(func=cmd_neo4j)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hm-pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write synthetic data in the exact Kaggle layout")
    gen.add_argument("--scale", choices=["tiny", "small", "full"], default="tiny")
    gen.add_argument("--out", required=True, help="folder to write articles.csv, ..., images/ into")
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--image-size", type=_image_size, default=(64, 96), metavar="WxH")
    gen.add_argument("--no-images", action="store_true", help="skip the product photos")
    gen.add_argument("--workers", type=int, default=2, help="processes drawing images")
    gen.set_defaults(func=cmd_generate)

    run = sub.add_parser("run", help="materialize every asset (generates tiny data first if input/ is empty)")
    run.add_argument("--data-root", default=None, help="data root (default $HM_DATA_DIR or data/)")
    run.add_argument("--scale", choices=["tiny", "small", "full"], default="tiny",
                     help="scale of the synthetic data generated when input/ is empty")
    run.add_argument("--seed", type=int, default=42)
    run.add_argument("--weights", default=None, choices=WEIGHTS_MODES,
                     help="ResNet50V2 weights (default imagenet-or-random: seeded random weights, with one loud "
                          "warning, when the ImageNet file cannot be had offline)")
    run.add_argument("--image-size", type=int, default=None, help="square model input size (default 224)")
    run.add_argument("--config", default=None, metavar="FILE.yaml",
                     help="Dagster run config, e.g. ops: {interaction_matrix: {config: {user_min: 2}}}")
    run.add_argument("--ephemeral", action="store_true",
                     help="do not record the runs in the Dagster instance at $DAGSTER_HOME (default: the repo root)")
    run.add_argument("--no-wait", action="store_true",
                     help="fail at once when another run holds the data root, instead of waiting for it")
    run.set_defaults(func=cmd_run)

    rec = sub.add_parser("recommend", help="show one customer's 12 recommendations and recent purchases")
    rec.add_argument("customer_id", help="the 64-character customer_id")
    rec.add_argument("--data-root", default=None, help="data root (default $HM_DATA_DIR or data/)")
    rec.add_argument("--recent", type=int, default=12, help="how many recent purchases to show")
    rec.set_defaults(func=cmd_recommend)
    _add_neo4j_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
