"""The book's optimizers (chapter 6.1): ``update(params, grads)`` changes the params in place.

In place matters: the net's layers hold its params by reference. The maths is
the book's; the buffers are kept between steps so an update allocates nothing.
"""

from __future__ import annotations

import numpy as np

Params = dict[str, np.ndarray]


class SGD:
    """W <- W - lr * dW."""

    def __init__(self, lr: float = 0.01) -> None:
        self.lr = lr
        self._buf: Params = {}

    def update(self, params: Params, grads: Params) -> None:
        for key, p in params.items():
            buf = self._buf.get(key)
            if buf is None:
                buf = self._buf[key] = np.empty_like(p)
            np.multiply(grads[key], self.lr, out=buf)
            p -= buf


class Momentum:
    """v <- momentum * v - lr * dW; W <- W + v."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        self.lr, self.momentum = lr, momentum
        self.v: Params | None = None
        self._buf: Params = {}

    def update(self, params: Params, grads: Params) -> None:
        if self.v is None:
            self.v = {k: np.zeros_like(p) for k, p in params.items()}
            self._buf = {k: np.empty_like(p) for k, p in params.items()}
        for key, p in params.items():
            v, buf = self.v[key], self._buf[key]
            v *= self.momentum
            np.multiply(grads[key], self.lr, out=buf)
            v -= buf
            p += v


class AdaGrad:
    """h <- h + dW * dW; W <- W - lr * dW / (sqrt(h) + 1e-7)."""

    def __init__(self, lr: float = 0.01) -> None:
        self.lr = lr
        self.h: Params | None = None
        self._buf: Params = {}

    def update(self, params: Params, grads: Params) -> None:
        if self.h is None:
            self.h = {k: np.zeros_like(p) for k, p in params.items()}
            self._buf = {k: np.empty_like(p) for k, p in params.items()}
        for key, p in params.items():
            g, h, buf = grads[key], self.h[key], self._buf[key]
            h += g * g
            np.sqrt(h, out=buf)
            buf += 1e-7
            np.divide(g, buf, out=buf)
            buf *= self.lr
            p -= buf


class Adam:
    """The book's Adam: m, v as running means of dW and dW**2, with the bias correction folded into lr_t."""

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999) -> None:
        self.lr, self.beta1, self.beta2 = lr, beta1, beta2
        self.iter = 0
        self.m: Params | None = None
        self.v: Params | None = None
        self._buf: Params = {}

    def update(self, params: Params, grads: Params) -> None:
        if self.m is None or self.v is None:
            self.m = {k: np.zeros_like(p) for k, p in params.items()}
            self.v = {k: np.zeros_like(p) for k, p in params.items()}
            self._buf = {k: np.empty_like(p) for k, p in params.items()}
        self.iter += 1
        lr_t = self.lr * np.sqrt(1.0 - self.beta2 ** self.iter) / (1.0 - self.beta1 ** self.iter)
        for key, p in params.items():
            g, m, v, buf = grads[key], self.m[key], self.v[key], self._buf[key]
            np.subtract(g, m, out=buf)
            buf *= 1 - self.beta1
            m += buf  # m += (1 - beta1) * (g - m)
            np.multiply(g, g, out=buf)
            buf -= v
            buf *= 1 - self.beta2
            v += buf  # v += (1 - beta2) * (g**2 - v)
            np.sqrt(v, out=buf)
            buf += 1e-7
            np.divide(m, buf, out=buf)
            buf *= lr_t
            p -= buf


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adagrad": AdaGrad, "adam": Adam}


def make_optimizer(name: str, lr: float) -> SGD | Momentum | AdaGrad | Adam:
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")
    return OPTIMIZERS[name](lr=lr)
