"""The book's experiment (section 5.7.4) twice in one process: our trainer, then the book's own loop.

    python benchmarks/train_mnist.py [--iterations 10000] [--runs 1] [--json]

The book's loop is re-implemented faithfully from the chapter's code: float64
weights (the float32 images get upcast in every product), one-hot labels,
``np.random.choice`` batches drawn with replacement, the book's own layer
classes, and a second loss pass after every update to record the loss. Its two
bugs are fixed (``Affine2`` gets ``b2``; the update uses ``grad[key]``) or it
would not learn. Both do 17 accuracy evaluations over all 60,000 + 10,000
images; the times cover the loop, evaluations included, not data loading.
Each run prints both times, both accuracies and the ratio.

Our trainer limits BLAS to one thread while it runs (``train(blas_threads=1)``);
the book's loop runs with BLAS's default (all cores) unless ``--book-blas-threads``
says otherwise. Under any other load, multi-threaded OpenBLAS on these 2-core
machines slows down 5-20x, so run this on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.data import load_mnist  # noqa: E402
from app.training.loop import blas_limit, train  # noqa: E402


# --- the book's code (common/functions.py, common/layers.py, two_layer_net.py), bugs fixed ---------------

def softmax(x):  # noqa: ANN001, ANN201
    if x.ndim == 2:
        x = x.T
        x = x - np.max(x, axis=0)
        y = np.exp(x) / np.sum(np.exp(x), axis=0)
        return y.T
    x = x - np.max(x)
    return np.exp(x) / np.sum(np.exp(x))


def cross_entropy_error(y, t):  # noqa: ANN001, ANN201
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    if t.size == y.size:
        t = t.argmax(axis=1)
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


class Relu:
    def __init__(self) -> None:
        self.mask = None

    def forward(self, x):  # noqa: ANN001, ANN201
        self.mask = (x <= 0)
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):  # noqa: ANN001, ANN201
        dout[self.mask] = 0
        return dout


class Affine:
    def __init__(self, W, b) -> None:  # noqa: ANN001
        self.W, self.b = W, b
        self.x = self.original_x_shape = self.dW = self.db = None

    def forward(self, x):  # noqa: ANN001, ANN201
        self.original_x_shape = x.shape
        x = x.reshape(x.shape[0], -1)
        self.x = x
        return np.dot(self.x, self.W) + self.b

    def backward(self, dout):  # noqa: ANN001, ANN201
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return dx.reshape(*self.original_x_shape)


class SoftmaxWithLoss:
    def __init__(self) -> None:
        self.loss = self.y = self.t = None

    def forward(self, x, t):  # noqa: ANN001, ANN201
        self.t = t
        self.y = softmax(x)
        self.loss = cross_entropy_error(self.y, self.t)
        return self.loss

    def backward(self, dout=1):  # noqa: ANN001, ANN201
        batch_size = self.t.shape[0]
        if self.t.size == self.y.size:
            return (self.y - self.t) / batch_size
        dx = self.y.copy()
        dx[np.arange(batch_size), self.t] -= 1
        return dx / batch_size


class BookTwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01) -> None:  # noqa: ANN001
        self.params = {
            "W1": weight_init_std * np.random.randn(input_size, hidden_size),
            "b1": np.zeros(hidden_size),
            "W2": weight_init_std * np.random.randn(hidden_size, output_size),
            "b2": np.zeros(output_size),
        }
        self.layers = OrderedDict()
        self.layers["Affine1"] = Affine(self.params["W1"], self.params["b1"])
        self.layers["Relu1"] = Relu()
        self.layers["Affine2"] = Affine(self.params["W2"], self.params["b2"])  # the seed code passed b1
        self.lastLayer = SoftmaxWithLoss()

    def predict(self, x):  # noqa: ANN001, ANN201
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def loss(self, x, t):  # noqa: ANN001, ANN201
        return self.lastLayer.forward(self.predict(x), t)

    def accuracy(self, x, t):  # noqa: ANN001, ANN201
        y = np.argmax(self.predict(x), axis=1)
        if t.ndim != 1:
            t = np.argmax(t, axis=1)
        return np.sum(y == t) / float(x.shape[0])

    def gradient(self, x, t):  # noqa: ANN001, ANN201
        self.loss(x, t)
        dout = self.lastLayer.backward(1)
        for layer in reversed(list(self.layers.values())):
            dout = layer.backward(dout)
        return {"W1": self.layers["Affine1"].dW, "b1": self.layers["Affine1"].db,
                "W2": self.layers["Affine2"].dW, "b2": self.layers["Affine2"].db}


def book_loop(iters_num: int, seed: int) -> dict:
    """train_neuralnet.py, as printed in the chapter (with grad[key])."""
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)
    x_train, t_train, x_test, t_test = (np.array(a) for a in (x_train, t_train, x_test, t_test))
    np.random.seed(seed)
    start = time.perf_counter()
    network = BookTwoLayerNet(input_size=784, hidden_size=50, output_size=10)
    train_size, batch_size, learning_rate = x_train.shape[0], 100, 0.1
    train_loss_list, train_acc_list, test_acc_list = [], [], []
    iter_per_epoch = max(train_size / batch_size, 1)
    for i in range(iters_num):
        batch_mask = np.random.choice(train_size, batch_size)
        x_batch, t_batch = x_train[batch_mask], t_train[batch_mask]
        grad = network.gradient(x_batch, t_batch)
        for key in ("W1", "b1", "W2", "b2"):
            network.params[key] -= learning_rate * grad[key]
        train_loss_list.append(network.loss(x_batch, t_batch))
        if i % iter_per_epoch == 0:
            train_acc_list.append(network.accuracy(x_train, t_train))
            test_acc_list.append(network.accuracy(x_test, t_test))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "train_acc": float(train_acc_list[-1]), "test_acc": float(test_acc_list[-1]),
            "evaluations": len(test_acc_list)}


def our_loop(iters_num: int, seed: int) -> dict:
    result = train({"iterations": iters_num, "seed": seed})
    return {"seconds": result.seconds, "train_acc": result.final_train_acc, "test_acc": result.final_test_acc,
            "evaluations": len(result.evals)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iterations", type=int, default=10_000)
    p.add_argument("--runs", type=int, default=1, help="repeat the pair this many times")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.add_argument("--book-blas-threads", type=int, default=None, help="BLAS threads for the book's loop (default: all)")
    args = p.parse_args(argv)
    load_mnist()  # decode/cache once, outside both timings
    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS")}
    env["book_blas_threads"] = args.book_blas_threads or "default"
    env["ours_blas_threads"] = 1
    rows = []
    for run in range(args.runs):
        ours = our_loop(args.iterations, args.seed + run)
        with blas_limit(args.book_blas_threads):
            book = book_loop(args.iterations, args.seed + run)
        row = {"run": run + 1, "ours": ours, "book": book, "ratio": book["seconds"] / ours["seconds"]}
        rows.append(row)
        if not args.json:
            print(f"run {run + 1}: ours {ours['seconds']:.2f} s (train {ours['train_acc']:.4f}, test {ours['test_acc']:.4f}, "
                  f"{ours['evaluations']} evals) | book {book['seconds']:.2f} s (train {book['train_acc']:.4f}, "
                  f"test {book['test_acc']:.4f}, {book['evaluations']} evals) | ratio {row['ratio']:.2f}x", flush=True)
    if args.json:
        print(json.dumps({"iterations": args.iterations, "env": env, "runs": rows}))
    else:
        print(f"environment: {env}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
