"""Validation, the chain rule's bookkeeping, non-finite results and limits."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from app.graph.encode import encode, evaluation_to_json
from app.graph.engine import evaluate
from app.graph.errors import GraphError, LimitError
from app.graph.limits import Limits


def inp(nid: str, value: Any) -> dict[str, Any]:
    return {"id": nid, "op": "input", "value": value}


def op(nid: str, name: str, *inputs: str, **params: Any) -> dict[str, Any]:
    return {"id": nid, "op": name, "inputs": list(inputs), **({"params": params} if params else {})}


def error(graph: dict[str, Any], limits: Limits | None = None) -> GraphError:
    with pytest.raises(GraphError) as info:
        evaluate(graph, limits=limits or Limits())
    return info.value


def test_fan_out_sums_the_gradients_of_every_outgoing_edge() -> None:
    g = {"nodes": [inp("x", 3.0), op("a", "mul", "x", "x"), op("b", "exp", "x"), op("z", "add", "a", "b")]}
    ev = evaluate(g)
    assert ev.grads["x"] == pytest.approx(2 * 3 + np.exp(3))
    assert ev.edge_grads[("x", "a", 0)] == pytest.approx(3) and ev.edge_grads[("x", "a", 1)] == pytest.approx(3)
    assert ev.edge_grads[("x", "b", 0)] == pytest.approx(np.exp(3))


def test_nodes_that_do_not_reach_the_output_get_zero() -> None:
    g = {"nodes": [inp("x", [1.0, 2.0]), inp("y", 5.0), op("side", "exp", "y"), op("z", "sum", "x")], "output": "z"}
    out = evaluation_to_json(evaluate(g))
    assert out["nodes"]["y"]["grad"] == 0.0 and out["nodes"]["side"]["grad"] == 0.0
    assert out["nodes"]["x"]["grad"] == [1.0, 1.0]
    assert [e["grad"] for e in out["edges"] if e["to"] == "side"] == [0.0]


def test_response_shape_for_the_apple_graph() -> None:
    from app.graph.examples import get_example

    out = evaluation_to_json(evaluate(get_example("apple")))
    assert out["order"] == ["apple", "apple_num", "tax", "apple_price", "price"]
    assert out["nodes"]["apple"] == {"op": "input", "value": 100.0, "shape": [], "grad": pytest.approx(2.2)}
    assert out["edges"][0] == {"from": "apple", "to": "apple_price", "slot": 0, "value": 100.0, "grad": pytest.approx(2.2)}
    assert {(e["from"], e["to"], e["slot"]) for e in out["edges"]} == {
        ("apple", "apple_price", 0), ("apple_num", "apple_price", 1), ("apple_price", "price", 0), ("tax", "price", 1)}
    assert out["warnings"] == []


def test_seeded_grad_and_scalar_broadcast_seed() -> None:
    g = {"nodes": [inp("x", [1.0, 2.0]), op("y", "square", "x")], "grad": [1.0, 10.0]}
    assert evaluate(g).grads["x"].tolist() == [2.0, 40.0]
    g["grad"] = 3
    assert evaluate(g).grads["x"].tolist() == [6.0, 12.0]
    g["grad"] = [1.0, 2.0, 3.0]
    e = error(g)
    assert e.field == "grad" and "[3]" in e.message and "[2]" in e.message


def test_integer_labels_have_null_gradient() -> None:
    g = {"nodes": [inp("x", [[1.0, 2.0, 3.0], [1.0, 0.0, 0.0]]), inp("t", [2, 0]), op("L", "softmax_with_loss", "x", "t")]}
    out = evaluation_to_json(evaluate(g, check=True))
    assert out["nodes"]["t"]["grad"] is None
    assert [e["grad"] for e in out["edges"] if e["from"] == "t"] == [None]
    assert set(out["check"]) == {"x"} and out["check"]["x"]["ok"]


@pytest.mark.parametrize(("graph", "node", "field", "words"), [
    ({"nodes": [{"id": "a", "op": "frobnicate"}]}, "a", "op", "unknown op 'frobnicate'"),
    ({"nodes": [inp("a", 1), op("b", "mul", "a")]}, "b", "inputs", "takes 2 input(s) (x, y), got 1"),
    ({"nodes": [inp("a", 1), op("b", "exp", "nope")]}, "b", "inputs.0", "unknown node 'nope'"),
    ({"nodes": [inp("a", 1), inp("a", 2)]}, "a", "id", "duplicate node id 'a'"),
    ({"nodes": [inp("a", [1.0, 2.0]), inp("b", [1.0, 2.0, 3.0]), op("c", "add", "a", "b")]}, "c", "inputs", "[2] and [3] cannot be broadcast"),
    ({"nodes": [inp("a", [[1.0, 2.0]]), inp("b", [[1.0, 2.0]]), op("c", "matmul", "a", "b")]}, "c", "inputs", "inner dimensions differ: shapes [1, 2] and [1, 2]"),
    ({"nodes": [inp("a", "x")]}, "a", "value", "a number or a nested list of numbers, got str"),
    ({"nodes": [inp("a", ["x"])]}, "a", "value", "finite numbers"),
    ({"nodes": [inp("a", [[1, 2], [3]])]}, "a", "value", "ragged"),
    ({"nodes": [inp("a", [1, None])]}, "a", "value", "finite numbers"),
    ({"nodes": [{"id": "a", "op": "input"}]}, "a", "value", "needs a value"),
    ({"nodes": [inp("a", 1), inp("b", 2)]}, None, "output", "2 sinks (a, b)"),
    ({"nodes": [inp("a", 1)], "output": "zz"}, None, "output", "unknown node 'zz'"),
    ({"nodes": [inp("a", 1), op("b", "pow", "a", exponent="two")]}, "b", "params.exponent", "finite number"),
    ({"nodes": [inp("a", 1), op("b", "sum", "a", axiz=0)]}, "b", "params.axiz", "no param 'axiz'"),
    ({"nodes": [inp("a", [1.0]), op("b", "sum", "a", axis=3)]}, "b", "params.axis", "axis 3 is out of range"),
    ({"nodes": [inp("a", [1.0, 2.0]), op("b", "reshape", "a", shape=[3])]}, "b", "params.shape", "cannot reshape 2 elements"),
    ({"nodes": [inp("a", [[1.0, 2.0]]), op("b", "transpose", "a", axes=[0, 5])]}, "b", "params.axes", "not a permutation"),
    ({"nodes": [inp("a", [[1.0, 2.0]]), op("b", "transpose", "a", axes=[0, -3])]}, "b", "params.axes", "not a permutation"),
    ({"nodes": [inp("a", 1.0), op("b", "transpose", "a", axes=[0])]}, "b", "params.axes", "not a permutation"),
    ({"nodes": []}, None, "nodes", "no nodes"),
    ({"nodes": [inp("a", 1e308), op("b", "mul", "a", "a")]}, None, None, None),
])
def test_bad_graphs_name_the_node_and_field(graph: dict[str, Any], node: str | None, field: str | None, words: str | None) -> None:
    if words is None:  # overflow is answered with a warning, not an error
        out = evaluation_to_json(evaluate(graph))
        assert out["nodes"]["b"]["value"] == "Infinity"
        assert {"node": "b", "message": "node 'b': forward value is not finite (NaN or infinity)"} in out["warnings"]
        return
    e = error(graph)
    assert (e.node, e.field) == (node, field)
    assert words in e.message
    assert e.status == 422


def test_cycle_is_named_node_by_node() -> None:
    g = {"nodes": [inp("x", 1), op("a", "add", "x", "c"), op("b", "exp", "a"), op("c", "neg", "b"), op("out", "exp", "x")], "output": "out"}
    e = error(g)
    assert "cycle" in e.message and e.extra["cycle"][0] == e.extra["cycle"][-1]
    assert set(e.extra["cycle"]) == {"a", "b", "c"}


def test_cycle_without_any_sink_is_named_not_asked_for_an_output() -> None:
    g = {"nodes": [inp("x", 1), op("a", "add", "x", "b"), op("b", "exp", "a")]}  # no sink at all, no output given
    e = error(g)
    assert e.field == "inputs" and "cycle" in e.message and "sinks" not in e.message
    assert set(e.extra["cycle"]) == {"a", "b"} and e.extra["cycle"][0] == e.extra["cycle"][-1]


def test_non_finite_values_are_encoded_and_warned() -> None:
    g = {"nodes": [inp("x", [1.0, 0.0, -1.0]), op("r", "reciprocal", "x"), op("l", "log", "x"), op("s", "add", "r", "l")]}
    out = evaluation_to_json(evaluate(g))
    assert out["nodes"]["r"]["value"] == [1.0, "Infinity", -1.0]
    assert out["nodes"]["l"]["value"][1:] == ["-Infinity", "NaN"]
    assert {w["node"] for w in out["warnings"]} >= {"r", "l", "s"}
    assert encode(np.array(float("nan"))) == "NaN"


def test_gradient_check_of_non_finite_values_is_valid_json() -> None:
    """JSON has no NaN: the check's errors are encoded like every value (a plain float NaN made the response a 500)."""
    g = {"nodes": [inp("x", [0.0, 1.0]), op("y", "log", "x"), op("z", "sum", "y")]}
    out = evaluation_to_json(evaluate(g, check=True))
    assert json.loads(json.dumps(out, allow_nan=False)) == out
    c = out["check"]["x"]
    assert c["backprop"] == ["Infinity", 1.0] and c["numerical"] == ["NaN", "NaN"] and c["ok"] is False  # sum holds -inf
    assert c["max_abs_error"] == "NaN" and c["max_rel_error"] == "NaN"
    out = evaluation_to_json(evaluate({"nodes": [inp("x", [1.0, 2.0]), op("y", "square", "x")]}, check=True))
    assert out["check"]["x"]["ok"] is True and out["check"]["x"]["max_rel_error"] < 1e-8


