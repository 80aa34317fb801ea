"""The exported script runs on its own and prints the book's numbers."""

import re
import subprocess
import sys

import numpy as np
import pytest

from app.graph.pyexport import graph_to_python

APPLE = {
    "nodes": [
        {"id": "apple", "op": "input", "value": 100},
        {"id": "apple_num", "op": "input", "value": 2},
        {"id": "tax", "op": "input", "value": 1.1},
        {"id": "apple_price", "op": "mul", "inputs": ["apple", "apple_num"]},
        {"id": "price", "op": "mul", "inputs": ["apple_price", "tax"]},
    ],
    "output": "price",
}

APPLE_ORANGE = {
    "nodes": [
        {"id": "apple", "op": "input", "value": 100},
        {"id": "apple_num", "op": "input", "value": 2},
        {"id": "orange", "op": "input", "value": 150},
        {"id": "orange_num", "op": "input", "value": 3},
        {"id": "tax", "op": "input", "value": 1.1},
        {"id": "apple_price", "op": "mul", "inputs": ["apple", "apple_num"]},
        {"id": "orange_price", "op": "mul", "inputs": ["orange", "orange_num"]},
        {"id": "all_price", "op": "add", "inputs": ["apple_price", "orange_price"]},
        {"id": "price", "op": "mul", "inputs": ["all_price", "tax"]},
    ],
}


def run(graph: dict) -> dict[str, str]:
    """Run the exported script in a fresh interpreter; map 'name:' -> printed text.

    Forward values are keyed by node id, gradients by the printed 'd<id>' with a
    'backward ' prefix only where that name is also a node id.
    """
    script = graph_to_python(graph)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    printed: dict[str, str] = {}
    key, section = None, ""
    for line in done.stdout.splitlines():
        m = re.match(r"^(\S+): ?(.*)$", line)
        if line in ("forward", "backward"):
            key, section = None, line
        elif m:
            key = m.group(1)
            if section == "backward" and key in printed:
                key = "backward " + key
            printed[key] = m.group(2)
        elif key is not None and line[:1].isspace():  # numpy's continuation lines
            printed[key] += " " + line
        else:
            key = None
    return printed


def number(text: str) -> float:
    return float(text)


def array(text: str) -> np.ndarray:
    return np.array([float(x) for x in re.findall(r"[-+]?[\d.]+(?:e[-+]?\d+)?", text)])


def test_apple_prints_the_books_numbers():
    out = run(APPLE)
    assert number(out["price"]) == pytest.approx(220)
    assert number(out["dapple"]) == pytest.approx(2.2)
    assert number(out["dapple_num"]) == pytest.approx(110)
    assert number(out["dtax"]) == pytest.approx(200)


def test_apple_orange_prints_the_books_numbers():
    out = run(APPLE_ORANGE)
    assert number(out["price"]) == pytest.approx(715)
    assert number(out["dapple_num"]) == pytest.approx(110)
    assert number(out["dapple"]) == pytest.approx(2.2)
    assert number(out["dorange"]) == pytest.approx(3.3)
    assert number(out["dorange_num"]) == pytest.approx(165)
    assert number(out["dtax"]) == pytest.approx(650)


def test_script_reads_like_the_book():
    script = graph_to_python(APPLE)
    assert "class MulLayer:" in script
    assert "apple_price = apple_price_layer.forward(apple, apple_num)" in script
    assert "dapple_price, dtax = price_layer.backward(dprice)" in script
    # backward runs in reverse: the last layer's backward comes first
    assert script.index("price_layer.backward") < script.index("apple_price_layer.backward")


def test_a_node_used_twice_sums_its_gradients():
    # f = x * x + x at x = 3: f = 12, df/dx = 2x + 1 = 7
    graph = {
        "nodes": [
            {"id": "x", "op": "input", "value": 3.0},
            {"id": "sq", "op": "mul", "inputs": ["x", "x"]},
            {"id": "f", "op": "add", "inputs": ["sq", "x"]},
        ]
    }
    out = run(graph)
    assert number(out["f"]) == pytest.approx(12)
    assert number(out["dx"]) == pytest.approx(7)


def test_tensor_graph_matches_central_differences():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 3)), rng.normal(size=(3, 4)), rng.normal(size=4)
    t = [1, 3]
    graph = {
        "nodes": [
            {"id": "x", "op": "input", "value": x.tolist()},
            {"id": "W", "op": "input", "value": w.tolist()},
            {"id": "b", "op": "input", "value": b.tolist()},
            {"id": "t", "op": "input", "value": t},
            {"id": "a", "op": "affine", "inputs": ["x", "W", "b"]},
            {"id": "h", "op": "sigmoid", "inputs": ["a"]},
            {"id": "loss", "op": "softmax_with_loss", "inputs": ["h", "t"]},
        ],
        "output": "loss",
    }

    def loss(w_):
        h = 1 / (1 + np.exp(-(x @ w_ + b)))
        e = np.exp(h - h.max(axis=1, keepdims=True))
        y = e / e.sum(axis=1, keepdims=True)
        return -np.mean(np.log(y[[0, 1], t] + 1e-7))

    numerical = np.zeros_like(w)
    for i in np.ndindex(w.shape):
        step = np.zeros_like(w)
        step[i] = 1e-5
        numerical[i] = (loss(w + step) - loss(w - step)) / 2e-5
    out = run(graph)
    assert number(out["loss"]) == pytest.approx(loss(w))
    np.testing.assert_allclose(array(out["dW"]), numerical.ravel(), rtol=1e-5, atol=1e-8)
    assert out["dt"] == "None"  # labels get no gradient, as in the book


