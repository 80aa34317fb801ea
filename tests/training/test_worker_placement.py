"""Where training runs: the idle scheduling class, and off the cores kept for the web server."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.training import worker
from app.training.worker import training_cpus

LONG = {"iterations": 1_000_000, "eval_every": 1_000_000, "train_limit": 2000, "test_limit": 100, "seed": 1}


@pytest.mark.parametrize(("cores", "reserved", "expected"), [
    ({0, 1, 2, 3}, 1, {1, 2, 3}),
    ({0, 1}, 1, {1}),
    ({2, 5, 7}, 2, {7}),  # the lowest-numbered cores of those this process may use stay the server's
    ({0, 1}, 2, None),  # nothing would be left to train on: no reservation
    ({0}, 1, None),
    ({0, 1, 2, 3}, 0, None),  # 0 turns the reservation off
])
def test_training_gets_the_cores_the_server_does_not_keep(monkeypatch: pytest.MonkeyPatch, cores: set[int],
                                                          reserved: int, expected: set[int] | None) -> None:
    monkeypatch.setattr(worker.os, "sched_getaffinity", lambda pid: cores)
    assert training_cpus(reserved) == (None if expected is None else frozenset(expected))


def test_the_reservation_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKPROP_LAB_DATA_DIR", str(tmp_path))
    assert Settings.from_env().server_cpus == 1
    monkeypatch.setenv("BACKPROP_LAB_SERVER_CPUS", "0")
    assert Settings.from_env().server_cpus == 0
    monkeypatch.setenv("BACKPROP_LAB_SERVER_CPUS", "-1")
    with pytest.raises(SystemExit, match="BACKPROP_LAB_SERVER_CPUS must be at least 0, got -1"):
        Settings.from_env()


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="Linux scheduling classes")
def test_a_worker_trains_in_the_idle_class_on_the_training_cores(tmp_path: Path) -> None:
    server = os.sched_getaffinity(0)
    expected = training_cpus(1) or frozenset(server)
    with TestClient(create_app(Settings(data_dir=tmp_path, server_cpus=1))) as client:
        run = client.post("/api/runs", json=LONG).json()
        pid = client.app.state.jobs.jobs[run["id"]].process.pid
        deadline = time.monotonic() + 30
        while os.sched_getscheduler(pid) != os.SCHED_IDLE:  # set as the worker starts
            assert time.monotonic() < deadline, "the worker never left the normal class"
            time.sleep(0.05)
        assert os.sched_getaffinity(pid) == expected
        assert os.sched_getaffinity(0) == server  # the server itself may still use every core
        r = client.post(f"/api/runs/{run['id']}/stop", headers={"Authorization": f"Bearer {run['token']}"})
        assert r.status_code == 202, r.text
