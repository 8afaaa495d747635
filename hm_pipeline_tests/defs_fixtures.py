"""Stage modules as Dagster loads them from the defs folder, for tests that materialize a few stages."""

import warnings
from types import ModuleType

import dagster as dg


def module_defs(*modules: ModuleType) -> dg.Definitions:
    """The assets, checks, jobs and sensors of `modules`, found the way `load_from_defs_folder` finds them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)  # load_definitions_from_module: what the folder uses
        return dg.Definitions.merge(*(dg.load_definitions_from_module(m) for m in modules))