def test_awkward_ids_become_valid_names():
    graph = {
        "nodes": [
            {"id": "x", "op": "input", "value": 2.0},
            {"id": "dx", "op": "input", "value": 5.0},
            {"id": "class", "op": "input", "value": 1.0},
            {"id": "1 st", "op": "mul", "inputs": ["x", "dx"]},
            {"id": "out", "op": "sub", "inputs": ["1 st", "class"]},
        ]
    }
    out = run(graph)
    assert number(out["out"]) == pytest.approx(9)
    assert number(out["dx"]) == pytest.approx(5.0)  # the node called dx
    assert number(out["backward dx"]) == pytest.approx(5.0)  # the gradient of x
    assert number(out["ddx"]) == pytest.approx(2.0)
    assert number(out["dclass"]) == pytest.approx(-1.0)


def test_unknown_op_is_named_in_the_error():
    graph = {"nodes": [{"id": "x", "op": "input", "value": 1}, {"id": "y", "op": "frobnicate", "inputs": ["x"]}]}
    with pytest.raises(ValueError, match="frobnicate"):
        graph_to_python(graph)


def engine_numbers(graph: dict) -> tuple[dict, dict]:
    from app.graph.encode import evaluation_to_json
    from app.graph.engine import evaluate

    result = evaluation_to_json(evaluate(graph))
    values = {i: n["value"] for i, n in result["nodes"].items()}
    grads = {i: n["grad"] for i, n in result["nodes"].items()}
    return values, grads


def same(printed: str, expected) -> bool:
    if expected is None:
        return printed == "None"
    got = array(printed)
    want = np.ravel(np.asarray(expected, dtype=float))
    return got.shape == want.shape and np.allclose(got, want, rtol=1e-6, atol=1e-9)


EXTRA_GRAPHS = {
    "one-hot-loss": {
        "nodes": [
            {"id": "a", "op": "input", "value": [[0.3, 2.9, 4.0], [1.0, 0.0, -1.0]]},
            {"id": "t", "op": "input", "value": [[0, 0, 1], [1, 0, 0]]},
            {"id": "L", "op": "softmax_with_loss", "inputs": ["a", "t"]},
        ]
    },
    "reductions": {
        "nodes": [
            {"id": "x", "op": "input", "value": [[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]]},
            {"id": "w", "op": "input", "value": [[0.2], [0.1], [-0.3]]},
            {"id": "xt", "op": "transpose", "inputs": ["x"]},
            {"id": "m", "op": "mean", "inputs": ["xt"], "params": {"axis": 1, "keepdims": True}},
            {"id": "y", "op": "matmul", "inputs": ["x", "w"]},
            {"id": "r", "op": "reshape", "inputs": ["y"], "params": {"shape": [1, 2]}},
            {"id": "s", "op": "sum", "inputs": ["m"], "params": {"axis": 0}},
            {"id": "p", "op": "mul", "inputs": ["r", "s"]},
            {"id": "q", "op": "tanh", "inputs": ["p"]},
            {"id": "out", "op": "sum", "inputs": ["q"]},
        ]
    },
    "scalar-zoo": {
        "nodes": [
            {"id": "x", "op": "input", "value": 0.7},
            {"id": "y", "op": "input", "value": 1.9},
            {"id": "a", "op": "div", "inputs": ["x", "y"]},
            {"id": "b", "op": "pow", "inputs": ["a"], "params": {"exponent": 3}},
            {"id": "c", "op": "sqrt", "inputs": ["y"]},
            {"id": "d", "op": "log", "inputs": ["c"]},
            {"id": "e", "op": "sub", "inputs": ["b", "d"]},
            {"id": "f", "op": "sigmoid", "inputs": ["e"]},
            {"id": "g", "op": "reciprocal", "inputs": ["f"]},
            {"id": "h", "op": "neg", "inputs": ["g"]},
            {"id": "i", "op": "exp", "inputs": ["h"]},
            {"id": "j", "op": "square", "inputs": ["i"]},
            {"id": "k", "op": "relu", "inputs": ["j"]},
        ]
    },
}


def all_graphs():
    from app.graph.examples import EXAMPLES

    graphs = {name: ex["graph"] for name, ex in EXAMPLES.items()}
    graphs.update(EXTRA_GRAPHS)
    return graphs


@pytest.mark.parametrize("name", sorted(all_graphs()))
def test_script_prints_what_the_engine_computes(name):
    """Every example (and a few more ops): the script's numbers are the API's numbers."""
    graph = all_graphs()[name]
    values, grads = engine_numbers(graph)
    out = run(graph)
    for node_id, value in values.items():
        assert same(out[node_id], value), (node_id, out[node_id], value)
    for node_id, grad in grads.items():
        key = f"d{node_id}"
        printed = out.get(f"backward {key}", out[key]) if key in values else out[key]
        assert same(printed, grad), (key, printed, grad)
