"""Graph JSON -> a standalone numpy script in the book's layer style.

The script defines the layer classes it needs (MulLayer, AddLayer, Relu,
Affine, SoftmaxWithLoss, ... as in chapter 5 of *Deep Learning from Scratch*),
calls `forward` in topological order and `backward` in reverse, and prints
every value and gradient, so a student can run it next to the browser view.
"""

from __future__ import annotations

import keyword
import re

# op -> (class name, class source). Each backward returns one gradient per
# differentiable input, in slot order; label inputs (slot 1 of the losses)
# get none, as in the book.
_SUM_TO = '''
def sum_to(g, shape):
    """Undo numpy broadcasting: sum g down to `shape`."""
    g = np.asarray(g)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for i, n in enumerate(shape):
        if n == 1 and g.shape[i] != 1:
            g = g.sum(axis=i, keepdims=True)
    return g
'''

_LAYERS: dict[str, tuple[str, str]] = {
    "add": ("AddLayer", '''
class AddLayer:
    def forward(self, x, y):
        self.x_shape, self.y_shape = np.shape(x), np.shape(y)
        return x + y

    def backward(self, dout):
        return sum_to(dout, self.x_shape), sum_to(dout, self.y_shape)
'''),
    "sub": ("SubLayer", '''
class SubLayer:
    def forward(self, x, y):
        self.x_shape, self.y_shape = np.shape(x), np.shape(y)
        return x - y

    def backward(self, dout):
        return sum_to(dout, self.x_shape), sum_to(-dout, self.y_shape)
'''),
    "mul": ("MulLayer", '''
class MulLayer:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dout):
        dx = dout * self.y  # swap x and y
        dy = dout * self.x
        return sum_to(dx, np.shape(self.x)), sum_to(dy, np.shape(self.y))
'''),
    "div": ("DivLayer", '''
class DivLayer:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x / y

    def backward(self, dout):
        dx = dout / self.y
        dy = -dout * self.x / self.y ** 2
        return sum_to(dx, np.shape(self.x)), sum_to(dy, np.shape(self.y))
'''),
    "neg": ("NegLayer", '''
class NegLayer:
    def forward(self, x):
        return -x

    def backward(self, dout):
        return (-dout,)
'''),
    "exp": ("ExpLayer", '''
class ExpLayer:
    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, dout):
        return (dout * self.out,)
'''),
    "log": ("LogLayer", '''
class LogLayer:
    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, dout):
        return (dout / self.x,)
'''),
    "pow": ("PowLayer", '''
class PowLayer:
    def __init__(self, exponent=2):
        self.exponent = exponent

    def forward(self, x):
        self.x = x
        return x ** self.exponent

    def backward(self, dout):
        return (dout * self.exponent * self.x ** (self.exponent - 1),)
'''),
    "reciprocal": ("ReciprocalLayer", '''
class ReciprocalLayer:
    def forward(self, x):
        self.out = 1 / x
        return self.out

    def backward(self, dout):
        return (-dout * self.out ** 2,)
'''),
    "square": ("SquareLayer", '''
class SquareLayer:
    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, dout):
        return (dout * 2 * self.x,)
'''),
    "sqrt": ("SqrtLayer", '''
class SqrtLayer:
    def forward(self, x):
        self.out = np.sqrt(x)
        return self.out

    def backward(self, dout):
        return (dout / (2 * self.out),)
'''),
    "sigmoid": ("Sigmoid", '''
class Sigmoid:
    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backward(self, dout):
        return (dout * (1.0 - self.out) * self.out,)
'''),
    "relu": ("Relu", '''
class Relu:
    def forward(self, x):
        self.mask = np.asarray(x) <= 0
        return np.where(self.mask, 0.0, x)

    def backward(self, dout):
        return (np.where(self.mask, 0.0, dout),)
'''),
    "tanh": ("Tanh", '''
class Tanh:
    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        return (dout * (1 - self.out ** 2),)
'''),
    "matmul": ("MatMul", '''
class MatMul:
    def forward(self, x, W):
        self.x, self.W = np.asarray(x, dtype=float), np.asarray(W, dtype=float)
        x2, W2 = self._matrices()
        return np.dot(x2, W2).reshape(self.x.shape[:-1] + self.W.shape[1:])

    def _matrices(self):
        # a 1-D x is one row, a 1-D W one column, as numpy's dot reads them
        x2 = self.x.reshape(1, -1) if self.x.ndim == 1 else self.x
        W2 = self.W.reshape(-1, 1) if self.W.ndim == 1 else self.W
        return x2, W2

    def backward(self, dout):
        x2, W2 = self._matrices()
        dout = np.reshape(dout, (x2.shape[0], W2.shape[1]))
        dx = np.dot(dout, W2.T).reshape(self.x.shape)
        dW = np.dot(x2.T, dout).reshape(self.W.shape)
        return dx, dW
'''),
    "affine": ("Affine", '''
class Affine:
    def forward(self, x, W, b):
        x = np.asarray(x, dtype=float)
        self.original_x_shape = x.shape
        self.x = x.reshape(1, -1) if x.ndim <= 1 else x.reshape(x.shape[0], -1)
        self.W, self.b_shape = np.asarray(W, dtype=float), np.shape(b)
        out = np.dot(self.x, self.W) + b
        return out[0] if x.ndim <= 1 else out

    def backward(self, dout):
        dout = np.reshape(dout, (self.x.shape[0], -1))
        dx = np.dot(dout, self.W.T).reshape(self.original_x_shape)
        dW = np.dot(self.x.T, dout)
        db = np.sum(dout, axis=0).reshape(self.b_shape) if self.b_shape != () else np.sum(dout)
        return dx, dW, db
'''),
    "sum": ("SumLayer", '''
class SumLayer:
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.x_shape = np.shape(x)
        return np.sum(x, axis=self.axis if self.x_shape else None, keepdims=self.keepdims)

    def backward(self, dout):
        if self.axis is not None and not self.keepdims and self.x_shape:
            dout = np.expand_dims(dout, self.axis)
        return (np.broadcast_to(dout, self.x_shape).copy(),)
'''),
    "mean": ("MeanLayer", '''
class MeanLayer:
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.x_shape = np.shape(x)
        self.n = np.size(x) if self.axis is None else (self.x_shape[self.axis] if self.x_shape else 1)
        return np.sum(x, axis=self.axis if self.x_shape else None, keepdims=self.keepdims) / self.n

    def backward(self, dout):
        if self.axis is not None and not self.keepdims and self.x_shape:
            dout = np.expand_dims(dout, self.axis)
        return (np.broadcast_to(dout, self.x_shape) / self.n,)
'''),
    "transpose": ("Transpose", '''
class Transpose:
    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, x):
        return np.transpose(x, self.axes)

    def backward(self, dout):
        inverse = None if self.axes is None else np.argsort([a % np.ndim(dout) for a in self.axes])
        return (np.transpose(dout, inverse),)
'''),
    "reshape": ("Reshape", '''
class Reshape:
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.x_shape = np.shape(x)
        return np.reshape(x, self.shape)

    def backward(self, dout):
        return (np.reshape(dout, self.x_shape),)
'''),
    "softmax": ("Softmax", '''
class Softmax:
    def forward(self, x):
        self.out = softmax(np.asarray(x, dtype=float))
        return self.out

    def backward(self, dout):
        y = self.out
        return (y * (dout - np.sum(dout * y, axis=-1, keepdims=True)),)
'''),
    "softmax_with_loss": ("SoftmaxWithLoss", '''
class SoftmaxWithLoss:
    def forward(self, x, t):
        x = np.asarray(x, dtype=float)
        self.x_shape, self.t_shape = x.shape, np.shape(t)
        self.t, self.labels = as_targets(t, x)
        x2 = x.reshape(len(self.t), -1) if self.labels else x.reshape(self.t.shape)
        self.y = softmax(x2)
        n = self.y.shape[0]
        if self.labels:
            return -np.sum(np.log(self.y[np.arange(n), self.t] + 1e-7)) / n
        return -np.sum(self.t * np.log(self.y + 1e-7)) / n

    def backward(self, dout=1):
        n = self.y.shape[0]
        if self.labels:  # labels: subtract 1 where the one-hot t would be 1
            dx = self.y.copy()
            dx[np.arange(n), self.t] -= 1
        else:
            dx = self.y - self.t
        dx = dx * dout / n
        dt = None if self.labels else (-dout / n * np.log(self.y + 1e-7)).reshape(self.t_shape)
        return dx.reshape(self.x_shape), dt
'''),
    "cross_entropy": ("CrossEntropyError", '''
class CrossEntropyError:
    def forward(self, y, t):
        y = np.asarray(y, dtype=float)
        self.y_shape, self.t_shape = y.shape, np.shape(t)
        self.t, self.labels = as_targets(t, y)
        self.y = y.reshape(len(self.t), -1) if self.labels else y.reshape(self.t.shape)
        n = self.y.shape[0]
        if self.labels:
            return -np.sum(np.log(self.y[np.arange(n), self.t] + 1e-7)) / n
        return -np.sum(self.t * np.log(self.y + 1e-7)) / n

    def backward(self, dout=1):
        n = self.y.shape[0]
        t = self.t
        if self.labels:
            t = np.zeros_like(self.y)
            t[np.arange(n), self.t] = 1
        dy = -dout / n * t / (self.y + 1e-7)
        dt = None if self.labels else (-dout / n * np.log(self.y + 1e-7)).reshape(self.t_shape)
        return dy.reshape(self.y_shape), dt
'''),
    "sum_squared_error": ("SumSquaredError", '''
class SumSquaredError:
    def forward(self, y, t):
        self.diff = np.asarray(y, dtype=float) - t
        return 0.5 * np.sum(self.diff ** 2)

    def backward(self, dout=1):
        return dout * self.diff, -dout * self.diff
'''),
}

