"""One image through a run's net: probabilities, the prediction, and the net as an evaluated graph."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.graph.ops.activations import softmax
from app.nn.two_layer_net import TwoLayerNet

SUMMARY_OVER = 4096  # tensors bigger than this are sent as statistics unless detail="full"


class PredictError(ValueError):
    def __init__(self, message: str, field: str = "image") -> None:
        super().__init__(message)
        self.field = field


def net_from_params(params: dict[str, np.ndarray], config: dict[str, Any]) -> TwoLayerNet:
    """A run's net around given weights (a running run's snapshot, or a saved file's arrays)."""
    return TwoLayerNet.from_params(params, config)


def as_image(image: list[Any], size: int) -> np.ndarray:
    try:
        x = np.asarray(image)
    except (ValueError, TypeError):
        raise PredictError("image must be 784 numbers, or 28 rows of 28 numbers") from None
    if x.dtype.kind not in "iuf":  # strings, booleans, nulls, ragged rows: not pixels
        raise PredictError("image must be 784 numbers, or 28 rows of 28 numbers (no strings, booleans or nulls)")
    x = x.astype(np.float64)
    if x.size != size or x.ndim not in (1, 2):
        raise PredictError(f"image must have {size} pixels (28x28), got shape {list(x.shape)}")
    if not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 1:
        raise PredictError("image pixels must be numbers in [0, 1] (0 = background, 1 = ink)")
    return x.reshape(1, size)


def _stats(a: Any) -> dict[str, float] | None:
    if a is None:
        return None
    arr = np.asarray(a, dtype=np.float64)
    return {"min": float(arr.min()), "max": float(arr.max()), "mean": float(arr.mean()), "norm": float(np.linalg.norm(arr))}


def summarise(graph: dict[str, Any]) -> dict[str, Any]:
    """Big tensors (W1 and its gradient) as statistics: the browser draws W1 from its own endpoint."""
    big = {nid for nid, n in graph["nodes"].items() if int(np.prod(n["shape"])) > SUMMARY_OVER}
    for nid in big:
        node = graph["nodes"][nid]
        node["stats"] = {"value": _stats(node["value"]), "grad": _stats(node["grad"])}
        node["value"] = node["grad"] = None
    for edge in graph["edges"]:
        if edge["from"] in big:
            edge["value"] = edge["grad"] = None
    return graph


def predict_image(weights: dict[str, np.ndarray], config: dict[str, Any], image: list[Any], label: int | None,
                  detail: str = "summary") -> dict[str, Any]:
    net = net_from_params(weights, config)
    x = as_image(image, net.params["W1"].shape[0]).astype(net.params["W1"].dtype)
    probs = softmax(net.predict(x).astype(np.float64))[0]
    predicted = int(np.argmax(probs))
    target = predicted if label is None else int(label)
    if not 0 <= target < probs.size:
        raise PredictError(f"label must be a class in 0..{probs.size - 1}", field="label")
    graph = net.describe(x, np.array([target]))
    loss = graph["nodes"]["SoftmaxWithLoss"]["value"]
    return {"probabilities": probs.tolist(), "predicted": predicted, "label": target, "loss": loss,
            "graph": summarise(graph) if detail == "summary" else graph}
