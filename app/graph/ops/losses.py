"""Loss nodes: the book's cross_entropy_error, Softmax-with-Loss (5.6.3) and sum of squares."""

from __future__ import annotations

from typing import Any

import numpy as np

from .activations import softmax
from .base import Array, Grads, Op, OpError, register

EPS = 1e-7  # the book's guard against log(0)


def as_targets(t: Array, y: Array) -> tuple[Array, bool]:
    """Targets as a 2-D batch: one-hot/probability rows, or integer labels (flagged True)."""
    if y.ndim not in (1, 2):
        raise OpError(f"scores must be 1-D (one sample) or 2-D (a batch), got shape {list(y.shape)}")
    batch = y.reshape(1, -1) if y.ndim == 1 else y
    is_labels = t.ndim == y.ndim - 1 or (y.ndim == 1 and t.shape == (1,) and y.shape != (1,))
    if is_labels:
        labels = t.reshape(-1)
        whole = labels.dtype.kind in "iu" or bool(np.all(np.mod(labels, 1) == 0))
        if not whole or np.any(labels < 0) or np.any(labels >= batch.shape[1]):
            raise OpError(f"integer labels must be whole numbers in 0..{batch.shape[1] - 1}, got {labels.tolist()[:10]}")
        if labels.size != batch.shape[0]:
            raise OpError(f"{labels.size} labels for a batch of {batch.shape[0]} rows")
        return labels.astype(np.intp), True
    if t.shape != y.shape:
        raise OpError(f"t must be one-hot of shape {list(y.shape)} or integer labels of shape {list(y.shape[:-1])}, got {list(t.shape)}")
    return t.reshape(batch.shape), False


def one_hot(labels: Array, width: int, dtype: Any) -> Array:
    out = np.zeros((labels.size, width), dtype=dtype)
    out[np.arange(labels.size), labels] = 1
    return out


@register
class CrossEntropy(Op):
    name, symbol = "cross_entropy", "CE"
    category = "loss"
    inputs = ("y", "t")
    forward_text = "L = -sum(t * log(y + 1e-7)) / N"
    forward_latex = r"L = -\frac{1}{N}\sum_n \sum_k t_{nk} \log (y_{nk} + 10^{-7})"
    backward_text = "dy = -t / (y + 1e-7) / N"
    backward_latex = r"\frac{\partial L}{\partial y_{nk}} = -\frac{1}{N}\,\frac{t_{nk}}{y_{nk} + 10^{-7}}"
    description = "The book's cross_entropy_error: batch mean, with 1e-7 inside the log."

    def forward(self, ctx: Any, y: Array, t: Array) -> Array:
        tt, ctx.labels = as_targets(t, y)
        y2 = y.reshape(1, y.size) if y.ndim == 1 else y  # a batch (of one); -1 cannot size an empty one
        ctx.y, ctx.t, ctx.y_shape, ctx.t_shape = y2, tt, y.shape, t.shape
        n = y2.shape[0]
        if ctx.labels:
            return -np.sum(np.log(y2[np.arange(n), tt] + EPS)) / n
        return -np.sum(tt * np.log(y2 + EPS)) / n

    def backward(self, ctx: Any, dout: Array) -> Grads:
        n = ctx.y.shape[0]
        t = one_hot(ctx.t, ctx.y.shape[1], ctx.y.dtype) if ctx.labels else ctx.t
        dy = (-dout / n) * t / (ctx.y + EPS)
        dt = None if ctx.labels else ((-dout / n) * np.log(ctx.y + EPS)).reshape(ctx.t_shape)
        return dy.reshape(ctx.y_shape), dt


@register
class SoftmaxWithLoss(Op):
    name, symbol = "softmax_with_loss", "Softmax-with-Loss"
    category = "loss"
    inputs = ("x", "t")
    forward_text = "y = softmax(x); L = cross_entropy(y, t)"
    forward_latex = r"y = \operatorname{softmax}(x),\quad L = -\frac{1}{N}\sum_n\sum_k t_{nk}\log(y_{nk} + 10^{-7})"
    backward_text = "dx = (y - t) / N"
    backward_latex = r"\frac{\partial L}{\partial x} = \frac{y - t}{N}"
    description = "Softmax and cross-entropy as one node: its gradient is the tidy (y - t) / N."

    def forward(self, ctx: Any, x: Array, t: Array) -> Array:
        tt, ctx.labels = as_targets(t, x)
        x2 = x.reshape(1, x.size) if x.ndim == 1 else x  # a batch (of one); -1 cannot size an empty one
        ctx.y, ctx.t, ctx.x_shape, ctx.t_shape = softmax(x2), tt, x.shape, t.shape
        n = x2.shape[0]
        if ctx.labels:
            return -np.sum(np.log(ctx.y[np.arange(n), tt] + EPS)) / n
        return -np.sum(tt * np.log(ctx.y + EPS)) / n

    def backward(self, ctx: Any, dout: Array) -> Grads:
        n = ctx.y.shape[0]
        if ctx.labels:
            dx = ctx.y.copy()
            dx[np.arange(n), ctx.t] -= 1
        else:
            dx = ctx.y - ctx.t
        dx *= dout / n
        dt = None if ctx.labels else ((-dout / n) * np.log(ctx.y + EPS)).reshape(ctx.t_shape)
        return dx.reshape(ctx.x_shape), dt


@register
class SumSquaredError(Op):
    name, symbol = "sum_squared_error", "SSE"
    category = "loss"
    inputs = ("y", "t")
    forward_text, forward_latex = "L = 0.5 * sum((y - t)^2)", r"L = \frac{1}{2}\sum_k (y_k - t_k)^2"
    backward_text, backward_latex = "dy = dout * (y - t); dt = -dout * (y - t)", r"\frac{\partial L}{\partial y} = y - t"
    description = "The book's sum_squared_error, for regression."

    def forward(self, ctx: Any, y: Array, t: Array) -> Array:
        if y.shape != t.shape:
            raise OpError(f"y and t must have the same shape, got {list(y.shape)} and {list(t.shape)}")
        ctx.diff = y - t
        return 0.5 * np.sum(ctx.diff * ctx.diff)

    def backward(self, ctx: Any, dout: Array) -> Grads:
        return dout * ctx.diff, -dout * ctx.diff
