"""Every Cypher file Neo4j runs (cypher/neo4j/ and cypher/shared/) passes Neo4j's own parser and semantic checks.

Uses @neo4j-cypher/language-support from npm (install: see README) through hm_pipeline_tests/cypher_lint/lint.cjs,
with the graph model as the database schema, so unknown labels, types and properties are reported too.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from hm_pipeline.graph.cypher_files import cypher_root
from hm_pipeline.graph.model import AGE_NODES, AGE_RELS, EMBEDDING, GRAPH_NODES, GRAPH_RELS, SIMILAR_RELS
from hm_pipeline_tests.conftest import REPO_ROOT

LINT = REPO_ROOT / "hm_pipeline_tests" / "cypher_lint" / "lint.cjs"
# bookkeeping of the Neo4j store (cypher/neo4j/set_load_status.cypher, set_similar_method.cypher) besides the model
STATUS_LABELS, STATUS_KEYS = ["GraphLoad"], ["part", "status", "updated_at", "method"]
# keys that are not node/edge properties: the row maps of UNWIND loads, and temporal accessors (date.year)
ROW_KEYS = ["source", "target", "year", "month"]


def _lint(files: list[str], schema_path) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    done = subprocess.run([node, str(LINT), "--schema", str(schema_path), *files], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=120)
    assert done.returncode in (0, 1), f"linter could not run: {done.stderr}"
    return done


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    nodes, rels = (*GRAPH_NODES, *AGE_NODES), (*GRAPH_RELS, *AGE_RELS, *SIMILAR_RELS)
    # Neo4j keeps image embeddings as a Product property (model.PRODUCT_EMBEDDING is the embedded engine's table)
    properties = {p for n in nodes for p in n.properties} | {p for r in rels for p in r.properties} | {EMBEDDING}
    path = tmp_path_factory.mktemp("lint") / "schema.json"
    path.write_text(json.dumps({
        "labels": [n.label for n in nodes] + STATUS_LABELS,
        "relationshipTypes": sorted({r.type for r in rels}),
        "propertyKeys": sorted(properties | set(STATUS_KEYS) | set(ROW_KEYS)),
    }))
    return path


def test_neo4j_and_shared_cypher_pass_neo4js_parser(schema):
    root = cypher_root()
    files = sorted(str(p) for folder in ("neo4j", "shared") for p in (root / folder).rglob("*.cypher"))
    assert len(files) > 40
    done = _lint(files, schema)
    assert done.returncode == 0, done.stdout
    assert f"checked {len(files)} files, 0 problems" in done.stdout


def test_the_linter_reports_syntax_semantic_and_schema_errors(schema, tmp_path):
    bad = {
        "syntax.cypher": "MATCH (p:Product) RETRN p.code;",
        "variable.cypher": "MATCH (p:Product) RETURN q.code;",
        "label.cypher": "MATCH (p:Prodcut) RETURN p.code;",
    }
    for name, text in bad.items():
        (tmp_path / name).write_text(text)
    done = _lint([str(tmp_path / name) for name in bad], schema)
    assert done.returncode == 1
    problems = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert {p["file"].rsplit("/", 1)[-1] for p in problems} == set(bad)
    assert any("RETRN" in p["message"] for p in problems)
    assert any("`q` not defined" in p["message"] for p in problems)
    assert any("Prodcut" in p["message"] for p in problems)
