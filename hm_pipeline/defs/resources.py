"""Resources shared by every domain."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from hm_pipeline import data_root_lock
from hm_pipeline.layout import DataLayout


class DataRootResource(dg.ConfigurableResource):
    """The data root: Kaggle inputs under `input/`, every output beside them (see `DataLayout`).

    Defaults to `$HM_DATA_DIR`, else `data/` relative to the working directory. A run step that uses it holds the
    data root's write lock (`data_root_lock`) while it executes, so Dagster runs and `hm-pipeline run` never write
    one root at the same time; sensors (no run) only read and take no lock.
    """

    data_root: str = ""

    def layout(self) -> DataLayout:
        return DataLayout.from_env(self.data_root or None)

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["DataRootResource"]:
        run = context.run
        if run is None:
            yield self
            return
        log = context.log.warning if context.log else None
        with data_root_lock.hold(self.layout(), f"dagster run {run.run_id} ({run.job_name})", on_wait=log):
            yield self
