"""The book's TwoLayerNet (section 5.7.2), built from the layers that share the engine's ops.

Beyond the book: ReLU or Sigmoid, weight init by std / Xavier / He, a dtype
(float32 trains twice as fast), a seed, saving to ``.npz``, and the net as a
graph: ``to_graph`` gives the engine's graph JSON and ``describe`` answers what
``POST /api/graphs/evaluate`` would for it, straight from the net's own layers.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from app.graph.encode import encode
from app.graph.engine import finite
from app.graph.ops import REGISTRY
from app.nn.layers import Affine, Relu, Sigmoid, SoftmaxWithLoss

ACTIVATIONS = {"relu": Relu, "sigmoid": Sigmoid}
PARAM_KEYS = ("W1", "b1", "W2", "b2")
WeightInit = float | str  # a std, or "xavier" (sqrt(1/n)) or "he" (sqrt(2/n)) for fan-in n


def init_std(weight_init: WeightInit, fan_in: int) -> float:
    """The std of a layer's initial weights: a number as given, or Xavier/He from its fan-in (book ch. 6.2)."""
    if isinstance(weight_init, str):
        if weight_init == "xavier":
            return float(np.sqrt(1.0 / fan_in))
        if weight_init == "he":
            return float(np.sqrt(2.0 / fan_in))
        raise ValueError(f"weight_init must be a number, 'xavier' or 'he', got {weight_init!r}")
    return float(weight_init)


