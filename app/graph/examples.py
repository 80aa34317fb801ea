"""The book's graphs from chapter 5, as graph JSON."""

from __future__ import annotations

import copy
import math
from typing import Any


def _in(nid: str, value: Any, label: str | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"id": nid, "op": "input", "value": value}
    if label:
        node["label"] = label
    return node


def _op(nid: str, op: str, *inputs: str, **params: Any) -> dict[str, Any]:
    node: dict[str, Any] = {"id": nid, "op": op, "inputs": list(inputs)}
    if params:
        node["params"] = params
    return node


EXAMPLES: dict[str, dict[str, Any]] = {
    "apple": {
        "title": "Buying apples (5.1, 5.3.3)",
        "description": "2 apples at 100 yen with 10% tax: 220 to pay; d apple 2.2, d apple_num 110, d tax 200.",
        "graph": {"nodes": [_in("apple", 100), _in("apple_num", 2), _in("tax", 1.1),
                            _op("apple_price", "mul", "apple", "apple_num"), _op("price", "mul", "apple_price", "tax")],
                  "output": "price"},
    },
    "apple-orange": {
        "title": "Apples and oranges (5.1, 5.4.2)",
        "description": "2 apples at 100 and 3 oranges at 150 with 10% tax: 715; gradients 110, 2.2, 3.3, 165, 650.",
        "graph": {"nodes": [_in("apple", 100), _in("apple_num", 2), _in("orange", 150), _in("orange_num", 3), _in("tax", 1.1),
                            _op("apple_price", "mul", "apple", "apple_num"), _op("orange_price", "mul", "orange", "orange_num"),
                            _op("all_price", "add", "apple_price", "orange_price"), _op("price", "mul", "all_price", "tax")],
                  "output": "price"},
    },
    "local-computation": {
        "title": "Local computation (5.1.2)",
        "description": "2 apples plus 4000 yen of other things: each node only adds what reaches it.",
        "graph": {"nodes": [_in("apple", 100), _in("apple_num", 2), _in("others", 4000, "many other things"), _in("tax", 1.1),
                            _op("apple_price", "mul", "apple", "apple_num"), _op("total", "add", "others", "apple_price"),
                            _op("price", "mul", "total", "tax")],
                  "output": "price"},
    },
    "chain-rule": {
        "title": "The chain rule: z = (x + y)^2 (5.2)",
        "description": "t = x + y, z = t^2: dz/dx = dz/dt * dt/dx = 2t * 1.",
        "graph": {"nodes": [_in("x", 3), _in("y", -1), _op("t", "add", "x", "y"), _op("z", "square", "t")], "output": "z"},
    },
    "sigmoid-decomposed": {
        "title": "Sigmoid from its parts (5.5.2)",
        "description": "x -> x(-1) -> exp -> +1 -> /: the gradient equals y(1 - y) of the one-node sigmoid.",
        "graph": {"nodes": [_in("x", 0.5), {"id": "minus_one", "op": "const", "value": -1}, {"id": "one", "op": "const", "value": 1},
                            _op("neg_x", "mul", "x", "minus_one"), _op("exp_neg_x", "exp", "neg_x"),
                            _op("denominator", "add", "exp_neg_x", "one"), _op("y", "reciprocal", "denominator")],
                  "output": "y"},
    },
    "relu": {
        "title": "ReLU on a matrix (5.5.1)",
        "description": "The book's x = [[1.0, -0.5], [-2.0, 3.0]]: the mask x <= 0 stops the gradient.",
        "graph": {"nodes": [_in("x", [[1.0, -0.5], [-2.0, 3.0]]), _op("y", "relu", "x")], "output": "y"},
    },
    "affine-batch": {
        "title": "Affine on a batch of 2 (5.6.2)",
        "description": "Y = X W + B with N = 2; seeding dY = [[1, 2, 3], [4, 5, 6]] gives dB = [5, 7, 9].",
        "graph": {"nodes": [_in("X", [[1.0, 2.0], [3.0, 4.0]]), _in("W", [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]), _in("B", [1.0, 2.0, 3.0]),
                            _op("Y", "affine", "X", "W", "B")],
                  "output": "Y", "grad": [[1, 2, 3], [4, 5, 6]]},
    },
    "softmax-with-loss": {
        "title": "Softmax-with-Loss (5.6.3)",
        "description": "Scores whose softmax is (0.3, 0.2, 0.5) against the label (0, 1, 0): the gradient is y - t = (0.3, -0.8, 0.5).",
        "graph": {"nodes": [_in("a", [math.log(0.3), math.log(0.2), math.log(0.5)], "scores"), _in("t", [0, 1, 0], "label"),
                            _op("L", "softmax_with_loss", "a", "t")],
                  "output": "L"},
    },
}


def list_examples() -> list[dict[str, str]]:
    return [{"name": name, "title": ex["title"], "description": ex["description"]} for name, ex in EXAMPLES.items()]


def get_example(name: str) -> dict[str, Any]:
    """A fresh copy, so no caller can change the book's numbers for the next one."""
    return copy.deepcopy(EXAMPLES[name]["graph"])
