"""The vectorized co-purchase fallback equals the seed's Cypher, batched (`cypher/shared/co_purchase_scores.cypher`,
UNWIND $customer_ids), run by the embedded engine on the same purchases (repeat purchases included).

The engine runs in a subprocess: kuzu and ladybug cannot be imported into one process, and other tests may load
the other one."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from hm_pipeline.recommend.config import FusionConfig
from hm_pipeline.recommend.sources import copurchase
from hm_pipeline_tests.conftest import REPO_ROOT
from hm_pipeline_tests.recommend_fixtures import random_world

STATEMENT = REPO_ROOT / "cypher" / "shared" / "co_purchase_scores.cypher"

RUNNER = textwrap.dedent(
    """
    import json, sys, tempfile, kuzu
    job = json.load(sys.stdin)
    con = kuzu.Connection(kuzu.Database(tempfile.mkdtemp() + "/db"))
    con.execute("CREATE NODE TABLE Customer(id STRING, PRIMARY KEY (id))")
    con.execute("CREATE NODE TABLE Product(code STRING, PRIMARY KEY (code))")
    con.execute("CREATE REL TABLE PURCHASED(FROM Customer TO Product)")
    con.execute("UNWIND $ids AS i CREATE (:Customer {id: i})", {"ids": job["customers"]})
    con.execute("UNWIND $codes AS c CREATE (:Product {code: c})", {"codes": job["products"]})
    con.execute("UNWIND $rows AS r MATCH (c:Customer {id: r[1]}), (p:Product {code: r[2]}) "  # Kuzu lists are 1-based
                "CREATE (c)-[:PURCHASED]->(p)", {"rows": job["edges"]})
    assert con.execute("MATCH ()-[r:PURCHASED]->() RETURN count(r)").get_next()[0] == len(job["edges"])
    result = con.execute(job["statement"], {"customer_ids": job["query"]})
    rows = []
    while result.has_next():
        rows.append(result.get_next())
    json.dump(rows, sys.stdout)
    """
)


def _statement() -> str:
    lines = [line for line in STATEMENT.read_text().splitlines() if not line.lstrip().startswith("//")]
    return "\n".join(lines).strip().rstrip(";")


def test_vectorized_copurchase_equals_the_batched_cypher_on_kuzu():
    pytest.importorskip("kuzu")
    if not STATEMENT.is_file():
        pytest.skip(f"{STATEMENT} not present")
    data = random_world(6, n=60, m=30, t=300)
    h = data.history
    cid = [f"c{i:03d}" for i in range(h.n_customers)]
    code = [f"{i:010d}" for i in range(h.n_articles)]
    edges = [[cid[c], code[a]] for c, a in zip(h.tx_customer.tolist(), h.tx_article.tolist())]
    query = np.flatnonzero(h.has_purchases())[::2]
    job = {"customers": cid, "products": code, "edges": edges, "statement": _statement(),
           "query": [cid[c] for c in query.tolist()]}
    out = subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps(job), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    from_graph = {(int(c[1:]), int(p)): int(s) for c, p, s in json.loads(out.stdout)}
    config = FusionConfig(k=h.n_articles, copurchase_days=None, copurchase_neighbours=None)
    got = copurchase(data, query, config)
    vectorized = {(int(c), int(a)): int(s) for c, a, s in zip(got.customer, got.article, got.score)}
    assert len(from_graph) > 200
    assert vectorized == from_graph