@pytest.mark.parametrize(("limits", "graph", "limit"), [
    (Limits(max_nodes=3), {"nodes": [inp(f"n{i}", 1) for i in range(4)]}, "max_nodes"),
    (Limits(max_tensor_elements=10), {"nodes": [inp("a", list(range(11)))]}, "max_tensor_elements"),
    (Limits(max_tensor_elements=100), {"nodes": [inp("a", [[1.0]] * 20), inp("b", [[1.0] * 20]), op("c", "matmul", "a", "b")]}, "max_tensor_elements"),
    (Limits(max_tensor_elements=100), {"nodes": [inp("a", [[1.0]] * 20), inp("b", [[1.0] * 20]), op("c", "add", "a", "b")]}, "max_tensor_elements"),
    (Limits(max_total_elements=15), {"nodes": [inp("a", list(range(10))), op("b", "exp", "a")]}, "max_total_elements"),
    (Limits(max_rank=2), {"nodes": [inp("a", [[[1.0]]])]}, "max_rank"),
])
def test_limits_are_named(limits: Limits, graph: dict[str, Any], limit: str) -> None:
    e = error(graph, limits)
    assert isinstance(e, LimitError) and e.status == 413
    assert e.extra["limit"] == limit and limit in e.message


def test_check_limit_bounds_the_numerical_work() -> None:
    g = {"nodes": [inp("a", [1.0] * 50), op("b", "sum", "a")]}
    e = error_check(g, Limits(max_check_evaluations=50))
    assert e.extra["limit"] == "max_check_evaluations"


