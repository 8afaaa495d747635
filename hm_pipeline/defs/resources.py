"""What every stage reads besides its inputs: the data root, the graph store, and the deployment's settings.

The environment of the code location is read here and only here, when Dagster loads the definitions
(`resources()` below; the image weights default when `defs/images.py` is imported, see `default_weights`):
HM_DATA_DIR (through `DataLayout.from_env`), HM_GRAPH_BACKEND, HM_GRAPH_ENGINE, NEO4J_URI / _USER / _PASSWORD /
_DATABASE, HM_IMAGE_WEIGHTS, HM_REFRESH_CRON, HM_REFRESH_TIMEZONE.
"""

from __future__ import annotations

import abc
import dataclasses
import os
import typing
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal

import dagster as dg
from pydantic import Field, create_model

from hm_pipeline import data_root_lock
from hm_pipeline.graph import neo4j_server
from hm_pipeline.graph.embedded import DEFAULT_BUFFER_POOL_BYTES, DEFAULT_ENGINE, EmbeddedGraphStore
from hm_pipeline.graph.neo4j_store import DEFAULT_BATCH_SIZE, Neo4jGraphStore
from hm_pipeline.graph.store import GraphStore
from hm_pipeline.images.embed import WEIGHTS_MODES
from hm_pipeline.layout import DataLayout

GRAPH_BACKEND_ENV = "HM_GRAPH_BACKEND"
GRAPH_ENGINE_ENV = "HM_GRAPH_ENGINE"
WEIGHTS_ENV = "HM_IMAGE_WEIGHTS"
REFRESH_CRON_ENV, DEFAULT_REFRESH_CRON = "HM_REFRESH_CRON", "0 3 * * 1"  # Monday 03:00
REFRESH_TIMEZONE_ENV = "HM_REFRESH_TIMEZONE"


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


class GraphStoreResource(dg.ConfigurableResource, abc.ABC):
    """Where the graph lives. `open()` gives a `GraphStore` (use it as a context manager: it closes the database
    or driver); `backend` names the engine for metadata and the UI (`kuzu`, `ladybug` or `neo4j`)."""

    @property
    @abc.abstractmethod
    def backend(self) -> str: ...

    @abc.abstractmethod
    def open(self, layout: DataLayout, read_only: bool = False) -> GraphStore: ...


class EmbeddedGraphStoreResource(GraphStoreResource):
    """The embedded graph database (no server): a folder `graph/<engine>/` under the data root."""

    engine: Literal["kuzu", "ladybug"] = DEFAULT_ENGINE
    buffer_pool_bytes: int = DEFAULT_BUFFER_POOL_BYTES

    @property
    def backend(self) -> str:
        return self.engine

    def open(self, layout: DataLayout, read_only: bool = False) -> GraphStore:
        return EmbeddedGraphStore(layout.graph_dir / self.engine, engine=self.engine, read_only=read_only,
                                  buffer_pool_bytes=self.buffer_pool_bytes)


class Neo4jGraphStoreResource(GraphStoreResource):
    """A Neo4j server through the official driver: `uri`, or when that is empty the data root's local server
    (`hm-pipeline neo4j start`)."""

    uri: str = ""
    user: str = neo4j_server.USER
    password: str = Field(default="", repr=False)
    database: str = "neo4j"
    batch_size: int = DEFAULT_BATCH_SIZE
    max_retries: int = 5

    @property
    def backend(self) -> str:
        return "neo4j"

    def open(self, layout: DataLayout, read_only: bool = False) -> GraphStore:
        uri, user, password = self.uri, self.user, self.password
        if not uri:  # the data root's own server (`hm-pipeline neo4j start`)
            local = neo4j_server.connection(layout)
            uri, user, password = local.uri, neo4j_server.USER, local.password
        return Neo4jGraphStore.connect(uri, user, password, database=self.database, batch_size=self.batch_size,
                                       max_retries=self.max_retries)


def graph_store_from_env(env: Mapping[str, str] | None = None) -> GraphStoreResource:
    """The one place the backend is chosen: HM_GRAPH_BACKEND (`embedded`, the default, with HM_GRAPH_ENGINE; or
    `neo4j`, with the NEO4J_* credentials as Dagster `EnvVar`s: resolved at run time, shown by name only)."""
    env = os.environ if env is None else env
    backend = env.get(GRAPH_BACKEND_ENV, "embedded")
    if backend == "neo4j":
        return Neo4jGraphStoreResource(
            uri=dg.EnvVar("NEO4J_URI") if "NEO4J_URI" in env else "",
            user=dg.EnvVar("NEO4J_USER") if "NEO4J_USER" in env else neo4j_server.USER,
            password=dg.EnvVar("NEO4J_PASSWORD") if "NEO4J_PASSWORD" in env else "",
            database=dg.EnvVar("NEO4J_DATABASE") if "NEO4J_DATABASE" in env else "neo4j",
        )
    if backend != "embedded":
        raise ValueError(f"{GRAPH_BACKEND_ENV} must be 'embedded' or 'neo4j', got {backend!r}")
    return EmbeddedGraphStoreResource(engine=env.get(GRAPH_ENGINE_ENV, DEFAULT_ENGINE))


def default_weights(env: Mapping[str, str] | None = None) -> str:
    """The deployment's default ResNet50V2 `weights`: `$HM_IMAGE_WEIGHTS` if set, else "imagenet".

    Sensor runs and UI backfills take config defaults, so an offline deployment sets HM_IMAGE_WEIGHTS (e.g.
    `imagenet-or-random`) instead of editing every launch. A value outside WEIGHTS_MODES fails the code load.
    """
    value = (os.environ if env is None else env).get(WEIGHTS_ENV, "").strip() or "imagenet"
    if value not in WEIGHTS_MODES:
        raise ValueError(f"{WEIGHTS_ENV}={value!r} is not one of {', '.join(WEIGHTS_MODES)}")
    return value


def refresh_schedule(env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(cron, timezone) of the weekly refresh: HM_REFRESH_CRON (default Monday 03:00), HM_REFRESH_TIMEZONE (UTC)."""
    env = os.environ if env is None else env
    return env.get(REFRESH_CRON_ENV, DEFAULT_REFRESH_CRON), env.get(REFRESH_TIMEZONE_ENV, "UTC")


def config_class(name: str, settings: type, doc: str, descriptions: Mapping[str, str] | None = None,
                 only: tuple[str, ...] | None = None, **extra: Any) -> type[dg.Config]:
    """A Dagster `Config` whose fields are the core dataclass `settings`' own (names, types, defaults; `only` these
    when given), so that each setting is declared once; `descriptions` explain them in the launchpad, `extra` adds
    (type, Field) pairs."""
    descriptions = descriptions or {}
    types = typing.get_type_hints(settings)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(settings):
        if only is not None and f.name not in only:
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        fields[f.name] = (types[f.name], Field(default, description=descriptions.get(f.name)))
    fields.update(extra)
    model = create_model(name, __base__=dg.Config, __doc__=doc, **fields)
    model.__module__ = "hm_pipeline.defs.resources"
    return model


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"data_root": DataRootResource(), "graph_store": graph_store_from_env()})
