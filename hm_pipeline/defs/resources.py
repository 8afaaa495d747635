"""Resources shared by every domain."""

from __future__ import annotations

import dagster as dg

from hm_pipeline.layout import DataLayout


class DataRootResource(dg.ConfigurableResource):
    """The data root: Kaggle inputs under `input/`, every output beside them (see `DataLayout`).

    Defaults to `$HM_DATA_DIR`, else `data/` relative to the working directory.
    """

    data_root: str = ""

    def layout(self) -> DataLayout:
        return DataLayout.from_env(self.data_root or None)