def numerical_gradient(f: Callable[[np.ndarray], Any], x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """The book's central difference, one element at a time, changing ``x`` in place and restoring it."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        tmp = x[idx]
        x[idx] = tmp + h
        fxh1 = f(x)
        x[idx] = tmp - h
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = tmp
    return grad


class TwoLayerNet:
    def __init__(self, input_size: int, hidden_size: int, output_size: int, weight_init_std: WeightInit = 0.01,
                 *, activation: str = "relu", dtype: Any = np.float64, seed: int | None = None,
                 rng: np.random.Generator | None = None) -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
        rng = rng if rng is not None else np.random.default_rng(seed)
        self.dtype = np.dtype(dtype)
        self.config = {"input_size": input_size, "hidden_size": hidden_size, "output_size": output_size,
                       "weight_init": weight_init_std, "activation": activation, "dtype": self.dtype.name}
        std1, std2 = init_std(weight_init_std, input_size), init_std(weight_init_std, hidden_size)
        self.params: dict[str, np.ndarray] = {
            "W1": (std1 * rng.standard_normal((input_size, hidden_size))).astype(self.dtype),
            "b1": np.zeros(hidden_size, self.dtype),
            "W2": (std2 * rng.standard_normal((hidden_size, output_size))).astype(self.dtype),
            "b2": np.zeros(output_size, self.dtype),
        }
        self.layers, self.lastLayer = self._build(input_grad=False)

    @property
    def activation_name(self) -> str:
        return f"{self.config['activation'].capitalize()}1"

    def _build(self, input_grad: bool) -> tuple[OrderedDict[str, Any], SoftmaxWithLoss]:
        """Affine1 -> Relu1 (or Sigmoid1) -> Affine2, on the params by reference; Affine2 gets b2."""
        p = self.params
        layers: OrderedDict[str, Any] = OrderedDict()
        # Nothing is upstream of the first layer, so the net's own Affine1 skips dx.
        layers["Affine1"] = Affine(p["W1"], p["b1"], input_grad=input_grad)
        layers[self.activation_name] = ACTIVATIONS[self.config["activation"]]()
        layers["Affine2"] = Affine(p["W2"], p["b2"])
        return layers, SoftmaxWithLoss()

    # --- the book's interface -------------------------------------------------------------

    def predict(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def loss(self, x: np.ndarray, t: np.ndarray) -> Any:
        """t: integer labels or one-hot rows."""
        return self.lastLayer.forward(self.predict(x), t)

    def accuracy(self, x: np.ndarray, t: np.ndarray, chunk: int = 4096) -> float:
        """Share of rows whose top score is the label (t: labels or one-hot rows).

        Only the argmax of the scores is needed, so this runs predict()'s arithmetic
        (x . W1 + b1, the activation's own function, . W2 + b2) chunk by chunk into one
        reused buffer, without keeping what a backward pass would need: the same
        scores, ~20% less time over the 70,000 images the training loop scores each epoch.
        """
        labels = np.argmax(t, axis=1) if t.ndim != 1 else t
        p = self.params
        x = x.reshape(len(x), -1)
        buf = np.empty((min(chunk, len(x)), p["W1"].shape[1]), np.result_type(x.dtype, self.dtype))
        activation = REGISTRY[self.config["activation"]]
        hits = 0
        for i in range(0, len(x), chunk):
            h = buf[:len(x[i:i + chunk])]
            np.matmul(x[i:i + chunk], p["W1"], out=h)
            h += p["b1"]
            if self.config["activation"] == "relu":
                np.maximum(h, 0, out=h)  # the relu op's where(x <= 0, 0, x), in place
            else:
                h = activation.fn(h)
            scores = h @ p["W2"]
            scores += p["b2"]
            hits += int(np.count_nonzero(np.argmax(scores, axis=1) == labels[i:i + chunk]))
        return hits / float(x.shape[0])

    def numerical_gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        def loss_w(_: np.ndarray) -> float:
            return float(self.loss(x, t))

        return {key: numerical_gradient(loss_w, self.params[key]) for key in PARAM_KEYS}

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        return self.value_and_gradient(x, t)[1]

    def value_and_gradient(self, x: np.ndarray, t: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """The loss of this forward pass and the gradients from its backward: one pass, nothing recomputed."""
        loss = self.loss(x, t)
        dout = self.lastLayer.backward(1)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        a1, a2 = self.layers["Affine1"], self.layers["Affine2"]
        return float(loss), {"W1": a1.dW, "b1": a1.db, "W2": a2.dW, "b2": a2.db}

    # --- beyond the book --------------------------------------------------------------------

    def copy(self) -> TwoLayerNet:
        """An independent net with the same config and a copy of the current weights."""
        return TwoLayerNet.from_params({k: v.copy() for k, v in self.params.items()}, self.config)

    @classmethod
    def from_params(cls, params: dict[str, np.ndarray], config: dict[str, Any] | None = None) -> TwoLayerNet:
        """A net around given weights (held, not copied); sizes come from W1/W2, the rest from ``config``."""
        config = dict(config or {})
        w1, w2 = params["W1"], params["W2"]
        config.update(input_size=w1.shape[0], hidden_size=w1.shape[1], output_size=w2.shape[1])
        config.setdefault("weight_init", 0.01)
        config.setdefault("activation", "relu")
        if config["activation"] not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {config['activation']!r}")
        expected = {"W1": w1.shape, "b1": (w1.shape[1],), "W2": (w1.shape[1], w2.shape[1]), "b2": (w2.shape[1],)}
        for k, shape in expected.items():
            if np.shape(params[k]) != shape:
                raise ValueError(f"{k} has shape {list(np.shape(params[k]))}, expected {list(shape)}")
        net = cls.__new__(cls)
        net.dtype = np.dtype(config.get("dtype", w1.dtype))
        config["dtype"] = net.dtype.name
        net.config = config
        net.params = {k: np.asarray(params[k], dtype=net.dtype) for k in PARAM_KEYS}
        net.layers, net.lastLayer = net._build(input_grad=False)
        return net

    def save(self, path: str | os.PathLike[str]) -> None:
        np.savez(path, **self.params, config=np.array(json.dumps(self.config)))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TwoLayerNet:
        """A net saved by ``save``; ValueError if the file's arrays do not match its config."""
        with np.load(path, allow_pickle=False) as f:
            config = json.loads(str(f["config"]))
            params = {k: np.array(f[k]) for k in PARAM_KEYS}
        sizes = (config.get("input_size"), config.get("hidden_size"), config.get("output_size"))
        if sizes != (*params["W1"].shape, params["W2"].shape[1]):
            raise ValueError(f"{path}: W1 {list(params['W1'].shape)} and W2 {list(params['W2'].shape)} "
                             f"do not match the config's sizes {list(sizes)}")
        return cls.from_params(params, config)

    def to_graph(self, x: np.ndarray, t: Any = None) -> dict[str, Any]:
        """The net as the engine's graph JSON: leaves x, W1, b1, W2, b2 (and t), then the layers as op nodes."""
        act = self.activation_name
        leaves = [("x", x), *((k, self.params[k]) for k in PARAM_KEYS)]
        nodes: list[dict[str, Any]] = [{"id": k, "op": "input", "value": np.asarray(v).tolist()} for k, v in leaves]
        if t is not None:
            nodes.append({"id": "t", "op": "input", "value": np.asarray(t).tolist()})
        nodes += [
            {"id": "Affine1", "op": "affine", "inputs": ["x", "W1", "b1"]},
            {"id": act, "op": self.config["activation"], "inputs": ["Affine1"]},
            {"id": "Affine2", "op": "affine", "inputs": [act, "W2", "b2"]},
        ]
        if t is not None:
            nodes.append({"id": "SoftmaxWithLoss", "op": "softmax_with_loss", "inputs": ["Affine2", "t"]})
        return {"nodes": nodes, "output": "SoftmaxWithLoss" if t is not None else "Affine2"}

    def describe(self, x: np.ndarray, label: Any = None) -> dict[str, Any]:
        """What ``evaluation_to_json(evaluate(self.to_graph(x, label)))`` answers, from the net's own layers.

        Fresh layer instances on the same params, so this is safe to call while the
        net's ``layers`` are busy elsewhere; in the net's dtype (the engine works in float64).
        """
        layers, last = self._build(input_grad=True)
        a1, act, a2 = layers.values()
        act_id = self.activation_name
        x = np.asarray(x)
        v: dict[str, Any] = {"x": x, **self.params}
        v["Affine1"] = a1.forward(x)
        v[act_id] = act.forward(v["Affine1"])
        v["Affine2"] = a2.forward(v[act_id])
        order = ["x", *PARAM_KEYS]
        if label is not None:
            v["t"] = np.asarray(label, dtype=np.float64)
            v["SoftmaxWithLoss"] = np.asarray(last.forward(v["Affine2"], v["t"]))
            order += ["t", "Affine1", act_id, "Affine2", "SoftmaxWithLoss"]
            g: dict[str, Any] = {"SoftmaxWithLoss": np.ones_like(v["SoftmaxWithLoss"])}
            # Both of the op's gradients: dt is None for integer labels, -log(y + 1e-7) / N for one-hot rows.
            g["Affine2"], g["t"] = last.op.backward(last, g["SoftmaxWithLoss"])
            output = "SoftmaxWithLoss"
        else:
            order += ["Affine1", act_id, "Affine2"]
            g = {"Affine2": np.ones_like(v["Affine2"])}
            output = "Affine2"
        g[act_id] = a2.backward(g["Affine2"])
        g["W2"], g["b2"] = a2.dW, a2.db
        g["Affine1"] = act.backward(g[act_id])
        g["x"] = a1.backward(g["Affine1"])
        g["W1"], g["b1"] = a1.dW, a1.db
        inputs = {"Affine1": ["x", "W1", "b1"], act_id: ["Affine1"], "Affine2": [act_id, "W2", "b2"],
                  "SoftmaxWithLoss": ["Affine2", "t"]}
        ops = {"Affine1": "affine", act_id: self.config["activation"], "Affine2": "affine",
               "SoftmaxWithLoss": "softmax_with_loss"}
        values = {k: encode(v[k]) for k in order}
        grads = {k: encode(g[k]) for k in order}
        nodes, edges, warnings = {}, [], []
        for nid in order:
            nodes[nid] = {"op": ops.get(nid, "input"), "value": values[nid], "shape": list(np.shape(v[nid])),
                          "grad": grads[nid]}
            for slot, src in enumerate(inputs.get(nid, ())):
                # Each source feeds exactly one node here, so the edge carries the source's whole gradient.
                edges.append({"from": src, "to": nid, "slot": slot, "value": values[src], "grad": grads[src]})
            if not finite(np.asarray(v[nid])):
                warnings.append({"node": nid, "message": f"node '{nid}': forward value is not finite (NaN or infinity)"})
            elif g[nid] is not None and not finite(np.asarray(g[nid])):
                warnings.append({"node": nid, "message": f"node '{nid}': gradient is not finite (NaN or infinity)"})
        return {"output": output, "order": order, "nodes": nodes, "edges": edges, "warnings": warnings}
