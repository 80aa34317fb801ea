"""The book's gradient check on MNIST, and the two effects that explain its figures."""

from __future__ import annotations

import numpy as np
import pytest

from app.nn.gradcheck import DEFAULT_SEED, KINK_SEED, GradCheckResult, exact_gradient, gradient_check, kink_report
from app.nn.two_layer_net import TwoLayerNet

KEYS = ("W1", "b1", "W2", "b2")


@pytest.fixture(scope="module")
def default() -> GradCheckResult:
    return gradient_check()


@pytest.fixture(scope="module")
def kinked() -> GradCheckResult:
    return gradient_check(seed=KINK_SEED)


def test_default_seed_all_four_below_1e_6(default: GradCheckResult) -> None:
    assert default.seed == DEFAULT_SEED and default.images == 3 and default.kink.h == 1e-4
    assert default.kink.units == [] and default.kink.entries == {"W1": 0, "b1": 0}
    assert all(default.diffs[k] < 1e-6 for k in KEYS), default.diffs
    assert default.passed
    # The book's orders of magnitude: W1 1.8e-10, b1 8.8e-10, W2 6.9e-8, b2 1.4e-7
    assert 1e-11 < default.diffs["W1"] < 1e-9 and 1e-10 < default.diffs["b1"] < 1e-8
    assert 1e-9 < default.diffs["W2"] < 1e-7 and 5e-8 < default.diffs["b2"] < 5e-7


def test_the_1e_7_in_the_loss_accounts_for_the_rest(default: GradCheckResult) -> None:
    for k in KEYS:
        assert default.eps_bias[k] == pytest.approx(default.diffs[k], rel=0.05), k
        assert default.diffs_exact[k] < default.diffs[k] / 100, k
    assert "1e-7 guard" in default.explain()


def test_backprop_is_far_faster_than_numerical(default: GradCheckResult) -> None:
    assert 0 < default.backprop_seconds < 0.01
    assert default.numerical_seconds > 100 * default.backprop_seconds
    assert default.to_dict()["speedup"] == pytest.approx(default.numerical_seconds / default.backprop_seconds)


def test_kink_seed_explains_its_large_w1_b1(kinked: GradCheckResult) -> None:
    k = kinked.kink
    assert k.units == [12, 29] and all(c < 1e-4 for c in k.closest)
    assert k.entries["b1"] == 2 and k.entries["W1"] > 0
    assert kinked.diffs["W1"] > 1e-7 and kinked.diffs["b1"] > 1e-6, "the kink case: W1/b1 rise to 1e-7..1e-5"
    assert kinked.diffs_without_kinks["W1"] < 1e-9 and kinked.diffs_without_kinks["b1"] < 1e-8
    assert kinked.diffs["W2"] == kinked.diffs_without_kinks["W2"] < 1e-6
    assert kinked.passed
    text = kinked.explain()
    assert "2 hidden unit(s)" in text and "12 (|a| = 9.4e-06)" in text


def test_kink_report_flags_exactly_the_entries_that_disagree() -> None:
    """Unit 0 sits 0.3h from its kink: central differences straddle it for b1[0] and the W1 entries of big pixels."""
    h = 1e-4
    x = np.array([[1.0, 0.2, 0.0]])
    t = np.array([1])
    net = TwoLayerNet(3, 2, 2, weight_init_std=1.0, seed=0)
    net.params["W1"][:] = [[0.5, 0.4], [-0.5, 0.3], [0.7, 0.2]]
    net.params["b1"][:] = [-0.5 + 0.1 + 0.3 * h, 0.0]  # a[0] = 0.5 - 0.1 + b1[0] = 0.3h; a[1] = 0.46
    report = kink_report(net, x, h)
    assert report.units == [0] and report.closest == pytest.approx([0.3 * h])
    # b1[0] moves a by h > 0.3h: crosses; W1[0,0] by 1.0h: crosses; W1[1,0] by 0.2h < 0.3h: does not; W1[2,0]: pixel 0
    assert report.entries == {"W1": 1, "b1": 1}
    numerical = net.numerical_gradient(x, t)
    exact = exact_gradient(net, x, t)
    wrong_w1 = np.abs(numerical["W1"] - exact["W1"]) > 1e-6
    wrong_b1 = np.abs(numerical["b1"] - exact["b1"]) > 1e-6
    assert wrong_w1.tolist() == [[True, False], [False, False], [False, False]]
    assert wrong_b1.tolist() == [True, False]


def test_sigmoid_has_no_kinks() -> None:
    x = np.random.default_rng(0).random((3, 4)) * 1e-6
    net = TwoLayerNet(4, 3, 2, activation="sigmoid", seed=0)
    assert kink_report(net, x).units == []