_TARGETS = '''
def as_targets(t, y):
    """One-hot rows, or integer labels (flagged True), for a batch of scores y."""
    t = np.asarray(t)
    batch = y.reshape(1, -1) if y.ndim == 1 else y
    labels = t.ndim == y.ndim - 1 or (y.ndim == 1 and t.shape == (1,) and y.shape != (1,))
    if labels:
        return t.reshape(-1).astype(int), True
    return t.reshape(batch.shape).astype(float), False


def softmax(x):
    x = x - np.max(x, axis=-1, keepdims=True)  # guard against overflow
    e = np.exp(x)
    return e / np.sum(e, axis=-1, keepdims=True)
'''
_NEEDS_TARGETS = {"softmax", "softmax_with_loss", "cross_entropy"}

_LEAVES = {"input", "const"}
_BROADCASTING = {"add", "sub", "mul", "div"}
_UNSUPPORTED_NOTE = "not supported in Python export"


def _identifiers(ids: list[str]) -> dict[str, str]:
    """A distinct, valid Python name for every node id (d-prefixed names stay free)."""
    names: dict[str, str] = {}
    taken: set[str] = {"np", "sum_to", "dout"}
    for node_id in ids:
        base = re.sub(r"\W", "_", str(node_id)) or "node"
        if base[0].isdigit() or keyword.iskeyword(base):
            base = "v_" + base
        name, k = base, 2
        while name in taken or "d" + name in taken:
            name, k = f"{base}_{k}", k + 1
        taken.update({name, "d" + name, name + "_layer"})
        names[node_id] = name
    return names


