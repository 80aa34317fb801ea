"""The book's examples reproduce the book's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from app.graph.engine import evaluate
from app.graph.examples import EXAMPLES, get_example


def run(name: str, **kw):  # noqa: ANN003, ANN201
    ev = evaluate(get_example(name), **kw)
    return ev, {k: v for k, v in ev.grads.items()}


def test_apple() -> None:
    ev, g = run("apple")
    assert ev.values["price"] == pytest.approx(220)
    assert ev.values["apple_price"] == pytest.approx(200)
    assert (g["apple"], g["apple_num"], g["tax"]) == pytest.approx((2.2, 110, 200))


def test_apple_orange() -> None:
    ev, g = run("apple-orange")
    assert [float(ev.values[k]) for k in ("apple_price", "orange_price", "all_price", "price")] == pytest.approx([200, 450, 650, 715])
    assert (g["apple_num"], g["apple"], g["orange"], g["orange_num"], g["tax"]) == pytest.approx((110, 2.2, 3.3, 165, 650))
    assert g["all_price"] == pytest.approx(1.1)


def test_local_computation() -> None:
    ev, g = run("local-computation")
    assert ev.values["total"] == pytest.approx(4200)
    assert ev.values["price"] == pytest.approx(4620)
    assert g["others"] == pytest.approx(1.1) and g["apple"] == pytest.approx(2.2)


def test_chain_rule() -> None:
    ev, g = run("chain-rule")  # z = (x + y)^2 with x = 3, y = -1: t = 2, dz/dx = 2t = 4
    assert ev.values["z"] == pytest.approx(4)
    assert g["x"] == pytest.approx(4) and g["y"] == pytest.approx(4) and g["t"] == pytest.approx(4)


def test_sigmoid_decomposed_matches_closed_form() -> None:
    ev, g = run("sigmoid-decomposed")
    y = 1 / (1 + np.exp(-0.5))
    assert ev.values["y"] == pytest.approx(y)
    assert g["x"] == pytest.approx(y * (1 - y))
    # The book's intermediate: dL/d(denominator) = -y^2 at the "/" node.
    assert g["denominator"] == pytest.approx(-(y**2))


def test_relu_mask() -> None:
    ev, g = run("relu")
    np.testing.assert_array_equal(ev.values["y"], [[1.0, 0.0], [0.0, 3.0]])
    np.testing.assert_array_equal(g["x"], [[1.0, 0.0], [0.0, 1.0]])


def test_affine_batch_bias_is_column_sum() -> None:
    ev, g = run("affine-batch")
    np.testing.assert_allclose(g["B"], [5, 7, 9])
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    W = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    dY = np.array([[1, 2, 3], [4, 5, 6]])
    np.testing.assert_allclose(ev.values["Y"], X @ W + [1, 2, 3])
    np.testing.assert_allclose(g["W"], X.T @ dY)
    np.testing.assert_allclose(g["X"], dY @ W.T)


def test_softmax_with_loss_gradient_is_y_minus_t() -> None:
    ev, g = run("softmax-with-loss")
    np.testing.assert_allclose(g["a"], [0.3, -0.8, 0.5], atol=1e-12)
    assert ev.values["L"] == pytest.approx(-np.log(0.2 + 1e-7))


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_example_passes_its_gradient_check(name: str) -> None:
    ev = evaluate(get_example(name), check=True)
    assert ev.check, name
    for nid, c in ev.check.items():
        assert c["ok"], (name, nid, c["max_rel_error"])
