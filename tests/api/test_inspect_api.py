"""GET /api/runs/{id}/w1 and /inspect on a short real run: shapes, sums, caching, 404 and 409."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app

TINY = {"iterations": 120, "eval_every": 60, "train_limit": 1000, "test_limit": 400, "seed": 5, "hidden_size": 20}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("inspect"), max_running=1, queue_size=2)
    with TestClient(create_app(settings)) as c:
        yield c


def wait_done(client: TestClient, run_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["status"] not in ("queued", "running"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


@pytest.fixture(scope="module")
def done(client: TestClient) -> dict[str, Any]:
    r = client.post("/api/runs", json=TINY)
    assert r.status_code == 201, r.text
    run = wait_done(client, r.json()["id"])
    assert run["status"] == "done"
    return run


def test_unknown_run_is_404(client: TestClient) -> None:
    for path in ("w1", "inspect"):
        r = client.get(f"/api/runs/nope/{path}")
        assert r.status_code == 404
        assert "no run" in r.json()["detail"]


def test_w1_images(client: TestClient, done: dict[str, Any], tmp_path: Path) -> None:
    r = client.get(f"/api/runs/{done['id']}/w1")
    assert r.status_code == 200
    body = r.json()
    assert body["units"] == 20 and body["shape"] == [28, 28] and body["status"] == "done"
    data = np.frombuffer(base64.b64decode(body["data"]), dtype=np.uint8).reshape(20, 784)
    weights = client.get(f"/api/runs/{done['id']}/weights.npz").content
    (tmp_path / "w.npz").write_bytes(weights)
    with np.load(tmp_path / "w.npz") as f:
        w1 = f["W1"]
    assert np.allclose(body["min"], w1.min(axis=0), rtol=1e-6) and np.allclose(body["max"], w1.max(axis=0), rtol=1e-6)
    assert (data[np.arange(20), w1.argmax(axis=0)] == 255).all()  # each unit's largest weight is byte 255
    assert (data[np.arange(20), w1.argmin(axis=0)] == 0).all()


def test_inspect_confusion_and_mistakes(client: TestClient, done: dict[str, Any]) -> None:
    r = client.get(f"/api/runs/{done['id']}/inspect", params={"gallery": 12})
    assert r.status_code == 200
    body = r.json()
    m = np.array(body["confusion"])
    assert m.shape == (10, 10) and m.sum() == body["count"] == TINY["test_limit"]
    assert body["correct"] == np.trace(m)
    # the run's own final test accuracy was measured on the same images with the same weights
    assert body["accuracy"] == pytest.approx(done["final"]["test_acc"], abs=1e-9)
    assert body["misclassified"]["total"] == body["count"] - body["correct"]
    items = body["misclassified"]["items"]
    assert len(items) == min(12, body["misclassified"]["total"])
    assert all(i["label"] != i["predicted"] and len(base64.b64decode(i["image"])) == 784 for i in items)
    assert body["classes"] == [str(d) for d in range(10)] and body["dataset"] == "mnist"


def test_a_finished_run_is_computed_once(client: TestClient, done: dict[str, Any]) -> None:
    first = client.get(f"/api/runs/{done['id']}/inspect", params={"gallery": 5}).json()
    second = client.get(f"/api/runs/{done['id']}/inspect", params={"gallery": 5}).json()
    assert second["cached"] is True
    assert {**first, "cached": True} == second


def test_gallery_bounds_are_422(client: TestClient, done: dict[str, Any]) -> None:
    assert client.get(f"/api/runs/{done['id']}/inspect", params={"gallery": 10_000}).status_code == 422


def test_run_without_weights_is_409(client: TestClient) -> None:
    """A queued run (the one-slot server is busy) has no weights, nor has one stopped before it started; a running one has."""
    long = {**TINY, "iterations": 1_000_000, "eval_every": 1_000_000}
    busy = client.post("/api/runs", json=long).json()
    waiting = client.post("/api/runs", json=long).json()
    try:
        assert waiting["status"] == "queued"
        for path in ("w1", "inspect"):
            r = client.get(f"/api/runs/{waiting['id']}/{path}")
            assert r.status_code == 409 and "no weights yet" in r.json()["detail"]
        client.post(f"/api/runs/{waiting['id']}/stop", headers={"Authorization": f"Bearer {waiting['token']}"})
        assert wait_done(client, waiting["id"])["status"] == "stopped"
        assert client.get(f"/api/runs/{waiting['id']}/inspect").status_code == 409
        deadline = time.monotonic() + 30  # the running one answers from its live weights once the first arrive
        while (r := client.get(f"/api/runs/{busy['id']}/inspect", params={"gallery": 3})).status_code == 409:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        live = r.json()
        assert live["status"] == "running" and live["cached"] is False and live["count"] == TINY["test_limit"]
    finally:
        for run in (waiting, busy):
            client.post(f"/api/runs/{run['id']}/stop", headers={"Authorization": f"Bearer {run['token']}"})
    assert wait_done(client, busy["id"])["status"] == "stopped"


def test_a_finished_run_served_from_memory_without_a_saved_file(client: TestClient, done: dict[str, Any]) -> None:
    """A run that has ended but is still held in memory (its database write being retried) with live weights
    and no weights file (a failed worker): the cache keyed the figures on the file's mtime, stat() raised, 500."""
    from app.training.channel import Channel
    from app.training.jobs import Job

    manager = client.app.state.jobs
    path = manager.weights_path(done["id"])
    saved = path.read_bytes()
    weights = manager.current_weights(done["id"])
    job = Job(done["id"], done["config"], "test", Channel(manager._loop()), weights=weights, status="failed",
              iteration=done["progress"]["iteration"])
    path.unlink()
    manager.jobs[done["id"]] = job
    try:
        r = client.get(f"/api/runs/{done['id']}/inspect")
        w = client.get(f"/api/runs/{done['id']}/w1")
    finally:
        manager.jobs.pop(done["id"], None)
        path.write_bytes(saved)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "failed" and body["cached"] is False and body["count"] == TINY["test_limit"]
    assert sum(map(sum, body["confusion"])) == TINY["test_limit"]
    assert w.status_code == 200 and w.json()["units"] == TINY["hidden_size"]
