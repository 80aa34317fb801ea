"""The book's gradient check (section 5.7.3), with the reasons behind its numbers.

Backprop and the book's central difference (h = 1e-4) are compared on the first
3 training images; each parameter gets the mean absolute difference, as the
book prints it (W1 1.8e-10, b1 8.8e-10, W2 6.9e-8, b2 1.4e-7).

Two effects, both in a perfectly correct net, decide those figures:

**ReLU kinks (W1, b1).** ReLU is not differentiable at 0. Perturbing ``b1[j]``
by +-h moves the pre-activation ``a[n, j] = x[n] . W1[:, j] + b1[j]`` of hidden
unit j by +-h for every image n; perturbing ``W1[i, j]`` moves it by
+-h * x[n, i], with pixels x in [0, 1]. When ``|a[n, j]| < h * x[n, i]`` the two
evaluations of the central difference fall on both sides of the kink, and the
quotient averages the slopes of the two sides instead of taking the one backprop
uses. So a unit is *within reach of its kink* when ``min_n |a[n, j]| < h``, and
exactly the W1/b1 entries with ``|a[n, j]| <= h * x[n, i]`` (resp. ``<= h``) for
some n are affected; W2 and b2 sit after the ReLU and never move ``a``. With
weight std 0.01 the pre-activations are only ~0.01-0.1, so for some
initialisations a unit comes within 1e-4 of 0 (5 of seeds 0-59 with 50 units
here) and the W1/b1 means rise from ~1e-10 to ~5e-7 / ~6e-6. The report counts those units and entries and
repeats the means with the units' columns left out.

**The 1e-7 in the loss (all four).** The book's cross-entropy is
``-log(y_t + 1e-7)``, whose exact derivative with respect to the scores is
``(y - t) / N * y_t / (y_t + 1e-7)``, not the ``(y - t) / N`` backprop uses.
With ten classes near y = 0.1 that is a relative gap of ~1e-6: ~1e-7 on b2,
whose gradient is ~0.1, and less down the chain (W2 ~5e-9, b1 ~1e-9, W1
~2e-10). ``eps_bias`` is that gap per parameter, measured by running the same
backward pass with the exact factor, and it matches the diffs to two digits;
numerical minus *that* gradient (``diffs_exact``, kink units left out) is what
central differences really miss: ~1e-13, and ~1.5e-10 on b2 (the h**2 term).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from app.graph.ops.losses import EPS
from app.nn.two_layer_net import PARAM_KEYS, TwoLayerNet

H = 1e-4
DEFAULT_SEED = 0  # nearest pre-activation 2.1e-3 from the kink: all four diffs < 1e-6
KINK_SEED = 13  # units 12 and 29 sit 9e-6 and 5e-5 from their kinks: W1/b1 rise to 5.6e-7/6.5e-6


@dataclass(frozen=True)
class KinkReport:
    h: float
    units: list[int]  # hidden units j with min over the images of |pre-activation| < h
    closest: list[float]  # min_n |a[n, j]| for each of those units
    entries: dict[str, int]  # W1 / b1 entries whose +-h perturbation crosses a kink
    nearest: float  # the smallest |pre-activation| of any unit on any image


@dataclass(frozen=True)
class GradCheckResult:
    seed: int
    hidden_size: int
    images: int
    diffs: dict[str, float]  # mean |backprop - numerical|, as the book prints
    diffs_without_kinks: dict[str, float]  # the same with the kink units' W1 columns / b1 entries left out
    eps_bias: dict[str, float]  # mean |backprop - exact gradient of the loss with its 1e-7|
    diffs_exact: dict[str, float]  # mean |exact - numerical|, kink units left out
    kink: KinkReport
    backprop_seconds: float  # one gradient() call (mean of several)
    numerical_seconds: float  # one numerical_gradient() call
    passed: bool  # every diff without kinks below 1e-6

    @property
    def speedup(self) -> float:
        return self.numerical_seconds / self.backprop_seconds

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "speedup": self.speedup, "explanation": self.explain()}

    def explain(self) -> str:
        k = self.kink
        lines = []
        if k.units:
            where = ", ".join(f"{u} (|a| = {c:.1e})" for u, c in zip(k.units, k.closest))
            lines.append(
                f"{len(k.units)} hidden unit(s) sat within h = {k.h:g} of the ReLU kink on some image: {where}. "
                f"Central differences straddle the kink for {k.entries['W1']} W1 and {k.entries['b1']} b1 entries "
                f"and average the slopes of both sides, so W1/b1 differ by {self.diffs['W1']:.1e}/{self.diffs['b1']:.1e}; "
                f"without those units: {self.diffs_without_kinks['W1']:.1e}/{self.diffs_without_kinks['b1']:.1e}. "
                "Backprop is right; the numerical gradient is not defined there.")
        else:
            lines.append(f"No hidden unit came within h = {k.h:g} of its ReLU kink (nearest |a| = {k.nearest:.1e}), "
                         "so W1/b1 agree to rounding error.")
        rest = "/".join(f"{self.diffs_without_kinks[k]:.1e}" for k in PARAM_KEYS)
        bias = "/".join(f"{self.eps_bias[k]:.1e}" for k in PARAM_KEYS)
        exact = "/".join(f"{self.diffs_exact[k]:.1e}" for k in PARAM_KEYS)
        lines.append(
            f"The rest (W1/b1/W2/b2 {rest}) is the loss's 1e-7 guard inside the log: its exact gradient is "
            f"(y - t)/N * y_t/(y_t + 1e-7), backprop uses (y - t)/N, a gap of {bias}. Against the exact gradient "
            f"the numerical one differs by only {exact}: the error of central differences itself.")
        lines.append(f"Backprop took {self.backprop_seconds * 1e3:.2f} ms, the numerical gradient "
                     f"{self.numerical_seconds:.2f} s: {self.speedup:,.0f} times longer.")
        return "\n".join(lines)


def kink_report(net: TwoLayerNet, x: np.ndarray, h: float = H) -> KinkReport:
    """Which hidden units a +-h perturbation of W1 or b1 can push across ReLU's kink at 0."""
    a = np.abs(x @ net.params["W1"] + net.params["b1"])  # (images, hidden)
    closest = a.min(axis=0)
    units = [int(j) for j in np.flatnonzero(closest < h)]
    if net.config["activation"] != "relu":
        units = []  # sigmoid is smooth: no kink to cross
    # W1[i, j] moves a[n, j] by h * x[n, i]; it crosses when |a[n, j]| <= that, for some image n
    w1 = (a[:, None, units] <= h * x[:, :, None]) & (x[:, :, None] > 0)
    b1 = a[:, units] <= h
    return KinkReport(h, units, [float(closest[j]) for j in units],
                      {"W1": int(np.count_nonzero(w1.any(axis=0))), "b1": int(np.count_nonzero(b1.any(axis=0)))},
                      float(closest.min()))


