"""Matrix products (the book's Affine, section 5.6) and shape-only ops."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import Array, Grads, Op, OpError, Param, register, unbroadcast, wants


def _as_matrices(x: Array, y: Array) -> tuple[Array, Array]:
    """View 1-D operands of dot as a row (left) or a column (right), so one rule covers every case."""
    if x.ndim not in (1, 2) or y.ndim not in (1, 2):
        raise OpError(f"matmul takes 1-D or 2-D inputs, got shapes {list(x.shape)} and {list(y.shape)}")
    x2 = x.reshape(1, -1) if x.ndim == 1 else x
    y2 = y.reshape(-1, 1) if y.ndim == 1 else y
    if x2.shape[1] != y2.shape[0]:
        raise OpError(f"matmul: inner dimensions differ: shapes {list(x.shape)} and {list(y.shape)}")
    return x2, y2


@register
class MatMul(Op):
    name, symbol = "matmul", "dot"
    category = "matrix"
    inputs = ("X", "W")
    grows = True
    forward_text, forward_latex = "Y = X · W  (numpy dot)", r"Y = X \cdot W"
    backward_text = "dX = dY · Wᵀ; dW = Xᵀ · dY"
    backward_latex = r"\frac{\partial L}{\partial X} = \frac{\partial L}{\partial Y} W^{T},\quad \frac{\partial L}{\partial W} = X^{T} \frac{\partial L}{\partial Y}"
    description = "Matrix product (numpy dot for 1-D and 2-D)."

    def out_size(self, *shapes: tuple[int, ...], **params: Any) -> int | None:
        a, b = shapes
        return int(np.prod(a[:-1]) * np.prod(b[1:]))

    def forward(self, ctx: Any, x: Array, w: Array) -> Array:
        ctx.x, ctx.w = x, w
        x2, w2 = _as_matrices(x, w)
        return (x2 @ w2).reshape(x.shape[:-1] + w.shape[1:])

    def backward(self, ctx: Any, dout: Array) -> Grads:
        x2, w2 = _as_matrices(ctx.x, ctx.w)
        d2 = dout.reshape(x2.shape[0], w2.shape[1])
        dx = (d2 @ w2.T).reshape(ctx.x.shape) if wants(ctx, 0) else None
        dw = (x2.T @ d2).reshape(ctx.w.shape) if wants(ctx, 1) else None
        return dx, dw


@register
class Affine(Op):
    name, symbol = "affine", "Affine"
    category = "matrix"
    inputs = ("x", "W", "b")
    grows = True
    forward_text, forward_latex = "Y = X · W + B  (x flattened to (N, -1))", r"Y = X \cdot W + B"
    backward_text = "dX = dY · Wᵀ; dW = Xᵀ · dY; dB = sum(dY, axis=0)"
    backward_latex = r"\frac{\partial L}{\partial X} = \frac{\partial L}{\partial Y} W^{T},\ \frac{\partial L}{\partial W} = X^{T}\frac{\partial L}{\partial Y},\ \frac{\partial L}{\partial B} = \sum_n \frac{\partial L}{\partial Y_n}"
    description = "The book's Affine layer: a batch of N rows times W, plus the bias b on every row."

    def out_size(self, *shapes: tuple[int, ...], **params: Any) -> int | None:
        x, w, _ = shapes
        return int((x[0] if len(x) > 1 else 1) * (w[1] if len(w) == 2 else 1))

    def forward(self, ctx: Any, x: Array, w: Array, b: Array) -> Array:
        if w.ndim != 2:
            raise OpError(f"affine: W must be 2-D, got shape {list(w.shape)}")
        # Explicit sizes, not -1: numpy cannot infer -1 for an empty batch (N = 0).
        x2 = x.reshape(1, x.size) if x.ndim <= 1 else x.reshape(x.shape[0], math.prod(x.shape[1:]))
        if x2.shape[1] != w.shape[0]:
            raise OpError(f"affine: x has {x2.shape[1]} features per row but W has {w.shape[0]} rows (shapes {list(x.shape)} and {list(w.shape)})")
        if b.shape not in ((w.shape[1],), (), (1,)):
            raise OpError(f"affine: b must have shape [{w.shape[1]}], got {list(b.shape)}")
        ctx.x_shape, ctx.x2, ctx.w, ctx.b_shape = x.shape, x2, w, b.shape
        out = x2 @ w + b
        return out[0] if x.ndim <= 1 else out

    def backward(self, ctx: Any, dout: Array) -> Grads:
        d2 = dout.reshape(ctx.x2.shape[0], ctx.w.shape[1])
        dx = (d2 @ ctx.w.T).reshape(ctx.x_shape) if wants(ctx, 0) else None
        dw = ctx.x2.T @ d2 if wants(ctx, 1) else None
        db = unbroadcast(np.sum(d2, axis=0), ctx.b_shape) if wants(ctx, 2) else None
        return dx, dw, db


def _check_axis(axis: int | None, ndim: int) -> None:
    if axis is not None and not -max(ndim, 1) <= axis < max(ndim, 1):
        raise OpError(f"axis {axis} is out of range for a tensor of rank {ndim}", field="params.axis")


class Reduce(Op):
    params = {
        "axis": Param("axis", None, "null for all elements, or one axis"),
        "keepdims": Param("bool", False, "keep the reduced axis with length 1"),
    }
    category = "reduction"

    def forward(self, ctx: Any, x: Array) -> Array:
        axis, keep = ctx.params.get("axis"), ctx.params.get("keepdims", False)
        _check_axis(axis, x.ndim)
        ctx.x_shape = x.shape
        ctx.count = x.size if axis is None else (x.shape[axis] if x.ndim else 1)
        out = np.sum(x, axis=axis if x.ndim else None, keepdims=keep)
        return out / ctx.count if self.name == "mean" else out

    def backward(self, ctx: Any, dout: Array) -> Grads:
        axis, keep = ctx.params.get("axis"), ctx.params.get("keepdims", False)
        if axis is not None and not keep and len(ctx.x_shape):
            dout = np.expand_dims(dout, axis)
        grad = np.broadcast_to(dout, ctx.x_shape).copy()
        return (grad / ctx.count if self.name == "mean" else grad,)


@register
class Sum(Reduce):
    name, symbol = "sum", "Σ"
    forward_text, forward_latex = "y = sum(x, axis)", r"y = \sum_i x_i"
    backward_text, backward_latex = "dx = dout copied to every summed element", r"\frac{\partial L}{\partial x_i} = \frac{\partial L}{\partial y}"
    description = "Sum over all elements or one axis: backward copies the gradient back to each."


@register
class Mean(Reduce):
    name, symbol = "mean", "mean"
    forward_text, forward_latex = "y = mean(x, axis)", r"y = \frac{1}{n}\sum_i x_i"
    backward_text, backward_latex = "dx = dout / n for every element", r"\frac{\partial L}{\partial x_i} = \frac{1}{n}\frac{\partial L}{\partial y}"
    description = "Mean over all elements or one axis."


@register
class Transpose(Op):
    name, symbol = "transpose", "ᵀ"
    category = "shape"
    params = {"axes": Param("axes", None, "a permutation of the axes; null reverses them")}
    forward_text, forward_latex = "y = xᵀ", "y = x^{T}"
    backward_text, backward_latex = "dx = doutᵀ (the inverse permutation)", r"\frac{\partial L}{\partial x} = \Big(\frac{\partial L}{\partial y}\Big)^{T}"
    description = "Transpose (reverse the axes, or permute them by params.axes)."

    def forward(self, ctx: Any, x: Array) -> Array:
        axes = ctx.params.get("axes")
        # In range first: a % ndim would fold an out-of-range 5 onto a real axis, and numpy then raises.
        if axes is not None and (any(not -x.ndim <= a < x.ndim for a in axes)
                                 or sorted(a % x.ndim for a in axes) != list(range(x.ndim))):
            raise OpError(f"axes {axes} are not a permutation of the {x.ndim} axes of shape {list(x.shape)}", field="params.axes")
        ctx.axes = axes
        return np.transpose(x, axes)

    def backward(self, ctx: Any, dout: Array) -> Grads:
        inverse = None if ctx.axes is None else np.argsort([a % dout.ndim for a in ctx.axes])
        return (np.transpose(dout, inverse),)


@register
class Reshape(Op):
    name, symbol = "reshape", "reshape"
    category = "shape"
    params = {"shape": Param("shape", None, "the new shape; one entry may be -1")}
    forward_text, forward_latex = "y = reshape(x, shape)", r"y = \operatorname{reshape}(x)"
    backward_text, backward_latex = "dx = reshape(dout, shape of x)", r"\frac{\partial L}{\partial x} = \operatorname{reshape}\Big(\frac{\partial L}{\partial y}\Big)"
    description = "Same elements, another shape (params.shape)."

    def forward(self, ctx: Any, x: Array) -> Array:
        shape = ctx.params.get("shape")
        if shape is None:
            raise OpError("reshape needs params.shape", field="params.shape")
        ctx.x_shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise OpError(f"cannot reshape {x.size} elements of shape {list(x.shape)} into {shape}", field="params.shape") from None

    def backward(self, ctx: Any, dout: Array) -> Grads:
        return (dout.reshape(ctx.x_shape),)
