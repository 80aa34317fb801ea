"""The op protocol and the one registry every op name is looked up in.

An op keeps what its backward needs on a ``ctx`` object, the way the book's
layers keep ``self.x``: a layer of ``app.nn.layers`` *is* such a ctx, so the
engine and the book's classes run the same maths.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np

Array = np.ndarray
Grads = tuple[Array | None, ...]


class OpError(ValueError):
    """An op was given inputs or params it cannot work with."""

    def __init__(self, message: str, field: str = "inputs") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Param:
    kind: str  # number | int | axis | bool | shape | axes
    default: Any = None
    description: str = ""
    minimum: float | None = None

    def spec(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind, "default": self.default, "description": self.description}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        return out


class Op:
    """One operation: forward and backward side by side, plus its help text."""

    name: ClassVar[str]
    symbol: ClassVar[str]
    inputs: ClassVar[tuple[str, ...]] = ("x",)
    params: ClassVar[dict[str, Param]] = {}
    forward_text: ClassVar[str] = ""
    forward_latex: ClassVar[str] = ""
    backward_text: ClassVar[str] = ""
    backward_latex: ClassVar[str] = ""
    description: ClassVar[str] = ""
    category: ClassVar[str] = "arithmetic"
    leaf: ClassVar[bool] = False  # input/const: the value comes from the graph, not from inputs
    grows: ClassVar[bool] = False  # the result can hold more elements than any input (checked first)

    @property
    def arity(self) -> int:
        return len(self.inputs)

    def forward(self, ctx: Any, *xs: Array) -> Array:
        raise NotImplementedError

    def backward(self, ctx: Any, dout: Array) -> Grads:
        raise NotImplementedError

    def out_size(self, *shapes: tuple[int, ...], **params: Any) -> int | None:
        """Size of the result, when it can exceed every input's (checked before computing)."""
        return None

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "symbol": self.symbol,
            "arity": self.arity,
            "inputs": list(self.inputs),
            "params": {k: p.spec() for k, p in self.params.items()},
            "forward": self.forward_text,
            "forward_latex": self.forward_latex,
            "backward": self.backward_text,
            "backward_latex": self.backward_latex,
            "description": self.description,
            "category": self.category,
        }


REGISTRY: dict[str, Op] = {}


def register(cls: type[Op]) -> type[Op]:
    REGISTRY[cls.name] = cls()
    return cls


def new_ctx(params: dict[str, Any] | None = None, needs: tuple[bool, ...] | None = None) -> SimpleNamespace:
    """A fresh place for one op application to keep what its backward needs."""
    return SimpleNamespace(params=params or {}, needs=needs)


def wants(ctx: Any, slot: int) -> bool:
    """Whether the caller asked for this input's gradient (all, by default)."""
    needs = getattr(ctx, "needs", None)
    return needs is None or needs[slot]


def unbroadcast(grad: Array, shape: tuple[int, ...]) -> Array:
    """Sum a broadcast gradient back to an input's shape (the book's db = sum(dY, axis=0))."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1)
    return np.sum(grad, axis=axes, keepdims=True).reshape(shape) if axes else grad.reshape(shape)