def _literal(value) -> str:
    if isinstance(value, list):
        return f"np.array({value!r}, dtype=float)"
    if isinstance(value, str):  # "NaN", "Infinity", "-Infinity" from the JSON encoding
        return {"NaN": "np.nan", "Infinity": "np.inf", "-Infinity": "-np.inf"}.get(value, repr(value))
    return repr(value)


def _topological(nodes: dict[str, dict]) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(node_id: str) -> None:
        if state.get(node_id) == 2:
            return
        if state.get(node_id) == 1:
            raise ValueError(f"graph has a cycle through node {node_id!r}")
        state[node_id] = 1
        for src in nodes[node_id].get("inputs") or []:
            if src not in nodes:
                raise ValueError(f"node {node_id!r} names unknown input {src!r}")
            visit(src)
        state[node_id] = 2
        order.append(node_id)

    for node_id in nodes:
        visit(node_id)
    return order


def _output(graph: dict, nodes: dict[str, dict]) -> str:
    if graph.get("output") is not None:
        if graph["output"] not in nodes:
            raise ValueError(f"output {graph['output']!r} is not a node")
        return graph["output"]
    used = {src for n in nodes.values() for src in n.get("inputs") or []}
    sinks = [i for i in nodes if i not in used]
    if len(sinks) != 1:
        raise ValueError("graph has several sinks: name its 'output'")
    return sinks[0]


def _params(node: dict) -> str:
    p = node.get("params") or {}
    op = node["op"]
    if op == "pow":
        return f"exponent={p.get('exponent', 2)!r}"
    if op in ("sum", "mean"):
        args = [f"axis={p['axis']!r}"] if p.get("axis") is not None else []
        return ", ".join(args + (["keepdims=True"] if p.get("keepdims") else []))
    if op == "transpose" and p.get("axes") is not None:
        return f"axes={tuple(p['axes'])!r}"
    if op == "reshape":
        if p.get("shape") is None:
            raise ValueError(f"reshape node {node['id']!r} needs params.shape")
        return f"shape={tuple(p['shape'])!r}"
    return ""


