"""`hm-pipeline` console command: generate synthetic Kaggle data, run the whole pipeline."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from hm_pipeline.layout import DataLayout


def _image_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 64x96, got {text!r}") from None
    return width, height


def cmd_generate(args: argparse.Namespace) -> int:
    from hm_pipeline.data.synthetic.generate import generate

    report = generate(args.scale, Path(args.out), seed=args.seed, image_size=args.image_size,
                      images=not args.no_images, workers=args.workers)
    print(report.to_text())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    layout = DataLayout.from_env(args.data_root)
    os.environ["HM_DATA_DIR"] = str(layout.root)  # the data_root resource reads it
    if not layout.has_inputs():
        from hm_pipeline.data.synthetic.generate import generate

        print(f"No Kaggle files in {layout.input_dir}: generating synthetic data (scale {args.scale}).")
        print(generate(args.scale, layout.input_dir, seed=args.seed).to_text())

    import dagster as dg

    from hm_pipeline.definitions import defs

    instance = dg.DagsterInstance.get() if args.persist else dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def(args.job).execute_in_process(instance=instance)
    print(f"{args.job}: {'succeeded' if result.success else 'FAILED'} (run {result.run_id})")
    return 0 if result.success else 1


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
    run.add_argument("--job", default="full_refresh")
    run.add_argument("--persist", action="store_true",
                     help="record the run in the Dagster instance at $DAGSTER_HOME (visible in `dagster dev`)")
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
