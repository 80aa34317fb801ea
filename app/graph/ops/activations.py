"""Activation layers of the book's section 5.5, and softmax."""

from __future__ import annotations

from typing import Any

import numpy as np

from .arithmetic import Unary
from .base import Array, Grads, Op, register


@register
class Sigmoid(Unary):
    name, symbol = "sigmoid", "σ"
    category = "activation"
    forward_text, forward_latex = "y = 1 / (1 + exp(-x))", r"y = \frac{1}{1 + e^{-x}}"
    backward_text = "dx = dout * y * (1 - y)"
    backward_latex = r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial y}\, y (1 - y)"
    description = "Sigmoid as one node: its backward needs only the output y."

    def fn(self, x: Array) -> Array:
        # Split by sign so exp never overflows: the same value, stable for large |x|.
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

    def local(self, x: Array, out: Array) -> Array:
        return out * (1.0 - out)


@register
class Relu(Op):
    name, symbol = "relu", "ReLU"
    category = "activation"
    forward_text, forward_latex = "y = max(0, x)", r"y = \max(0, x)"
    backward_text = "dx = dout where x > 0, else 0 (the mask x <= 0 blocks it)"
    backward_latex = r"\frac{\partial L}{\partial x} = \begin{cases} \frac{\partial L}{\partial y} & x > 0 \\ 0 & x \le 0 \end{cases}"
    description = "ReLU: a switch that passes the gradient where the input was positive."

    def forward(self, ctx: Any, x: Array) -> Array:
        ctx.mask = x <= 0
        return np.where(ctx.mask, np.zeros((), x.dtype), x)

    def backward(self, ctx: Any, dout: Array) -> Grads:
        # A new array: the caller's dout is never changed in place.
        return (np.where(ctx.mask, np.zeros((), dout.dtype), dout),)


@register
class Tanh(Unary):
    name, symbol = "tanh", "tanh"
    category = "activation"
    forward_text, forward_latex = "y = tanh(x)", r"y = \tanh x"
    backward_text, backward_latex = "dx = dout * (1 - y^2)", r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial y}(1 - y^{2})"
    description = "Hyperbolic tangent."

    def fn(self, x: Array) -> Array:
        return np.tanh(x)

    def local(self, x: Array, out: Array) -> Array:
        return 1.0 - out * out


def softmax(x: Array) -> Array:
    """Softmax over the last axis, shifted by the max so exp cannot overflow (an empty tensor stays empty)."""
    e = np.exp(x - np.max(x, axis=-1, keepdims=True, initial=-np.inf))
    return e / np.sum(e, axis=-1, keepdims=True)


@register
class Softmax(Op):
    name, symbol = "softmax", "Softmax"
    category = "activation"
    forward_text, forward_latex = "y_k = exp(x_k) / sum_i exp(x_i)  (last axis)", r"y_k = \frac{e^{x_k}}{\sum_i e^{x_i}}"
    backward_text = "dx = y * (dout - sum(dout * y))"
    backward_latex = r"\frac{\partial L}{\partial x_k} = y_k\Big(\frac{\partial L}{\partial y_k} - \sum_i \frac{\partial L}{\partial y_i} y_i\Big)"
    description = "Softmax over the last axis: turns scores into probabilities that sum to 1."

    def forward(self, ctx: Any, x: Array) -> Array:
        ctx.y = softmax(x)
        return ctx.y

    def backward(self, ctx: Any, dout: Array) -> Grads:
        y = ctx.y
        return (y * (dout - np.sum(dout * y, axis=-1, keepdims=True)),)
