"""Each optimizer's first steps against a hand computation with the book's formulas (chapter 6.1)."""

from __future__ import annotations

import numpy as np
import pytest

from app.nn.optimizers import OPTIMIZERS, SGD, AdaGrad, Adam, Momentum, make_optimizer


def setup() -> tuple[dict, dict, np.ndarray]:
    w = np.array([1.0, -2.0])
    return {"W": w}, {"W": np.array([0.5, -4.0])}, w


def test_sgd() -> None:
    params, grads, w = setup()
    SGD(lr=0.1).update(params, grads)
    assert params["W"] is w, "updates are in place: the layers hold the params by reference"
    np.testing.assert_allclose(w, [1.0 - 0.05, -2.0 + 0.4])
    assert grads["W"].tolist() == [0.5, -4.0]


def test_momentum_two_steps() -> None:
    params, grads, w = setup()
    opt = Momentum(lr=0.1, momentum=0.9)
    opt.update(params, grads)  # v = -0.1 g = [-0.05, 0.4]
    np.testing.assert_allclose(w, [0.95, -1.6])
    opt.update(params, grads)  # v = 0.9 v - 0.1 g = [-0.095, 0.76]
    np.testing.assert_allclose(w, [0.95 - 0.095, -1.6 + 0.76])


def test_adagrad_two_steps() -> None:
    params, grads, w = setup()
    g = grads["W"]
    opt = AdaGrad(lr=0.5)
    opt.update(params, grads)  # h = g^2; step = lr g / (|g| + 1e-7) ~ lr sign(g)
    first = np.array([1.0 - 0.5 * 0.5 / (0.5 + 1e-7), -2.0 + 0.5 * 4.0 / (4.0 + 1e-7)])
    np.testing.assert_allclose(w, first)
    opt.update(params, grads)  # h = 2 g^2: step = lr g / (sqrt(2) |g| + 1e-7) ~ lr / sqrt(2) sign(g)
    np.testing.assert_allclose(w, first - 0.5 * g / (np.sqrt(2 * g * g) + 1e-7))


def test_adam_two_steps() -> None:
    params, grads, w = setup()
    g = grads["W"]
    opt = Adam(lr=0.01)
    opt.update(params, grads)
    m, v = 0.1 * g, 0.001 * g * g
    lr_t = 0.01 * np.sqrt(1 - 0.999) / (1 - 0.9)
    expected = np.array([1.0, -2.0]) - lr_t * m / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(w, expected)
    np.testing.assert_allclose(w, [0.99, -1.99], rtol=1e-5)  # the first Adam step is lr * sign(g)
    opt.update(params, grads)
    m, v = m + 0.1 * (g - m), v + 0.001 * (g * g - v)
    lr_t = 0.01 * np.sqrt(1 - 0.999**2) / (1 - 0.9**2)
    np.testing.assert_allclose(w, expected - lr_t * m / (np.sqrt(v) + 1e-7))
    assert opt.iter == 2


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_float32_stays_float32_and_minimises(name: str) -> None:
    w = np.array([3.0, -2.0], np.float32)
    opt = make_optimizer(name, 0.5 if name == "adagrad" else 0.1)  # AdaGrad's steps shrink as 1/sqrt(t)
    for _ in range(300):
        opt.update({"W": w}, {"W": 2 * w})  # gradient of |w|^2
    assert w.dtype == np.float32 and np.abs(w).max() < 0.5


def test_unknown_optimizer() -> None:
    with pytest.raises(ValueError, match="sgd, momentum, adagrad, adam"):
        make_optimizer("rmsprop", 0.1)