def _scalar_output(nodes: dict[str, dict], out: str) -> bool:
    """True when the output is surely a scalar: a loss, a full reduction, or a graph of scalars."""
    node = nodes[out]
    if node["op"] in ("softmax_with_loss", "cross_entropy", "sum_squared_error"):
        return True
    if node["op"] in ("sum", "mean") and (node.get("params") or {}).get("axis") is None:
        return True
    return all(not isinstance(n.get("value"), list) for n in nodes.values())


def graph_to_python(graph: dict) -> str:
    """Return a runnable numpy script that rebuilds `graph` from the book's layers."""
    nodes: dict[str, dict] = {}
    for n in graph.get("nodes") or []:
        if n["id"] in nodes:
            raise ValueError(f"duplicate node id {n['id']!r}")
        nodes[n["id"]] = n
    if not nodes:
        raise ValueError("graph has no nodes")
    for n in nodes.values():
        if n["op"] not in _LEAVES and n["op"] not in _LAYERS:
            raise ValueError(f"op {n['op']!r} is {_UNSUPPORTED_NOTE} (node {n['id']!r})")
    order = _topological(nodes)
    out = _output(graph, nodes)
    name = _identifiers(order)

    # Only the output and its ancestors take part in the backward pass.
    live = {out}
    for node_id in reversed(order):
        if node_id in live:
            live.update(nodes[node_id].get("inputs") or [])
    # Which (consumer, slot) pairs send a gradient to each node.
    feeds: dict[str, list[tuple[str, int]]] = {i: [] for i in order}
    for node_id in order:
        if node_id in live and nodes[node_id]["op"] not in _LEAVES:
            for slot, src in enumerate(nodes[node_id].get("inputs") or []):
                feeds[src].append((node_id, slot))

    used_ops = {nodes[i]["op"] for i in order} - _LEAVES
    lines = [
        f'"""{graph.get("title") or "Computation graph"}: forward and backward pass, layer by layer.',
        "",
        "Exported from Backprop Lab. Layers as in chapter 5 of *Deep Learning from",
        "Scratch*: forward() in topological order, backward(dout) in reverse.",
        '"""',
        "import numpy as np",
    ]
    if used_ops & _BROADCASTING:
        lines.append(_SUM_TO.rstrip())
    if used_ops & _NEEDS_TARGETS:
        lines.append(_TARGETS.rstrip())
    for op in sorted(used_ops, key=lambda o: _LAYERS[o][0]):
        lines.append(_LAYERS[op][1].rstrip())
    lines += ["", "", "# inputs"]
    for i in order:
        if nodes[i]["op"] in _LEAVES:
            lines.append(f"{name[i]} = {_literal(nodes[i].get('value', 0))}")
    lines += ["", "# layers"]
    for i in order:
        if nodes[i]["op"] not in _LEAVES:
            lines.append(f"{name[i]}_layer = {_LAYERS[nodes[i]['op']][0]}({_params(nodes[i])})")
    lines += ["", "# forward"]
    for i in order:
        if nodes[i]["op"] not in _LEAVES:
            args = ", ".join(name[s] for s in nodes[i].get("inputs") or [])
            lines.append(f"{name[i]} = {name[i]}_layer.forward({args})")

    seed = graph.get("grad")
    if seed is not None:
        seed_src = _literal(seed)
    elif _scalar_output(nodes, out):
        seed_src = "1.0"  # the book's `dprice = 1`
    else:
        seed_src = f"np.ones_like({name[out]}, dtype=float)"
    lines += ["", "# backward", f"d{name[out]} = {seed_src}"]
    pending = {i: len(f) for i, f in feeds.items()}
    for i in reversed(order):
        node = nodes[i]
        if i not in live or node["op"] in _LEAVES:
            continue
        targets, sums = [], []
        for slot, src in enumerate(node.get("inputs") or []):
            if len(feeds[src]) == 1:
                targets.append(f"d{name[src]}")
            else:
                k = feeds[src].index((i, slot)) + 1
                targets.append(f"d{name[src]}_{k}")
                pending[src] -= 1
                if pending[src] == 0:
                    parts = " + ".join(f"d{name[src]}_{j + 1}" for j in range(len(feeds[src])))
                    sums.append(f"d{name[src]} = {parts}")
        lhs = ", ".join(targets) + ("," if len(targets) == 1 else "")
        lines.append(f"{lhs} = {name[i]}_layer.backward(d{name[i]})")
        lines += sums

    lines += ["", 'print("forward")']
    for i in order:
        lines.append(f"print({(i + ':')!r}, {name[i]})")
    lines.append('print("backward")')
    for i in order:
        grad = f"d{name[i]}" if i in live and (feeds[i] or i == out) else "None"
        lines.append(f"print({('d' + i + ':')!r}, {grad})")
    return "\n".join(lines) + "\n"
