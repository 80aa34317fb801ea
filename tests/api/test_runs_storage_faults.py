"""A database that refuses writes mid-run (a full disk) loses nothing and leaves no run stuck as 'running'; the workers' shared count of running runs."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.training import jobs as jobs_module

SHORT = {"iterations": 300, "eval_every": 100, "train_limit": 3000, "test_limit": 1000, "seed": 7, "batch_size": 50}


def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(jobs_module, "SAVE_RETRY", 0.1)
    with TestClient(create_app(Settings(data_dir=tmp_path, max_running=1))) as c:
        yield c


class RefusingWrites:
    """Wraps RunStore.append_events: fails with SQLite's full-disk error while ``full`` is set."""

    def __init__(self, real) -> None:
        self.real, self.full, self.refused = real, False, 0

    def __call__(self, run_id: str, events: list, **fields: Any) -> None:
        if self.full:
            self.refused += 1
            raise sqlite3.OperationalError("database or disk is full")
        self.real(run_id, events, **fields)


def saved_events(client: TestClient, run_id: str) -> list[tuple[int, str, dict]]:
    return client.app.state.jobs.runs.events(run_id)


def test_writes_refused_mid_run_are_saved_once_the_disk_has_room(client: TestClient, monkeypatch) -> None:
    manager = client.app.state.jobs
    refusing = RefusingWrites(manager.runs.append_events)
    monkeypatch.setattr(manager.runs, "append_events", refusing)
    run_id = client.post("/api/runs", json=SHORT).json()["id"]
    wait_for(lambda: manager.live(run_id) is not None and manager.live(run_id).iteration > 0)
    refusing.full = True
    wait_for(lambda: refusing.refused >= 1)
    wait_for(lambda: client.get(f"/api/runs/{run_id}").json()["status"] == "done")

    # Served from memory meanwhile: the API shows the finished run whole, and its slot is free again.
    run = client.get(f"/api/runs/{run_id}").json()
    assert len(run["metrics"]["loss"]) == 300 and [e["iteration"] for e in run["metrics"]["epochs"]] == [100, 200, 300]
    assert run["final"]["test_acc"] > 0.5 and run["finished"] is not None
    assert manager.live(run_id) is not None, "kept in memory while the database refuses it"
    assert manager.runs.get(run_id)["status"] == "running", "the database has not got the end yet"
    assert manager._running() == 0

    live_events = manager.live(run_id).channel.after(0)
    refusing.full = False
    wait_for(lambda: manager.live(run_id) is None)
    row = manager.runs.get(run_id)
    assert row["status"] == "done" and row["iteration"] == 300 and row["summary"]["test_acc"] == run["summary"]["test_acc"]
    stored = saved_events(client, run_id)
    assert [e[0] for e in stored] == list(range(1, len(stored) + 1)), "no gap"
    assert [(e[0], e[1]) for e in stored] == [(e[0], e[1]) for e in live_events]
    assert client.get(f"/api/runs/{run_id}").json()["metrics"] == run["metrics"]


def test_a_run_whose_start_could_not_be_recorded_is_still_recorded_running(client: TestClient, monkeypatch) -> None:
    manager = client.app.state.jobs
    refusing = RefusingWrites(manager.runs.append_events)
    refusing.full = True
    monkeypatch.setattr(manager.runs, "append_events", refusing)
    run_id = client.post("/api/runs", json={**SHORT, "iterations": 100_000}).json()["id"]
    wait_for(lambda: refusing.refused >= 2)
    assert manager.runs.get(run_id)["status"] == "queued"
    refusing.full = False
    wait_for(lambda: manager.runs.get(run_id)["status"] == "running" and manager.runs.get(run_id)["started"])
    token_free_stop = manager.stop(run_id)
    assert token_free_stop == "stopping"
    wait_for(lambda: manager.live(run_id) is None)
    assert manager.runs.get(run_id)["status"] == "stopped"


def test_a_failing_monitor_ends_the_run_as_failed_and_frees_its_worker(client: TestClient, monkeypatch) -> None:
    manager = client.app.state.jobs

    def broken(job) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(manager, "_follow", broken)
    run_id = client.post("/api/runs", json={**SHORT, "iterations": 100_000}).json()["id"]
    wait_for(lambda: client.get(f"/api/runs/{run_id}").json()["status"] == "failed")
    run = client.get(f"/api/runs/{run_id}").json()
    assert run["error"] == "the server lost track of the run (boom)"
    assert manager.runs.get(run_id)["status"] == "failed"
    assert manager._running() == 0


def test_workers_share_how_many_runs_train(tmp_path: Path) -> None:
    """Workers read this count to decide whether a core is spare for overlapping their evaluations."""
    with TestClient(create_app(Settings(data_dir=tmp_path, max_running=2))) as client:
        manager = client.app.state.jobs
        long = {**SHORT, "iterations": 100_000}
        runs = [client.post("/api/runs", json=long).json() for _ in range(2)]
        assert manager.running.value == 2
        client.post(f"/api/runs/{runs[0]['id']}/stop", headers={"Authorization": f"Bearer {runs[0]['token']}"})
        wait_for(lambda: manager.live(runs[0]["id"]) is None)
        assert manager.running.value == 1
        client.post(f"/api/runs/{runs[1]['id']}/stop", headers={"Authorization": f"Bearer {runs[1]['token']}"})
        wait_for(lambda: manager.live(runs[1]["id"]) is None)
        assert manager.running.value == 0


def test_a_run_seen_ended_before_its_row_is_written_shows_its_summary(client: TestClient, monkeypatch) -> None:
    """The final write is held back: meanwhile a reader already sees the run ended, and with its figures
    (it once saw 'stopped' with a null summary when it read the row just before that write)."""

    manager = client.app.state.jobs
    real, holding, release = manager.runs.append_events, threading.Event(), threading.Event()

    def slow_final_write(run_id: str, events: list, **fields: Any) -> None:
        if fields.get("status") == "done":
            holding.set()
            release.wait(30)
        real(run_id, events, **fields)

    monkeypatch.setattr(manager.runs, "append_events", slow_final_write)
    run_id = client.post("/api/runs", json=SHORT).json()["id"]
    wait_for(holding.is_set)
    try:
        assert manager.runs.get(run_id)["status"] == "running"  # the row does not know yet
        t = time.monotonic()
        detail = client.get(f"/api/runs/{run_id}").json()
        listed = client.get("/api/runs").json()["runs"][0]
        waited = time.monotonic() - t
    finally:
        release.set()
    assert waited < 10, waited  # readers do not queue behind the held write (it is held for 30 s)
    assert detail["status"] == "done" and detail["summary"]["test_acc"] == detail["final"]["test_acc"] > 0.5
    assert detail["finished"] is not None and detail["timings"]["seconds"] > 0
    assert listed["status"] == "done" and listed["final"] == detail["final"]
    wait_for(lambda: manager.live(run_id) is None)
    assert client.get(f"/api/runs/{run_id}").json() == detail
