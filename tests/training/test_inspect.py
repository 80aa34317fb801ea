"""W1 images, the test-set confusion matrix and the mistakes, checked against direct numpy computations."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest

from app.data import load_dataset
from app.nn.two_layer_net import TwoLayerNet
from app.training.inspect import InspectCache, confusion, evaluate_test_set, w1_images


def _bytes(s: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(s), dtype=np.uint8)


@pytest.fixture(scope="module")
def trained() -> TwoLayerNet:
    """A net trained for a moment on 2,000 images: good enough to be mostly right, and to make mistakes."""
    ds = load_dataset("mnist")
    net = TwoLayerNet(784, 30, 10, seed=3, dtype=np.float32)
    x, t = ds.x_train[:2000], ds.t_train[:2000].astype(np.intp)
    rng = np.random.default_rng(0)
    for _ in range(300):
        idx = rng.choice(len(x), 100)
        grads = net.gradient(x[idx], t[idx])
        for k in grads:
            net.params[k] -= 0.1 * grads[k]
    return net


def test_confusion_counts_pairs() -> None:
    m = confusion(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), 3)
    assert m.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


@pytest.mark.parametrize("test_limit", [500, None])
def test_confusion_matrix_matches_numpy(trained: TwoLayerNet, test_limit: int | None) -> None:
    config = {"dataset": "mnist", "activation": "relu", "test_limit": test_limit}
    out = evaluate_test_set(dict(trained.params), config)
    ds = load_dataset("mnist")
    n = test_limit or 10_000
    x, t = ds.x_test[:n], ds.t_test[:n]
    h = np.maximum(x @ trained.params["W1"] + trained.params["b1"], 0)  # the net written out, not its layers
    predicted = np.argmax(h @ trained.params["W2"] + trained.params["b2"], axis=1)
    direct = np.zeros((10, 10), dtype=int)
    for true, pred in zip(t, predicted):
        direct[true, pred] += 1
    m = np.array(out["confusion"])
    assert m.sum() == out["count"] == n
    assert (m == direct).all()
    assert out["correct"] == int(np.trace(direct)) and out["accuracy"] == pytest.approx(np.mean(predicted == t))
    assert out["accuracy"] > 0.7
    assert out["misclassified"]["total"] == int(np.sum(predicted != t)) == n - out["correct"]


def test_mistakes_are_real_and_most_confident_first(trained: TwoLayerNet) -> None:
    config = {"dataset": "mnist", "activation": "relu", "test_limit": 1000}
    out = evaluate_test_set(dict(trained.params), config, gallery=25)
    items = out["misclassified"]["items"]
    assert len(items) == min(25, out["misclassified"]["total"]) > 0
    ds = load_dataset("mnist")
    confidences = [i["confidence"] for i in items]
    assert confidences == sorted(confidences, reverse=True)
    for item in items:
        assert item["label"] == ds.t_test[item["index"]] != item["predicted"]
        assert item["label_probability"] < item["confidence"] <= 1
        pixels = _bytes(item["image"])
        assert pixels.shape == (784,)
        assert np.abs(pixels / 255 - ds.x_test[item["index"]]).max() <= 0.5 / 255 + 1e-6


def test_w1_images_round_trip_per_unit() -> None:
    rng = np.random.default_rng(1)
    w1 = rng.normal(0, 0.05, (784, 7))
    w1[:, 3] = 0.25  # a constant unit must not divide by zero
    out = w1_images(w1)
    assert out["units"] == 7 and out["shape"] == [28, 28]
    data = _bytes(out["data"]).reshape(7, 784)
    for j in range(7):
        lo, hi = out["min"][j], out["max"][j]
        assert lo == pytest.approx(w1[:, j].min()) and hi == pytest.approx(w1[:, j].max())
        if j == 3:
            assert (data[j] == 0).all()
            continue
        assert data[j].min() == 0 and data[j].max() == 255
        back = lo + data[j] / 255 * (hi - lo)
        assert np.abs(back - w1[:, j]).max() <= (hi - lo) / 255


def test_cache_computes_once_per_weights_file(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    path.write_bytes(b"x")
    calls = []
    cache = InspectCache(size=2)

    def compute() -> dict[str, int]:
        calls.append(1)
        return {"n": len(calls)}

    assert cache.get("a", path, 10, compute) == ({"n": 1}, False)
    assert cache.get("a", path, 10, compute) == ({"n": 1}, True)
    assert cache.get("a", path, 20, compute) == ({"n": 2}, False)  # another gallery size is another entry
    cache.get("b", path, 10, compute)
    assert len(cache.items) == 2 and cache.get("a", path, 10, compute)[1] is False  # the oldest went out


def test_a_training_runs_snapshot_is_scored_once_for_every_viewer() -> None:
    import threading
    import time

    cache = InspectCache(size=2)
    calls: list[int] = []

    def compute() -> dict:
        calls.append(1)
        time.sleep(0.05)  # slow enough that the viewers below arrive during it
        return {"correct": len(calls)}

    snapshot = {"W1": np.zeros(3)}
    results: list[tuple[dict, bool]] = []
    viewers = [threading.Thread(target=lambda: results.append(cache.get_live("r1", snapshot, 60, compute))) for _ in range(8)]
    for v in viewers:
        v.start()
    for v in viewers:
        v.join()
    assert len(calls) == 1 and sorted(c for _, c in results) == [False] + [True] * 7
    assert all(f == {"correct": 1} for f, _ in results)
    # the worker's next snapshot is a new dict: scored again; another gallery size is its own entry
    assert cache.get_live("r1", {"W1": np.zeros(3)}, 60, compute) == ({"correct": 2}, False)
    assert cache.get_live("r1", snapshot, 10, compute) == ({"correct": 3}, False)
    assert cache.get_live("r2", snapshot, 10, compute)[1] is False
    assert len(cache.live) == 2, "bounded"
