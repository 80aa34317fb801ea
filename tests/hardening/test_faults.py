"""Faults: the server killed mid-run, an unusable data directory at start-up, storage failing at run time,
clients that vanish mid-stream.

tests/api/test_runs_api.py already checks that a run cut by kill -9 comes back `interrupted` with some
metrics. Here: exactly which metrics (a prefix of what was live, at least all that was older than a
flush), the database file consistent before anything repairs it, the workers gone with their server,
queued runs, a finished run byte for byte, and a second restart changing nothing.

Read-only and full directories are real file systems when this machine lets the test mount a tmpfs
(root with CAP_SYS_ADMIN; chmod does not stop root); otherwise those cases skip and the same errors are
injected (errno EROFS / ENOSPC, a disk reporting 100 KiB free) below the check instead.
"""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import socket
import sqlite3
import subprocess as sp
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.store.db import StoreError, check_data_dir

from support.hardening import TINY, alive, children, raw_http
from support.live_server import LiveServer

LONG = {"iterations": 1_000_000, "eval_every": 1_000_000, "train_limit": 2000, "test_limit": 200, "seed": 1}


def wait_status(client: httpx.Client, run_id: str, statuses: tuple[str, ...], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["status"] in statuses or time.monotonic() > deadline:
            assert run["status"] in statuses, run["status"]
            return run
        time.sleep(0.05)


def events(client: httpx.Client, run_id: str) -> list[tuple[str, str, str]]:
    """(id, event, data) of every event of a finished run, parsed by hand from the raw stream."""
    out, block = [], {}
    for line in client.get(f"/api/runs/{run_id}/events").text.splitlines() + [""]:
        if not line:
            if "id" in block:
                out.append((block["id"], block.get("event", ""), block.get("data", "")))
            block = {}
        elif ":" in line and not line.startswith(":"):
            key, value = line.split(":", 1)
            block[key] = value.strip()
    return out


def check_database(path: Path) -> None:
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        for (run_id,) in db.execute("SELECT id FROM runs").fetchall():
            seqs = [s for (s,) in db.execute("SELECT seq FROM events WHERE run_id = ? ORDER BY seq", (run_id,))]
            assert seqs == list(range(1, len(seqs) + 1)), f"run {run_id}: event ids with gaps"
    db.close()


# --- kill -9 during a run -------------------------------------------------------------------------

def test_kill_9_mid_run_keeps_every_flushed_metric_and_nothing_else_changes(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, max_running=1, queue_size=2)
    db = tmp_path / "backprop-lab.sqlite3"
    with LiveServer(settings, subprocess=True) as s, s.client() as client:
        done = client.post("/api/runs", json=TINY).json()
        wait_status(client, done["id"], ("done",))
        done_detail, done_events = client.get(f"/api/runs/{done['id']}").json(), events(client, done["id"])
        weights = client.get(f"/api/runs/{done['id']}/weights.npz").content
        cut = client.post("/api/runs", json=LONG).json()
        queued = client.post("/api/runs", json=LONG).json()
        wait_status(client, cut["id"], ("running",))
        while len(client.get(f"/api/runs/{cut['id']}").json()["metrics"]["loss"]) < 20:
            time.sleep(0.05)
        older = client.get(f"/api/runs/{cut['id']}").json()["metrics"]["loss"]
        time.sleep(1.5)  # three flush intervals: everything in `older` is on disk
        live = client.get(f"/api/runs/{cut['id']}").json()["metrics"]["loss"]
        assert s.proc is not None
        workers = children(s.proc.pid)
        assert workers, "the running run has a worker process"
        s.kill()

    deadline = time.monotonic() + 10  # workers notice their parent is gone and end
    while any(alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(p) for p in workers), "a worker outlived its server"
    check_database(db)  # as kill -9 left it, before any start-up repairs

    with LiveServer(settings, subprocess=True) as s, s.client() as client:
        after = client.get(f"/api/runs/{cut['id']}").json()
        assert after["status"] == "interrupted"
        kept = after["metrics"]["loss"]
        assert len(older) <= len(kept) <= len(live) and kept == live[:len(kept)]
        assert after["progress"]["iteration"] >= len(older)
        cut_events = events(client, cut["id"])
        assert cut_events[-1][1] == "interrupted"
        waiting = client.get(f"/api/runs/{queued['id']}").json()
        assert waiting["status"] == "interrupted" and waiting["progress"]["iteration"] == 0
        assert client.get(f"/api/runs/{done['id']}").json() == done_detail
        assert events(client, done["id"]) == done_events
        assert client.get(f"/api/runs/{done['id']}/weights.npz").content == weights
        fresh = client.post("/api/runs", json=TINY).json()  # and the server trains again
        assert wait_status(client, fresh["id"], ("done",))["final"]["test_acc"] is not None
    check_database(db)

    with LiveServer(settings, subprocess=True) as s, s.client() as client:  # a second start changes nothing
        assert events(client, cut["id"]) == cut_events
        assert client.get(f"/api/runs/{done['id']}").json() == done_detail
    check_database(db)


# --- an unusable data directory at start-up -------------------------------------------------------

COMMANDS = {"serve": [sys.executable, "-m", "app", "serve", "--port", "0"],
            "uvicorn": [sys.executable, "-m", "uvicorn", "app.main:app", "--port", "0"]}


def start_fails_clearly(data_dir: Path, reason: str) -> None:
    for name, command in COMMANDS.items():
        env = {**os.environ, "BACKPROP_LAB_DATA_DIR": str(data_dir)}
        done = sp.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode != 0, f"{name} started on {data_dir}"
        assert "Traceback" not in done.stderr, f"{name}:\n{done.stderr}"
        line = done.stderr.strip().splitlines()[-1]
        assert line.startswith("backprop-lab: ") and str(data_dir) in line and reason in line, f"{name}: {line}"
        assert "BACKPROP_LAB_DATA_DIR" in line or "Move it away" in line


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Any]:
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        point = tmp_path / f"mnt{len(mounted)}"
        point.mkdir()
        if os.geteuid() != 0 or sp.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                                      capture_output=True).returncode != 0:
            pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN); see the injected-error tests")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        sp.run(["umount", "-l", str(point)], check=False)


