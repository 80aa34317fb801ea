"""GET /api/ops, /api/examples and POST /api/expressions."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.graph.examples import EXAMPLES
from app.graph.ops import REGISTRY


def test_ops_come_from_the_registry(client: TestClient) -> None:
    ops = client.get("/api/ops").json()["ops"]
    assert [o["name"] for o in ops] == list(REGISTRY)
    mul = next(o for o in ops if o["name"] == "mul")
    assert mul["arity"] == 2 and mul["inputs"] == ["x", "y"] and mul["symbol"] == "×"
    assert "dout * y" in mul["backward"] and mul["backward_latex"].startswith(r"\frac")
    pow_ = next(o for o in ops if o["name"] == "pow")
    assert pow_["params"]["exponent"]["type"] == "number"


def test_examples_list_and_fetch(client: TestClient) -> None:
    listed = client.get("/api/examples").json()["examples"]
    assert [e["name"] for e in listed] == list(EXAMPLES)
    assert all(e["title"] and e["description"] for e in listed)
    assert client.get("/api/examples/apple").json()["output"] == "price"
    r = client.get("/api/examples/pear")
    assert r.status_code == 404 and "apple-orange" in r.json()["detail"]


def test_expression_to_graph_and_evaluate(client: TestClient) -> None:
    g = client.post("/api/expressions", json={"expression": "(x + y) ** 2", "values": {"x": 3, "y": -1}}).json()
    body = client.post("/api/graphs/evaluate", json=g).json()
    assert body["nodes"][g["output"]]["value"] == 4.0
    assert body["nodes"]["x"]["grad"] == 4.0


@pytest.mark.parametrize(("payload", "column", "words"), [
    ({"expression": "(x + y", "values": {"x": 1, "y": 2}}, 7, "expected ')'"),
    ({"expression": "x * z", "values": {"x": 1}}, 5, "'z' has no value"),
])
def test_expression_errors_give_the_column(client: TestClient, payload: dict, column: int, words: str) -> None:
    r = client.post("/api/expressions", json=payload)
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["field"] == "expression" and err["column"] == column and words in err["message"]


def test_expression_with_a_bad_value_names_the_variable_node(client: TestClient) -> None:
    r = client.post("/api/expressions", json={"expression": "x + 1", "values": {"x": [[1, 2], [3]]}})
    assert r.status_code == 422 and r.json()["errors"][0]["node"] == "x"