def exact_gradient(net: TwoLayerNet, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
    """The gradient of the loss as computed, 1e-7 included: the backward pass with dx scaled by y_t / (y_t + 1e-7)."""
    net.loss(x, t)
    last = net.lastLayer
    y_t = last.y[np.arange(len(t)), t]
    dout = last.backward(1) * (y_t / (y_t + EPS))[:, None]
    for layer in reversed(net.layers.values()):
        dout = layer.backward(dout)
    a1, a2 = net.layers["Affine1"], net.layers["Affine2"]
    return {"W1": a1.dW, "b1": a1.db, "W2": a2.dW, "b2": a2.db}


def _mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a - b))) if a.size else 0.0


def gradient_check(seed: int = DEFAULT_SEED, hidden_size: int = 50, images: int = 3,
                   weight_init_std: float = 0.01, activation: str = "relu", h: float = H,
                   x: np.ndarray | None = None, t: np.ndarray | None = None) -> GradCheckResult:
    """The book's check on ``images`` training images (or the given x, t), in float64 as the book does."""
    if x is None or t is None:
        from app.data import load_dataset

        ds = load_dataset("mnist")
        x, t = ds.x_train[:images], ds.t_train[:images]
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t).astype(np.intp)
    net = TwoLayerNet(x.shape[1], hidden_size, int(t.max()) + 1 if t.size else 10, weight_init_std,
                      activation=activation, seed=seed)

    start = time.perf_counter()
    numerical = net.numerical_gradient(x, t)
    numerical_seconds = time.perf_counter() - start
    repeats = 20
    start = time.perf_counter()
    for _ in range(repeats):
        backprop = net.gradient(x, t)
    backprop_seconds = (time.perf_counter() - start) / repeats
    exact = exact_gradient(net, x, t)

    kink = kink_report(net, x, h)
    keep = np.setdiff1d(np.arange(hidden_size), kink.units)

    def without(key: str, g: np.ndarray) -> np.ndarray:
        return g[:, keep] if key == "W1" else g[keep] if key == "b1" else g

    diffs = {k: _mean_abs(backprop[k], numerical[k]) for k in PARAM_KEYS}
    clean = {k: _mean_abs(without(k, backprop[k]), without(k, numerical[k])) for k in PARAM_KEYS}
    return GradCheckResult(
        seed=seed, hidden_size=hidden_size, images=len(x), diffs=diffs, diffs_without_kinks=clean,
        eps_bias={k: _mean_abs(backprop[k], exact[k]) for k in PARAM_KEYS},
        diffs_exact={k: _mean_abs(without(k, exact[k]), without(k, numerical[k])) for k in PARAM_KEYS},
        kink=kink, backprop_seconds=backprop_seconds, numerical_seconds=numerical_seconds,
        passed=all(v < 1e-6 for v in clean.values()),
    )