def test_a_data_dir_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    start_fails_clearly(tmp_path / "a-file" / "data", "is not a directory")


def test_a_read_only_data_dir_is_a_clear_error(tmpfs: Any) -> None:
    start_fails_clearly(tmpfs("size=1m,ro") / "data", "read-only file system")


def test_a_full_data_dir_is_a_clear_error(tmpfs: Any) -> None:
    point = tmpfs("size=256k")
    (point / "data").mkdir()
    fd = os.open(point / "filler", os.O_WRONLY | os.O_CREAT)
    try:  # fill it to the last block
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as e:
        assert e.errno == errno.ENOSPC
    finally:
        os.close(fd)
    start_fails_clearly(point / "data", "full disk")
    (point / "filler").unlink()
    with open(point / "filler", "wb") as f:  # a few blocks free: still too full to run a database
        f.write(b"\0" * 160 * 1024)
    start_fails_clearly(point / "data", "full disk")


def test_a_broken_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "backprop-lab.sqlite3").write_bytes(b"this is not a database" * 100)
    start_fails_clearly(tmp_path, "file is not a database")


@pytest.mark.parametrize(("code", "words"), [(errno.EROFS, "read-only file system"), (errno.ENOSPC, "full disk"),
                                             (errno.EACCES, "not writable by this user"), (errno.EDQUOT, "quota")])
def test_injected_write_errors_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, words: str) -> None:
    def refuse(self: Path, data: bytes) -> int:
        raise OSError(code, os.strerror(code), str(self))

    monkeypatch.setattr(Path, "write_bytes", refuse)
    with pytest.raises(StoreError, match=words):
        check_data_dir(tmp_path / "data")
    monkeypatch.setenv("BACKPROP_LAB_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(SystemExit, match=f"backprop-lab: .*{words}"):
        Settings.from_env()


def test_an_almost_full_disk_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9, 100 * 1024))
    with pytest.raises(StoreError, match="full disk .100 KiB free"):
        check_data_dir(tmp_path)


def test_storage_failing_at_run_time_is_503_not_500(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    with TestClient(app) as client:
        def full(graph: Any) -> str:
            raise sqlite3.OperationalError("database or disk is full")

        app.state.store.save_graph = full
        r = client.post("/api/graphs", json={"nodes": [{"id": "a", "op": "input", "value": 1}]})
    assert r.status_code == 503 and "disk is full" in r.json()["detail"] and int(r.headers["retry-after"]) > 0


# --- clients that vanish mid-stream ----------------------------------------------------------------

def test_dropped_event_streams_free_their_tasks_and_waiters(tmp_path: Path) -> None:
    with LiveServer(Settings(data_dir=tmp_path, max_running=1)) as s, s.client() as client:
        assert s.server is not None
        manager = s.server.config.app.state.jobs
        running = client.post("/api/runs", json=LONG).json()
        queued = client.post("/api/runs", json=LONG).json()
        wait_status(client, running["id"], ("running",))

        async def count_tasks() -> int:
            return len(asyncio.all_tasks())

        def tasks() -> int:
            return asyncio.run_coroutine_threadsafe(count_tasks(), manager.loop).result(5)

        try:
            for run in (running, queued):
                channel = manager.live(run["id"]).channel
                baseline = tasks()
                for _ in range(3):  # open 40 streams, read their first event, vanish; three times over
                    socks = []
                    for _ in range(40):
                        sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
                        sock.sendall(f"GET /api/runs/{run['id']}/events HTTP/1.1\r\nHost: t\r\n\r\n".encode())
                        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
                        socks.append(sock)
                    deadline = time.monotonic() + 5
                    while len(channel._waiters) < 40 and time.monotonic() < deadline:
                        time.sleep(0.02)
                    assert len(channel._waiters) == 40 and tasks() > baseline + 40
                    for sock in socks:
                        sock.close()
                    deadline = time.monotonic() + 5
                    while (channel._waiters or tasks() > baseline) and time.monotonic() < deadline:
                        time.sleep(0.05)
                    assert not channel._waiters and tasks() <= baseline, (len(channel._waiters), tasks(), baseline)
                assert b"200 OK" in raw_http(s.port, b"GET /api/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        finally:
            for run in (queued, running):
                client.post(f"/api/runs/{run['id']}/stop", headers={"Authorization": f"Bearer {run['token']}"})
            wait_status(client, running["id"], ("stopped",))
