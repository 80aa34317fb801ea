"""Leaves and the arithmetic nodes of the book's section 5.3: add, multiply and friends."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import Array, Grads, Op, OpError, Param, register, unbroadcast


class Leaf(Op):
    inputs = ()
    category = "leaf"
    leaf = True

    def forward(self, ctx: Any) -> Array:
        return ctx.value

    def backward(self, ctx: Any, dout: Array) -> Grads:
        return ()


@register
class Input(Leaf):
    name, symbol = "input", "x"
    forward_text = forward_latex = "x"
    backward_text = "the gradient arriving here is dL/dx"
    backward_latex = r"\frac{\partial L}{\partial x}"
    description = "A value you set; backprop ends here with dL/dx."


@register
class Const(Leaf):
    name, symbol = "const", "c"
    forward_text = forward_latex = "c"
    backward_text = "a constant: its gradient is shown but never checked"
    backward_latex = r"\frac{\partial L}{\partial c}"
    description = "A fixed number, such as the book's x1.1 tax rate drawn inside a node."


class Binary(Op):
    """Elementwise with numpy broadcasting; each gradient is summed back to its input's shape."""

    inputs = ("x", "y")
    grows = True

    def out_size(self, *shapes: tuple[int, ...], **params: Any) -> int | None:
        if shapes[0] == shapes[1]:
            return None  # same shape: the result is no larger than an input
        try:
            return math.prod(np.broadcast_shapes(*shapes))
        except ValueError:
            raise OpError(f"shapes {list(shapes[0])} and {list(shapes[1])} cannot be broadcast together") from None

    def forward(self, ctx: Any, x: Array, y: Array) -> Array:
        ctx.x, ctx.y = x, y
        return self.fn(x, y)

    def backward(self, ctx: Any, dout: Array) -> Grads:
        dx, dy = self.grads(ctx.x, ctx.y, dout)
        return unbroadcast(dx, ctx.x.shape), unbroadcast(dy, ctx.y.shape)

    def fn(self, x: Array, y: Array) -> Array:
        raise NotImplementedError

    def grads(self, x: Array, y: Array, dout: Array) -> tuple[Array, Array]:
        raise NotImplementedError


@register
class Add(Binary):
    name, symbol = "add", "+"
    forward_text, forward_latex = "z = x + y", "z = x + y"
    backward_text = "dx = dout * 1; dy = dout * 1 (passed on unchanged)"
    backward_latex = r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial z}\cdot 1,\quad \frac{\partial L}{\partial y} = \frac{\partial L}{\partial z}\cdot 1"
    description = "Addition: backward hands the upstream gradient to both inputs unchanged."

    def fn(self, x: Array, y: Array) -> Array:
        return x + y

    def grads(self, x: Array, y: Array, dout: Array) -> tuple[Array, Array]:
        return dout, dout


@register
class Sub(Binary):
    name, symbol = "sub", "−"
    forward_text, forward_latex = "z = x - y", "z = x - y"
    backward_text = "dx = dout; dy = -dout"
    backward_latex = r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial z},\quad \frac{\partial L}{\partial y} = -\frac{\partial L}{\partial z}"
    description = "Subtraction: the second input receives the negated gradient."

    def fn(self, x: Array, y: Array) -> Array:
        return x - y

    def grads(self, x: Array, y: Array, dout: Array) -> tuple[Array, Array]:
        return dout, -dout


@register
class Mul(Binary):
    name, symbol = "mul", "×"
    forward_text, forward_latex = "z = x * y", r"z = x \cdot y"
    backward_text = "dx = dout * y; dy = dout * x (the inputs swapped)"
    backward_latex = r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial z}\, y,\quad \frac{\partial L}{\partial y} = \frac{\partial L}{\partial z}\, x"
    description = "Multiplication: each input's gradient is the upstream one times the other input."

    def fn(self, x: Array, y: Array) -> Array:
        return x * y

    def grads(self, x: Array, y: Array, dout: Array) -> tuple[Array, Array]:
        return dout * y, dout * x


@register
class Div(Binary):
    name, symbol = "div", "÷"
    forward_text, forward_latex = "z = x / y", r"z = \frac{x}{y}"
    backward_text = "dx = dout / y; dy = -dout * x / y^2"
    backward_latex = r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial z}\,\frac{1}{y},\quad \frac{\partial L}{\partial y} = -\frac{\partial L}{\partial z}\,\frac{x}{y^2}"
    description = "Division."

    def fn(self, x: Array, y: Array) -> Array:
        return x / y

    def grads(self, x: Array, y: Array, dout: Array) -> tuple[Array, Array]:
        return dout / y, -dout * x / (y * y)


