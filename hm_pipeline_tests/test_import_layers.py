"""The import picture, read from the source (every import statement, module level or inside a function):

cores (plain numpy / pyarrow / graph code) <- stage modules (hm_pipeline/defs/<stage>.py) <- automation and
definitions <- the command line. A stage imports cores, `layout`, `defs/resources` and `defs/metadata`, never
another stage; `resources` and `metadata` import no stage; no core imports Dagster or the Dagster layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from hm_pipeline_tests.conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "hm_pipeline"
DEFS = "hm_pipeline.defs"
SHARED = {f"{DEFS}.resources", f"{DEFS}.metadata"}
TOP = {f"{DEFS}.automation", "hm_pipeline.definitions"}
#: The command line sits above everything: it runs the definitions.
COMMANDS = {"hm_pipeline.cli", "hm_pipeline.run_all", "hm_pipeline.run_report"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
STAGES = {m for m in MODULES if m.startswith(f"{DEFS}.") and m not in SHARED | TOP}
CORES = {m for m in MODULES if not m.startswith(DEFS) and m not in TOP | COMMANDS}


def imports(module: str) -> set[str]:
    """Every module `module` imports (absolute names; `from a import b` counts as `a.b` when that is a module)."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing package
                base = module.split(".")[: -node.level + (1 if MODULES[module].name == "__init__.py" else 0) or None]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names if f"{name}.{alias.name}" in MODULES)
    return found


def test_the_layers_are_what_the_test_thinks():
    assert {"hm_pipeline.defs.ingest", "hm_pipeline.defs.graph", "hm_pipeline.defs.images",
            "hm_pipeline.defs.training", "hm_pipeline.defs.evaluation"} <= STAGES
    assert {"hm_pipeline.layout", "hm_pipeline.graph.store", "hm_pipeline.recommend.fusion"} <= CORES
    assert "hm_pipeline.defs.images" in imports("hm_pipeline.defs.automation")  # the parser sees imports


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_a_stage_imports_no_other_stage_and_nothing_above_it(stage):
    bad = {m for m in imports(stage) if m in STAGES | TOP | COMMANDS and m != stage}
    assert not bad, f"{stage} imports {sorted(bad)}: move what it needs into a core module or layout"


@pytest.mark.parametrize("shared", sorted(SHARED))
def test_resources_and_metadata_import_no_stage(shared):
    assert not imports(shared) & (STAGES | TOP | COMMANDS)


@pytest.mark.parametrize("core", sorted(CORES))
def test_cores_never_import_dagster_or_the_dagster_layer(core):
    bad = {m for m in imports(core) if m.split(".")[0] == "dagster" or m.startswith(DEFS) or m in TOP | COMMANDS}
    assert not bad, f"{core} imports {sorted(bad)}"


def test_definitions_is_a_few_lines_that_load_the_defs_folder():
    source = MODULES["hm_pipeline.definitions"].read_text()
    code = [line for line in source.splitlines() if line.strip() and not line.startswith(('"""', "#"))]
    assert "load_from_defs_folder" in source and len(code) <= 8, code
    assert imports("hm_pipeline.definitions") <= {"pathlib", "dagster", f"{DEFS}.metadata"}
