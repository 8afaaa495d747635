"""No Cypher in the Python: every statement is a file in cypher/, run with parameters, and every name resolves."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from hm_pipeline.graph import cypher_files
from hm_pipeline.graph.cypher_files import cypher_root, split_statements, statement_path
from hm_pipeline.graph.model import AGE_RELS, GRAPH_RELS, SIMILAR_RELS
from hm_pipeline_tests.conftest import REPO_ROOT

GRAPH_CODE = sorted((REPO_ROOT / "hm_pipeline" / "graph").glob("*.py")) + [REPO_ROOT / "hm_pipeline/defs/graph.py"]
CYPHER_WORDS = re.compile(r"\b(MATCH|MERGE|UNWIND|RETURN|DETACH|COPY|CREATE\s+(NODE|REL|CONSTRAINT|\()|"
                          r"DELETE\s+\w|SET\s+\w+\.)\b")
RUNNERS = {"rows", "run", "_write", "_delete_until_empty", "_run_script", "statement", "statements"}


def _strings(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node, node.value


def test_no_cypher_is_written_or_formatted_in_python():
    offenders = []
    for path in GRAPH_CODE:
        tree = ast.parse(path.read_text(), filename=str(path))
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                      and n.body and isinstance(n.body[0], ast.Expr)}
        for node, text in _strings(tree):
            if id(node) not in docstrings and CYPHER_WORDS.search(text):
                offenders.append(f"{path.name}:{node.lineno}: {text[:60]!r}")
        for node in ast.walk(tree):
            built = isinstance(node, ast.JoinedStr) or (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format") \
                or (isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)))
            if built and CYPHER_WORDS.search(ast.unparse(node)):
                offenders.append(f"{path.name}:{node.lineno}: built text {ast.unparse(node)[:60]!r}")
    assert offenders == []


def test_the_scan_catches_cypher_in_python():
    sample = 'q = f"MATCH (c:Customer {{id: \'{cid}\'}}) RETURN c"'
    node = ast.parse(sample).body[0].value
    assert isinstance(node, ast.JoinedStr) and CYPHER_WORDS.search(ast.unparse(node))


def _names_used(path: Path) -> set[str]:
    """Statement names passed as string literals to the store's runners in `path`."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in RUNNERS:
            for arg in node.args[:2]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value not in ("kuzu", "neo4j"):
                    names.add(arg.value)
    return names


def test_every_statement_name_used_resolves_for_the_dialects_that_run_it():
    only = {"embedded.py": ["kuzu"], "neo4j_store.py": ["neo4j"]}
    checked = set()
    for path in GRAPH_CODE:
        for name in _names_used(path):
            for dialect in only.get(path.name, ["kuzu", "neo4j"]):
                statement_path(dialect, name)  # raises UnknownStatement if missing
                checked.add((dialect, name))
    assert {("kuzu", "graph_copy"), ("neo4j", "delete_nodes_batch"), ("kuzu", "customer_ages"),
            ("neo4j", "customer_ages"), ("neo4j", "age_group_membership")} <= checked


@pytest.mark.parametrize("path", sorted(cypher_root().rglob("*.cypher")), ids=lambda p: str(p.relative_to(cypher_root())))
def test_every_cypher_file_is_parameterized_statements(path: Path):
    statements = split_statements(path.read_text())
    assert statements, f"{path} holds no statement"
    for statement in statements:
        assert not re.search(r"'[^']*\d{6,}[^']*'", statement), "a literal id in a statement: use a parameter"
    if path.parent.name == "load":
        relationship = path.stem in {spec.name for spec in (*GRAPH_RELS, *AGE_RELS, *SIMILAR_RELS)}
        expected = {"sources", "targets", "rows"} if relationship else {"rows"}  # see neo4j_store.edge_batches
        assert [set(re.findall(r"\$(\w+)", s)) for s in statements] == [expected]


def test_split_statements_handles_comments_and_semicolons():
    assert split_statements("// c\nMATCH (n)\nRETURN n;\n// x\nRETURN 1;\nRETURN 2") == [
        "MATCH (n)\nRETURN n", "RETURN 1", "RETURN 2"]
    with pytest.raises(ValueError, match="exactly one"):
        cypher_files.statement("kuzu", "graph_schema")