class Unary(Op):
    """Elementwise on one input; ``local`` is dz/dx from the saved input and output."""

    def forward(self, ctx: Any, x: Array) -> Array:
        ctx.x = x
        ctx.out = self.fn(x, **ctx.params)
        return ctx.out

    def backward(self, ctx: Any, dout: Array) -> Grads:
        return (dout * self.local(ctx.x, ctx.out, **ctx.params),)

    def fn(self, x: Array, **params: Any) -> Array:
        raise NotImplementedError

    def local(self, x: Array, out: Array, **params: Any) -> Array:
        raise NotImplementedError


@register
class Neg(Unary):
    name, symbol = "neg", "−x"
    forward_text, forward_latex = "z = -x", "z = -x"
    backward_text, backward_latex = "dx = -dout", r"\frac{\partial L}{\partial x} = -\frac{\partial L}{\partial z}"
    description = "Negation (the book's x(-1) node)."

    def fn(self, x: Array) -> Array:
        return -x

    def local(self, x: Array, out: Array) -> Array:
        return np.full_like(x, -1.0)


@register
class Exp(Unary):
    name, symbol = "exp", "exp"
    forward_text, forward_latex = "z = exp(x)", "z = e^{x}"
    backward_text, backward_latex = "dx = dout * exp(x)", r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial z}\, e^{x}"
    description = "Exponential: its own derivative."

    def fn(self, x: Array) -> Array:
        return np.exp(x)

    def local(self, x: Array, out: Array) -> Array:
        return out


@register
class Log(Unary):
    name, symbol = "log", "log"
    forward_text, forward_latex = "z = log(x)", r"z = \ln x"
    backward_text, backward_latex = "dx = dout / x", r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial z}\,\frac{1}{x}"
    description = "Natural logarithm."

    def fn(self, x: Array) -> Array:
        return np.log(x)

    def local(self, x: Array, out: Array) -> Array:
        return 1.0 / x


@register
class Pow(Unary):
    name, symbol = "pow", "xⁿ"
    params = {"exponent": Param("number", 2.0, "the power n")}
    forward_text, forward_latex = "z = x ** n", "z = x^{n}"
    backward_text, backward_latex = "dx = dout * n * x ** (n - 1)", r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial z}\, n x^{n-1}"
    description = "Power with a fixed exponent (params.exponent)."

    def fn(self, x: Array, exponent: float = 2.0) -> Array:
        return np.power(x, exponent)

    def local(self, x: Array, out: Array, exponent: float = 2.0) -> Array:
        return exponent * np.power(x, exponent - 1)


@register
class Reciprocal(Unary):
    name, symbol = "reciprocal", "/"
    forward_text, forward_latex = "z = 1 / x", r"z = \frac{1}{x}"
    backward_text, backward_latex = "dx = -dout * z^2", r"\frac{\partial L}{\partial x} = -\frac{\partial L}{\partial z}\, z^{2}"
    description = "The book's '/' node in the sigmoid graph: 1/x, whose derivative is -1/x² = -z²."

    def fn(self, x: Array) -> Array:
        return 1.0 / x

    def local(self, x: Array, out: Array) -> Array:
        return -(out * out)


@register
class Square(Unary):
    name, symbol = "square", "**2"
    forward_text, forward_latex = "z = x ** 2", "z = x^{2}"
    backward_text, backward_latex = "dx = dout * 2x", r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial z}\, 2x"
    description = "Square, as in the chain-rule example z = t², t = x + y."

    def fn(self, x: Array) -> Array:
        return x * x

    def local(self, x: Array, out: Array) -> Array:
        return 2.0 * x


@register
class Sqrt(Unary):
    name, symbol = "sqrt", "√"
    forward_text, forward_latex = "z = sqrt(x)", r"z = \sqrt{x}"
    backward_text, backward_latex = "dx = dout / (2 sqrt(x))", r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial z}\,\frac{1}{2\sqrt{x}}"
    description = "Square root."

    def fn(self, x: Array) -> Array:
        return np.sqrt(x)

    def local(self, x: Array, out: Array) -> Array:
        return 0.5 / out
