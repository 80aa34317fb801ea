"""Runs over a real uvicorn server: event streams to the end, resume, stop, tokens, queue limits, predict."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from httpx_sse import connect_sse

from app.config import Settings
from app.data import load_dataset

from support.live_server import LiveServer

SHORT = {"iterations": 300, "eval_every": 100, "train_limit": 3000, "test_limit": 1000, "seed": 7, "batch_size": 50}
LONG = {"iterations": 1_000_000, "eval_every": 1_000_000, "train_limit": 2000, "test_limit": 200, "seed": 1}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("runs"), max_running=2, queue_size=1, max_active_per_client=3)
    with LiveServer(settings) as s:
        yield s


def events(client: httpx.Client, run_id: str, last_id: int | None = None, limit: int | None = None) -> list[tuple[int, str, Any]]:
    headers = {"Last-Event-ID": str(last_id)} if last_id is not None else {}
    out = []
    with connect_sse(client, "GET", f"/api/runs/{run_id}/events", headers=headers, timeout=60) as source:
        for sse in source.iter_sse():
            out.append((int(sse.id), sse.event, sse.json()))
            if limit is not None and len(out) >= limit:
                break
    return out


def start(client: httpx.Client, config: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/api/runs", json=config)
    assert r.status_code == 201, r.text
    return r.json()


def auth(run: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {run['token']}"}


def wait_status(client: httpx.Client, run_id: str, statuses: tuple[str, ...], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["status"] in statuses:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} never reached {statuses}: {run['status']}")


@pytest.fixture(scope="module")
def finished(server: LiveServer) -> tuple[dict[str, Any], list[tuple[int, str, Any]]]:
    with server.client() as client:
        run = start(client, SHORT)
        return run, events(client, run["id"])


def test_stream_runs_to_the_end(finished: tuple[dict[str, Any], list]) -> None:
    run, evs = finished
    ids = [e[0] for e in evs]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    kinds = [e[1] for e in evs]
    assert kinds[-1] == "done" and kinds.count("done") == 1
    assert "running" in [e[2].get("status") for e in evs if e[1] == "status"]
    losses: list[float] = []
    for _, kind, data in evs:
        if kind == "loss":
            assert data["start"] == len(losses)  # every iteration once, in order
            losses.extend(data["values"])
    assert len(losses) == SHORT["iterations"]
    epochs = [d for _, k, d in evs if k == "epoch"]
    assert [e["iteration"] for e in epochs] == [100, 200, 300]
    assert evs[-1][2]["test_acc"] == epochs[-1]["test_acc"] > 0.8
    assert np.mean(losses[-50:]) < np.mean(losses[:50])


def test_loss_events_are_batched(finished: tuple[dict[str, Any], list]) -> None:
    _, evs = finished
    assert sum(1 for e in evs if e[1] == "loss") < 40  # 300 iterations in far fewer events


def test_loss_events_keep_their_pace_when_evaluations_are_constant(server: LiveServer) -> None:
    """eval_every 1 on tiny sets: every evaluation pushed out a loss event of its own, over 1,000 a second."""
    with server.client() as client:
        run = start(client, {"iterations": 3000, "eval_every": 1, "train_limit": 200, "test_limit": 20, "batch_size": 10, "seed": 1})
        t = time.monotonic()
        evs = events(client, run["id"])
        took = time.monotonic() - t
    loss_events = [d for _, k, d in evs if k == "loss"]
    assert len(loss_events) <= 4 * took + 3, (len(loss_events), took)
    losses: list[float] = []
    for d in loss_events:
        assert d["start"] == len(losses)
        losses.extend(d["values"])
    assert len(losses) == 3000 and sum(1 for e in evs if e[1] == "epoch") == 3000 and evs[-1][1] == "done"
    sent = 0  # and an evaluation's event never comes before the losses up to its iteration
    for _, kind, data in evs:
        if kind == "loss":
            sent = data["start"] + len(data["values"])
        elif kind == "epoch":
            assert data["iteration"] <= sent, (data["iteration"], sent)


def test_a_finished_run_replays_its_history_and_resumes_without_gaps(server: LiveServer, finished: tuple) -> None:
    run, evs = finished
    with server.client() as client:
        assert events(client, run["id"]) == evs
        for cut in (1, 3, len(evs) - 1):
            assert events(client, run["id"], last_id=evs[cut - 1][0]) == evs[cut:]
        assert client.get(f"/api/runs/{run['id']}/events", params={"after": evs[-1][0]}).text.strip() == ""


def test_resume_mid_run_loses_and_repeats_nothing(server: LiveServer) -> None:
    with server.client() as client:
        run = start(client, {**SHORT, "iterations": 1500, "eval_every": 500})
        head = events(client, run["id"], limit=3)
        tail = events(client, run["id"], last_id=head[-1][0])
        whole = events(client, run["id"])
    assert head + tail == whole
    assert whole[-1][1] == "done"


def test_run_detail_and_list(server: LiveServer, finished: tuple) -> None:
    run, evs = finished
    with server.client() as client:
        detail = client.get(f"/api/runs/{run['id']}").json()
        listed = client.get("/api/runs", params={"limit": 50}).json()
        csv = client.get(f"/api/runs/{run['id']}/metrics.csv").text.splitlines()
        weights = client.get(f"/api/runs/{run['id']}/weights.npz")
    assert detail["status"] == "done" and detail["progress"]["iteration"] == 300
    assert len(detail["metrics"]["loss"]) == 300 and len(detail["metrics"]["epochs"]) == 3
    assert detail["final"]["test_acc"] == detail["metrics"]["epochs"][-1]["test_acc"]
    assert detail["last_event_id"] == evs[-1][0]
    assert "token" not in detail and all("token" not in r for r in listed["runs"])
    assert run["id"] in [r["id"] for r in listed["runs"]]
    assert csv[0] == "iteration,loss,train_acc,test_acc" and len(csv) == 301 and csv[100].startswith("100,")
    assert weights.status_code == 200 and weights.content[:2] == b"PK"


def test_predict_gets_test_images_right(server: LiveServer, finished: tuple) -> None:
    run, _ = finished
    data = load_dataset("mnist")
    right = 0
    with server.client() as client:
        for i in range(10):
            r = client.post(f"/api/runs/{run['id']}/predict", json={"image": data.x_test[i].tolist()})
            assert r.status_code == 200, r.text
            body = r.json()
            right += body["predicted"] == int(data.t_test[i])
            assert sum(body["probabilities"]) == pytest.approx(1, abs=1e-5)
        graph = body["graph"]
    assert right >= 7
    assert set(graph["nodes"]) >= {"x", "W1", "Affine1", "Relu1", "Affine2", "SoftmaxWithLoss"}
    assert graph["nodes"]["W1"]["stats"]["grad"]["norm"] > 0 and graph["nodes"]["W1"]["value"] is None
    assert graph["nodes"]["Affine2"]["shape"] == [1, 10]


def test_predict_rejects_bad_images(server: LiveServer, finished: tuple) -> None:
    run, _ = finished
    with server.client() as client:
        for image, words in (([0.5] * 100, "784 pixels"), ([2.0] * 784, "[0, 1]")):
            r = client.post(f"/api/runs/{run['id']}/predict", json={"image": image})
            assert r.status_code == 422 and words in r.json()["detail"]
        assert client.post("/api/runs/nope/predict", json={"image": [0.0] * 784}).status_code == 404


def test_stop_takes_effect_within_a_second_and_keeps_metrics(server: LiveServer) -> None:
    with server.client() as client:
        run = start(client, LONG)
        wait_status(client, run["id"], ("running",))
        while not client.get(f"/api/runs/{run['id']}").json()["metrics"]["loss"]:
            time.sleep(0.05)
        assert client.post(f"/api/runs/{run['id']}/stop").status_code == 403
        t = time.monotonic()
        r = client.post(f"/api/runs/{run['id']}/stop", headers=auth(run))
        assert r.status_code == 202
        stopped = wait_status(client, run["id"], ("stopped",), timeout=5)
        latency = time.monotonic() - t
    assert latency < 1.0, latency
    assert stopped["progress"]["iteration"] > 0 and len(stopped["metrics"]["loss"]) == stopped["progress"]["iteration"]


def test_stop_is_quick_even_when_evaluations_are_frequent(server: LiveServer) -> None:
    """The full sets scored every 100 iterations: scoring is slower than training, and the evaluations
    waiting to be scored piled up; a stop waited for all of them, was killed after 2 s, and the run
    lost its final figures and its weights."""
    with server.client() as client:
        run = start(client, {"iterations": 1_000_000, "eval_every": 100, "seed": 3})
        wait_status(client, run["id"], ("running",))
        deadline = time.monotonic() + 60
        while len(client.get(f"/api/runs/{run['id']}").json()["metrics"]["epochs"]) < 3:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(1.5)  # a backlog, if evaluations can pile up
        t = time.monotonic()
        assert client.post(f"/api/runs/{run['id']}/stop", headers=auth(run)).status_code == 202
        stopped = wait_status(client, run["id"], ("stopped", "failed"), timeout=10)
        latency = time.monotonic() - t
        weights = client.get(f"/api/runs/{run['id']}/weights.npz")
    assert latency < 1.0, latency
    assert stopped["status"] == "stopped" and stopped["summary"]["test_acc"] > 0.8, stopped["summary"]
    assert stopped["summary"]["iterations"] == stopped["progress"]["iteration"] == len(stopped["metrics"]["loss"])
    assert weights.status_code == 200 and weights.content[:2] == b"PK"


def test_tokens_guard_stop_and_delete(server: LiveServer, finished: tuple) -> None:
    run, _ = finished
    with server.client() as client:
        assert client.post(f"/api/runs/{run['id']}/stop", headers={"Authorization": "Bearer wrong"}).status_code == 403
        assert client.delete(f"/api/runs/{run['id']}").status_code == 403
        assert client.delete("/api/runs/unknown", headers=auth(run)).status_code == 404
        assert client.post(f"/api/runs/{run['id']}/stop", headers=auth(run)).json()["status"] == "done"


def test_delete_removes_run_and_weights(server: LiveServer) -> None:
    with server.client() as client:
        run = start(client, {**SHORT, "iterations": 50, "eval_every": 50})
        wait_status(client, run["id"], ("done",))
        assert client.delete(f"/api/runs/{run['id']}", headers=auth(run)).status_code == 204
        assert client.get(f"/api/runs/{run['id']}").status_code == 404
        assert not (server.settings.data_dir / "weights" / f"{run['id']}.npz").exists()


def test_deleting_a_running_run_leaves_nothing_behind(server: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    """The worker's last events came after the rows were gone: every save failed its foreign key and was
    retried forever, every 2 s, with the finished job kept in memory."""
    manager = server.server.config.app.state.jobs
    with server.client() as client:
        run = start(client, LONG)
        wait_status(client, run["id"], ("running",))
        while not client.get(f"/api/runs/{run['id']}").json()["metrics"]["loss"]:
            time.sleep(0.05)
        assert client.delete(f"/api/runs/{run['id']}", headers=auth(run)).status_code == 204
        assert client.get(f"/api/runs/{run['id']}").status_code == 404
        deadline = time.monotonic() + 5
        while run["id"] in manager.jobs and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2.5)  # past a save retry
    assert run["id"] not in manager.jobs
    assert manager.runs.events(run["id"]) == [] and manager.runs.get(run["id"]) is None
    assert not (server.settings.data_dir / "weights" / f"{run['id']}.npz").exists()
    assert not [r for r in caplog.records if run["id"] in r.getMessage() and "could not save" in r.getMessage()]


def test_queue_positions_and_429(server: LiveServer) -> None:
    with server.client() as client:
        a, b = start(client, LONG), start(client, LONG)
        c = start(client, LONG)  # max_running = 2: the third waits
        assert (a["status"], b["status"], c["status"], c["position"]) == ("running", "running", "queued", 1)
        assert client.get(f"/api/runs/{c['id']}").json()["position"] == 1
        full = client.post("/api/runs", json=LONG)  # queue_size = 1 (and 3 per client): refused
        assert full.status_code == 429 and int(full.headers["retry-after"]) > 0
        assert "limit" in full.json()["detail"]
        for run in (c, a, b):
            client.post(f"/api/runs/{run['id']}/stop", headers=auth(run))
        assert wait_status(client, c["id"], ("stopped",))["progress"]["iteration"] == 0
        for run in (a, b):
            wait_status(client, run["id"], ("stopped",))


@pytest.mark.parametrize(("config", "field"), [
    ({"learning_rate": 0}, "learning_rate"), ({"batch_size": 0}, "batch_size"), ({"optimizer": "rmsprop"}, "optimizer"),
    ({"dataset": "cifar"}, "dataset"), ({"hidden_size": -1}, "hidden_size"), ({"batch_size": 70000}, "batch_size"),
])
def test_bad_configs_name_the_field(server: LiveServer, config: dict[str, Any], field: str) -> None:
    with server.client() as client:
        r = client.post("/api/runs", json=config)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == field and field in r.json()["detail"]


def test_unknown_run_is_404(server: LiveServer) -> None:
    with server.client() as client:
        for method, path in (("GET", "/api/runs/zzz"), ("GET", "/api/runs/zzz/events"), ("GET", "/api/runs/zzz/weights.npz")):
            r = client.request(method, path)
            assert r.status_code == 404 and "zzz" in r.json()["detail"]


def test_restart_keeps_finished_runs_and_marks_the_cut_one_interrupted(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, max_running=1, queue_size=2)
    with LiveServer(settings, subprocess=True) as s, s.client() as client:
        done = start(client, {**SHORT, "iterations": 50, "eval_every": 50})
        wait_status(client, done["id"], ("done",))
        cut = start(client, LONG)
        wait_status(client, cut["id"], ("running",))
        time.sleep(1.5)  # past a flush
        s.kill()
    with LiveServer(settings, subprocess=True) as s, s.client() as client:
        assert client.get(f"/api/runs/{done['id']}").json()["status"] == "done"
        after = client.get(f"/api/runs/{cut['id']}").json()
        assert after["status"] == "interrupted"
        assert after["progress"]["iteration"] > 0 and len(after["metrics"]["loss"]) > 0
        assert events(client, cut["id"])[-1][1] == "interrupted"


def test_graceful_shutdown_is_quick_and_marks_the_run_interrupted(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, max_running=1, queue_size=2)
    with LiveServer(settings, subprocess=True) as s, s.client() as client:
        running, waiting = start(client, LONG), start(client, LONG)
        wait_status(client, running["id"], ("running",))
        t = time.monotonic()
        s.proc.terminate()  # SIGTERM: uvicorn runs the lifespan's shutdown
        s.proc.wait(15)
        assert time.monotonic() - t < 5
    with LiveServer(settings, subprocess=True) as s, s.client() as client:
        for run in (running, waiting):
            after = client.get(f"/api/runs/{run['id']}").json()
            assert after["status"] == "interrupted"
            assert "shut down" in after["summary"]["reason"]
