"""A look inside a run's net: W1's columns as images, the test-set confusion matrix, the mistakes.

Pure numpy over a run's weights and its dataset; no HTTP. A finished run's weights never
change, so its test-set figures are computed once and cached (keyed on the weights file's
modification time, so a deleted and recreated run is never served stale figures).
"""

from __future__ import annotations

import base64
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from app.data import load_dataset
from app.training.predict import net_from_params

GALLERY_MAX = 200  # misclassified images sent at most (the total is always reported)


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).decode("ascii")


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Pixels in [0, 1] as bytes 0..255, rounded."""
    return np.clip(np.rint(np.asarray(x, dtype=np.float64) * 255), 0, 255).astype(np.uint8)


def w1_images(w1: np.ndarray) -> dict[str, Any]:
    """Each hidden unit's 784 incoming weights, min/max-normalised to 0..255 per unit (unit-major bytes).

    ``min``/``max`` give the real range of each unit, so the browser can map a byte back to a weight
    (w = min + byte / 255 * (max - min)) and colour positive and negative weights apart.
    """
    w = np.asarray(w1, dtype=np.float64).T  # (hidden, inputs): one row per unit
    lo, hi = w.min(axis=1), w.max(axis=1)
    span = np.where(hi > lo, hi - lo, 1.0)
    scaled = np.rint((w - lo[:, None]) / span[:, None] * 255).astype(np.uint8)
    side = int(round(np.sqrt(w.shape[1])))
    shape = [side, side] if side * side == w.shape[1] else [1, w.shape[1]]
    return {"units": int(w.shape[0]), "shape": shape, "min": lo.tolist(), "max": hi.tolist(), "data": b64(scaled)}


def evaluation_set(config: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """The test images the run was evaluated on: the first ``test_limit`` of its dataset (all when unset)."""
    ds = load_dataset(config.get("dataset", "mnist"))
    n = config.get("test_limit") or len(ds.x_test)
    return ds.x_test[:n], ds.t_test[:n], ds.classes


def confusion(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """counts[true, predicted]."""
    m = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(m, (labels.astype(np.intp), predicted.astype(np.intp)), 1)
    return m


def evaluate_test_set(weights: dict[str, np.ndarray], config: dict[str, Any], gallery: int = GALLERY_MAX,
                      chunk: int = 5000) -> dict[str, Any]:
    """Confusion matrix over the run's test set, and its mistakes, most confident first."""
    x, t, classes = evaluation_set(config)
    net = net_from_params(weights, config)
    probs = np.empty((len(x), weights["W2"].shape[1]), dtype=np.float64)
    for i in range(0, len(x), chunk):
        scores = net.predict(np.asarray(x[i:i + chunk], dtype=net.params["W1"].dtype)).astype(np.float64)
        scores -= scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        probs[i:i + chunk] = e / e.sum(axis=1, keepdims=True)
    predicted = probs.argmax(axis=1)
    matrix = confusion(t, predicted, probs.shape[1])
    wrong = np.flatnonzero(predicted != t)
    confidence = probs[wrong, predicted[wrong]]
    # the most confident mistakes are the most instructive; ties broken by index so the order is stable
    order = wrong[np.lexsort((wrong, -confidence))][:gallery]
    items = [{"index": int(i), "label": int(t[i]), "predicted": int(predicted[i]),
              "confidence": float(probs[i, predicted[i]]), "label_probability": float(probs[i, t[i]]),
              "image": b64(to_uint8(x[i]))} for i in order]
    return {"count": int(len(x)), "correct": int(np.trace(matrix)), "accuracy": float(np.trace(matrix) / max(len(x), 1)),
            "classes": list(classes), "confusion": matrix.tolist(),
            "misclassified": {"total": int(len(wrong)), "items": items}}


class InspectCache:
    """Test-set figures of finished runs, at most ``size`` of them, least recently used out first."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self.items: OrderedDict[tuple[str, int, int], dict[str, Any]] = OrderedDict()
        self.lock = threading.Lock()
        # A training run's current weights, scored once however many viewers follow it.
        self.live: OrderedDict[tuple[str, int], tuple[Any, dict[str, Any]]] = OrderedDict()
        self.live_lock = threading.Lock()

    def get(self, run_id: str, weights_file: Path, gallery: int, compute: Any) -> tuple[dict[str, Any], bool]:
        """(figures, whether they came from the cache); ``compute()`` runs on a miss, outside the lock."""
        key = (run_id, weights_file.stat().st_mtime_ns, gallery)
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key], True
        value = compute()
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value, False

    def get_live(self, run_id: str, weights: Any, gallery: int, compute: Any) -> tuple[dict[str, Any], bool]:
        """Figures for a training run's current weights (a dict the worker replaces with each snapshot):
        computed once per snapshot; viewers asking meanwhile wait for that one computation and share it."""
        key = (run_id, gallery)
        with self.live_lock:
            entry = self.live.get(key)
            if entry is not None and entry[0] is weights:
                self.live.move_to_end(key)
                return entry[1], True
            value = compute()
            self.live[key] = (weights, value)
            while len(self.live) > self.size:
                self.live.popitem(last=False)
            return value, False