def error_check(graph: dict[str, Any], limits: Limits) -> GraphError:
    with pytest.raises(GraphError) as info:
        evaluate(graph, check=True, limits=limits)
    return info.value


def test_gradient_check_flags_a_relu_kink() -> None:
    g = {"nodes": [inp("x", [0.00005, 1.0]), op("y", "relu", "x"), op("z", "sum", "y")]}
    ev = evaluate(g, check=True)
    assert not ev.check["x"]["ok"]
    np.testing.assert_allclose(ev.check["x"]["numerical"], [0.75, 1.0])
    np.testing.assert_allclose(ev.check["x"]["backprop"], [1.0, 1.0])


def test_other_sinks_are_allowed_when_output_is_named() -> None:
    g = {"nodes": [inp("x", 2.0), op("a", "exp", "x"), op("b", "square", "x")], "output": "b"}
    ev = evaluate(g)
    assert ev.grads["x"] == pytest.approx(4.0) and ev.grads["a"] == 0


def test_empty_tensors_are_answered() -> None:
    """numpy's max of an empty axis and reshape(0, -1) raise; empty tensors must be answered, not a 500."""
    out = evaluation_to_json(evaluate({"nodes": [inp("x", []), op("y", "softmax", "x")]}))
    assert out["nodes"]["y"] == {"op": "softmax", "value": [], "shape": [0], "grad": []}
    out = evaluation_to_json(evaluate({"nodes": [inp("x", [[], []]), inp("t", [[], []]), op("L", "softmax_with_loss", "x", "t")]}))
    assert out["nodes"]["L"]["value"] == 0.0 and out["nodes"]["x"]["grad"] == [[], []]
    # An empty batch of 3-class scores has no mean loss: NaN, reported as a warning
    g = {"nodes": [inp("x", []), op("b", "reshape", "x", shape=[0, 3]), inp("t", []), op("L", "softmax_with_loss", "b", "t")]}
    out = evaluation_to_json(evaluate(g))
    assert out["nodes"]["b"]["shape"] == [0, 3] and out["nodes"]["L"]["value"] == "NaN"
    assert [w["node"] for w in out["warnings"]] == ["L"]
    # Affine on an empty batch: Y is (0, 2), dW is zeros, db is zeros
    g = {"nodes": [inp("x", []), op("X", "reshape", "x", shape=[0, 3]), inp("W", [[1.0, 2.0]] * 3), inp("b", [1.0, 2.0]),
                   op("Y", "affine", "X", "W", "b"), op("s", "sum", "Y")]}
    out = evaluation_to_json(evaluate(g, check=True))
    assert out["nodes"]["Y"]["shape"] == [0, 2] and out["nodes"]["s"]["value"] == 0.0
    assert out["nodes"]["W"]["grad"] == [[0.0, 0.0]] * 3 and out["nodes"]["b"]["grad"] == [0.0, 0.0]
    assert out["check"]["W"]["ok"] and out["check"]["b"]["ok"]
