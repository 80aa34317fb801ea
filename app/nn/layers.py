"""The book's layer classes (section 5.4-5.6), each a thin shell around one registry op.

A layer instance *is* the op's ``ctx``: ``REGISTRY["mul"].forward(self, x, y)``
leaves ``self.x`` and ``self.y`` behind exactly as the book's ``MulLayer`` does,
and ``backward`` reads them back. So the maths lives once, in ``app.graph.ops``,
and the engine that evaluates a user's graph and the two-layer net share it.

Unlike the seed code: ``Relu.forward`` returns its result, ``Affine`` has a real
``__init__``, and no backward ever writes into the caller's ``dout``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from app.graph.ops import REGISTRY

_NO_PARAMS: Mapping[str, Any] = MappingProxyType({})


def _arr(v: Any) -> np.ndarray:
    """Python numbers become 0-d arrays (the ops read ``.shape``); arrays pass through untouched."""
    return v if isinstance(v, np.ndarray) else np.asarray(v, dtype=np.float64)


class Layer:
    """What every op expects of its ctx: ``params`` for its options, ``needs`` for which grads to make."""

    op_name: str = ""
    params: Mapping[str, Any] = _NO_PARAMS
    needs: tuple[bool, ...] | None = None

    @property
    def op(self) -> Any:
        return REGISTRY[self.op_name]


class MulLayer(Layer):
    op_name = "mul"

    def forward(self, x: Any, y: Any) -> Any:
        return self.op.forward(self, _arr(x), _arr(y))

    def backward(self, dout: Any) -> tuple[Any, Any]:
        dx, dy = self.op.backward(self, _arr(dout))
        return dx, dy


class AddLayer(Layer):
    op_name = "add"

    def forward(self, x: Any, y: Any) -> Any:
        return self.op.forward(self, _arr(x), _arr(y))

    def backward(self, dout: Any) -> tuple[Any, Any]:
        dx, dy = self.op.backward(self, _arr(dout))
        return dx, dy


class Relu(Layer):
    """``self.mask`` is the book's ``x <= 0``: where the gradient is blocked."""

    op_name = "relu"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.op.forward(self, _arr(x))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return self.op.backward(self, _arr(dout))[0]


class Sigmoid(Layer):
    """``self.out`` is y, all its backward needs: dx = dout * y * (1 - y)."""

    op_name = "sigmoid"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.op.forward(self, _arr(x))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return self.op.backward(self, _arr(dout))[0]


class Affine(Layer):
    """Y = X . W + b for a batch of rows; backward keeps ``dW`` and ``db`` and returns dX.

    ``input_grad=False`` skips dX (``backward`` returns None): the first layer of a
    net has nothing upstream to hand it to, and dX costs as much as dW.
    ``W`` and ``b`` are held by reference, so updating the net's params in place
    updates the layer, as in the book.
    """

    op_name = "affine"

    def __init__(self, W: np.ndarray, b: np.ndarray, input_grad: bool = True) -> None:
        self.W, self.b = W, b
        self.x: np.ndarray | None = None
        self.dW: np.ndarray | None = None
        self.db: np.ndarray | None = None
        self.needs = None if input_grad else (False, True, True)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return self.op.forward(self, x, self.W, self.b)

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        dx, self.dW, self.db = self.op.backward(self, dout)
        return dx


class SoftmaxWithLoss(Layer):
    """Softmax and the cross-entropy error in one layer; ``t`` is one-hot or integer labels."""

    op_name = "softmax_with_loss"

    def __init__(self) -> None:
        self.loss: Any = None
        self.y: np.ndarray | None = None  # softmax output
        self.t: np.ndarray | None = None  # labels (as integers) or one-hot rows

    def forward(self, x: np.ndarray, t: np.ndarray) -> Any:
        self.loss = self.op.forward(self, x, _arr(t) if not isinstance(t, np.ndarray) else t)
        return self.loss

    def backward(self, dout: Any = 1) -> np.ndarray:
        return self.op.backward(self, dout)[0]
