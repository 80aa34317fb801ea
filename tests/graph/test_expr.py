"""The expression parser: precedence, fan-out, calls, and errors with columns."""

from __future__ import annotations

import pytest

from app.graph.engine import evaluate
from app.graph.expr import ExpressionError, parse_expression
from app.graph.errors import LimitError


def value_and_grads(text: str, **values: float) -> tuple[float, dict[str, float]]:
    g = parse_expression(text, values)
    ev = evaluate(g)
    return float(ev.values[g["output"]]), {k: float(ev.grads[k]) for k in values}


def test_chain_rule_expression_builds_the_book_graph() -> None:
    g = parse_expression("(x + y) ** 2", {"x": 3, "y": -1})
    assert g == {"nodes": [{"id": "x", "op": "input", "value": 3}, {"id": "y", "op": "input", "value": -1},
                           {"id": "add1", "op": "add", "inputs": ["x", "y"]}, {"id": "square1", "op": "square", "inputs": ["add1"]}],
                 "output": "square1"}


def test_variable_used_twice_is_one_node_with_fan_out() -> None:
    g = parse_expression("x * x + 3 * x", {"x": 2})
    assert [n["id"] for n in g["nodes"] if n["op"] == "input"] == ["x"]
    assert value_and_grads("x * x + 3 * x", x=2) == (10.0, {"x": pytest.approx(7.0)})


@pytest.mark.parametrize(("text", "expected"), [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("2 ** 3 ** 1", None), ("-2 ** 2", -4), ("10 - 4 - 3", 3), ("8 / 4 / 2", 1),
    ("-x ** 2", -9), ("- -x", 3), ("exp(0) + log(1)", 1), ("sigmoid(0) * 4", 2), ("relu(-x) + relu(x)", 3),
    ("2 ** -1", 0.5), ("1.5e1 + .5", 15.5),
])
def test_precedence_and_calls(text: str, expected: float | None) -> None:
    if expected is None:
        with pytest.raises(ExpressionError):
            parse_expression(text, {"x": 3})
        return
    g = parse_expression(text, {"x": 3})
    assert float(evaluate(g).values[g["output"]]) == pytest.approx(expected)


def test_matmul_and_keyword_params() -> None:
    g = parse_expression("sum(X @ W, axis=0)", {"X": [[1, 2]], "W": [[1, 0], [0, 1]]})
    assert g["nodes"][-1]["params"] == {"axis": 0}
    assert evaluate(g).values[g["output"]].tolist() == [1.0, 2.0]


@pytest.mark.parametrize(("text", "column", "words"), [
    ("(x + ", 6, "expected a number"), ("x $ y", 3, "unexpected character '$'"), ("x + q", 5, "'q' has no value"),
    ("foo(x)", 1, "unknown function 'foo'"), ("x ** y", 6, "must be a number"), ("((x)", 5, "expected ')'"),
    ("x y", 3, "unexpected 'y'"), ("", 1, "empty"), ("exp(x, x)", 1, "takes 1 argument"),
])
def test_errors_carry_a_column(text: str, column: int, words: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text, {"x": 1, "y": 2})
    assert info.value.extra["column"] == column and words in info.value.message
    assert info.value.field == "expression"


def test_missing_variable_is_named() -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression("a * b", {"a": 1})
    assert info.value.extra["variable"] == "b"


def test_deep_nesting_and_length_are_bounded() -> None:
    with pytest.raises(ExpressionError, match="nests deeper"):
        parse_expression("(" * 100 + "x" + ")" * 100, {"x": 1})
    with pytest.raises(LimitError, match="max_expression_length"):
        parse_expression("(" * 10_000 + "x" + ")" * 10_000, {"x": 1})


@pytest.mark.parametrize("text", ["(x + y) * add1", "add1 * (x + y)"])
def test_a_variable_named_like_a_generated_id_stays_the_variable(text: str) -> None:
    g = parse_expression(text, {"x": 1, "y": 2, "add1": 10})
    assert value_and_grads(text, x=1, y=2, add1=10) == (30.0, {"x": 10.0, "y": 10.0, "add1": 3.0})
    assert [n["op"] for n in g["nodes"] if n["id"] == "add1"] == ["input"]
