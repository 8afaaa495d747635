"""The one `Definitions` of hm-pipeline: every module of `hm_pipeline/defs/` loaded by Dagster (its defs folder),
with code references and the active graph backend shown in the UI."""

from pathlib import Path

import dagster as dg

from hm_pipeline.defs.metadata import for_the_ui

defs = for_the_ui(dg.load_from_defs_folder(path_within_project=Path(__file__).parent))
