"""Training runs as jobs: a bounded queue, one worker process per running run, live events, stop and restart safety.

Each run trains in its own process (no GIL shared with the web server, and a stop that cannot hang):
the worker sends losses, epoch accuracies and weight snapshots through a queue; a monitor thread here
turns them into numbered events, wakes the event streams, and writes the events to SQLite at least
once a second so that a crash loses at most that second.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import multiprocessing as mp
import queue
import secrets
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.store.db import StoreError
from app.store.runs import ACTIVE, RunStore
from app.training.channel import Channel, Event
from app.training.worker import run_worker

LOSS_EVENT_INTERVAL = 0.25  # at most four loss events a second, however fast training is
FLUSH_INTERVAL = 0.5  # events reach SQLite at least twice a second
STOP_GRACE = 2.0  # seconds a worker gets to stop between iterations before it is terminated
SAVE_RETRY = 2.0  # seconds between attempts to save a finished run the database refused (a full disk)

log = logging.getLogger(__name__)


class JobError(Exception):
    """A request about runs that cannot be met; ``status`` is the HTTP status it maps to."""

    def __init__(self, message: str, status: int, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message, self.status, self.retry_after = message, status, retry_after


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Job:
    run_id: str
    config: dict[str, Any]
    client: str
    channel: Channel
    process: Any = None
    monitor: threading.Thread | None = None
    inbox: Any = None
    stop_event: Any = None
    weights: dict[str, np.ndarray] | None = None
    iteration: int = 0
    status: str = "queued"
    stop_requested: bool = False
    deleted: bool = False  # its rows are gone: nothing more is owed to the database
    pending: list[Event] = field(default_factory=list)  # published but not yet in SQLite
    unsaved: dict[str, Any] = field(default_factory=dict)  # row fields a failed write still owes SQLite
    final: dict[str, Any] = field(default_factory=dict)  # the end's row fields, complete before `status` ends

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class JobManager:
    def __init__(self, runs: RunStore, data_dir: Path, max_running: int, queue_size: int, max_per_client: int,
                 cpus: frozenset[int] | None = None) -> None:
        self.runs, self.weights_dir = runs, Path(data_dir) / "weights"
        self.weights_dir.mkdir(parents=True, exist_ok=True)
        self.max_running, self.queue_size, self.max_per_client = max_running, queue_size, max_per_client
        self.jobs: dict[str, Job] = {}
        self.waiting: deque[str] = deque()
        self.lock = threading.RLock()
        self.mp = mp.get_context("spawn")
        self.loop: asyncio.AbstractEventLoop | None = None
        self.closing = False
        self.running = self.mp.Value("i", 0, lock=False)  # the workers read it: overlap evaluations or not
        self.cpus = cpus  # the cores workers may use (None: all)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> list[str]:
        self.loop = asyncio.get_running_loop()
        return self.runs.interrupt_unfinished()

    def shutdown(self, timeout: float = 3.0) -> None:
        """Stop every job quickly; each run cut off is recorded as interrupted with its metrics so far."""
        with self.lock:
            self.closing = True
            for run_id in list(self.waiting):
                self._finish(self.jobs[run_id], "interrupted", {"status": "interrupted", "reason": "the server shut down"})
            self.waiting.clear()
            running = [j for j in self.jobs.values() if j.process is not None]
        for job in running:
            job.stop_event.set()
        deadline = time.monotonic() + timeout
        for job in running:
            job.process.join(max(0.0, deadline - time.monotonic()))
            if job.process.is_alive():
                job.process.terminate()
                job.process.join(1)
        for job in running:  # the monitors record each run's end before the process exits
            if job.monitor is not None:
                job.monitor.join(max(1.0, deadline - time.monotonic()))

    # -- requests --------------------------------------------------------------------------------
    def submit(self, config: dict[str, Any], client: str) -> tuple[str, str, int | None]:
        """A new run: (id, token, queue position or None when it starts at once)."""
        with self.lock:
            if self.closing:
                raise JobError("the server is shutting down", 503, retry_after=5)
            mine = sum(1 for j in self.jobs.values() if j.client == client and j.active)
            if mine >= self.max_per_client:
                raise JobError(f"this client already has {mine} active runs (limit max_active_per_client = "
                               f"{self.max_per_client}); wait for one to finish or stop one", 429, retry_after=10)
            if self._running() >= self.max_running and len(self.waiting) >= self.queue_size:
                raise JobError(f"the queue is full ({len(self.waiting)} runs waiting, limit queue_size = {self.queue_size})",
                               429, retry_after=15)
            run_id, token = secrets.token_hex(6), secrets.token_urlsafe(24)
            self.runs.create(run_id, config, hash_token(token), client)
            job = Job(run_id, config, client, Channel(self._loop()))
            self.jobs[run_id] = job
            self.waiting.append(run_id)
            self._publish(job, "status", {"status": "queued", "position": len(self.waiting)})
            self._schedule()
            return run_id, token, self.position(run_id)

    def check_token(self, run_id: str, authorization: str | None) -> None:
        stored = self.runs.token_hash(run_id)
        if stored is None:
            raise JobError(f"no run with id '{run_id[:40]}'", 404)
        token = (authorization or "").removeprefix("Bearer ").strip()
        # Compare hashes in constant time, so timing tells nothing about the token.
        if not token or not hmac.compare_digest(hash_token(token), stored):
            raise JobError("this run's token is missing or wrong (send Authorization: Bearer <token>)", 403)

    def stop(self, run_id: str) -> str:
        with self.lock:
            job = self.jobs.get(run_id)
            if job is None:
                return self.runs.get(run_id)["status"]
            if not job.active:  # finished, only waiting to be saved
                return job.status
            job.stop_requested = True
            if run_id in self.waiting:
                self.waiting.remove(run_id)
                self._finish(job, "stopped", {"status": "stopped", "iteration": 0, "reason": "stopped before it started"})
                self._schedule()
                return "stopped"
            job.stop_event.set()
        threading.Timer(STOP_GRACE, self._kill_if_alive, args=(job,)).start()
        return "stopping"

    def delete(self, run_id: str) -> None:
        job = self.jobs.get(run_id)
        if job is not None:
            self.stop(run_id)
            if job.process is not None:
                job.process.join(STOP_GRACE + 1)
            if job.monitor is not None and job.monitor is not threading.current_thread():
                job.monitor.join(STOP_GRACE + 1)  # the run's end is recorded before its rows go
        with self.lock:
            job = self.jobs.get(run_id)
            if job is not None:
                # Whatever the job still meant to write (a monitor that outlived the join, a save being
                # retried) would only fail on the deleted rows, and be retried forever: it is dropped.
                job.deleted = True
                if not job.active:
                    self.jobs.pop(run_id)
            self.runs.delete(run_id)
        self.weights_path(run_id).unlink(missing_ok=True)

    # -- queries ---------------------------------------------------------------------------------
    def position(self, run_id: str) -> int | None:
        # No lock: the run list calls this on the event loop, and the lock can be held through a slow
        # database write. deque.index runs whole under the GIL, so it sees the queue before or after a change.
        try:
            return self.waiting.index(run_id) + 1
        except ValueError:
            return None

    def live(self, run_id: str) -> Job | None:
        return self.jobs.get(run_id)

    def weights_path(self, run_id: str) -> Path:
        # Ids come from secrets.token_hex; anything else (a "../" from a URL) never becomes a path.
        if not run_id.isascii() or not run_id.isalnum():
            raise ValueError(f"not a run id: {run_id[:40]!r}")
        return self.weights_dir / f"{run_id}.npz"

    def current_weights(self, run_id: str) -> dict[str, np.ndarray] | None:
        """The newest weights: live from a training worker, else from the run's saved file."""
        job = self.jobs.get(run_id)
        if job is not None and job.weights is not None:
            return job.weights
        path = self.weights_path(run_id)
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in ("W1", "b1", "W2", "b2")}

    # -- internals -------------------------------------------------------------------------------
    def _loop(self) -> asyncio.AbstractEventLoop:
        if self.loop is None:
            self.loop = asyncio.get_event_loop()
        return self.loop

    def _schedule(self) -> None:
        with self.lock:
            while self.waiting and self._running() < self.max_running:
                job = self.jobs[self.waiting.popleft()]
                self._launch(job)
            for i, run_id in enumerate(self.waiting, start=1):
                self._publish(self.jobs[run_id], "status", {"status": "queued", "position": i})
            self.running.value = self._running()

    def _running(self) -> int:
        return sum(1 for j in self.jobs.values() if j.process is not None and j.active)

    def _launch(self, job: Job) -> None:
        job.inbox, job.stop_event = self.mp.Queue(), self.mp.Event()
        self.running.value = self._running() + 1  # this one too, before it starts: is a core spare?
        job.process = self.mp.Process(target=run_worker, name=f"run-{job.run_id}", daemon=True,
                                      args=(job.config, str(self.weights_path(job.run_id)), job.inbox, job.stop_event, self.running,
                                            self.cpus))
        job.process.start()
        job.status = "running"
        started = time.time()
        self._publish(job, "status", {"status": "running"})
        self._flush(job, status="running", started=started)
        job.monitor = threading.Thread(target=self._monitor, args=(job,), name=f"monitor-{job.run_id}", daemon=True)
        job.monitor.start()

    def _publish(self, job: Job, kind: str, data: dict[str, Any], final: bool = False) -> None:
        job.pending.append(job.channel.publish(kind, data, final))

    def _flush(self, job: Job, **fields: Any) -> bool:
        """Write the pending events and row fields; when the database refuses (a full disk, a locked or
        read-only file) keep them in memory for the next attempt, so nothing is lost, and say so."""
        events, job.pending = job.pending, []
        fields = {**job.unsaved, **fields, "iteration": job.iteration}
        if job.deleted:
            job.unsaved = {}
            return True
        try:
            self.runs.append_events(job.run_id, events, **fields)
        except (sqlite3.Error, OSError, StoreError) as e:
            if job.deleted:  # deleted while this write was under way
                job.unsaved = {}
                return True
            job.pending = events + job.pending
            job.unsaved = fields
            log.warning("run %s: could not save %d events (%s); kept in memory, retrying", job.run_id, len(events), e)
            return False
        job.unsaved = {}
        return True

    def _follow(self, job: Job) -> None:
        """Turn the worker's messages into events; batch losses; flush; notice a worker that died."""
        losses: list[float] = []
        held: list[dict[str, Any]] = []  # evaluations waiting for the losses before them to be sent
        first = 0
        last_loss_event = last_flush = time.monotonic()
        outcome: tuple[str, dict[str, Any]] | None = None
        while outcome is None:
            try:
                kind, data = job.inbox.get(timeout=0.1)
            except queue.Empty:
                kind, data = "", {}
                if not job.process.is_alive():
                    code = job.process.exitcode
                    outcome = ("stopped", {"status": "stopped", "reason": "the worker was stopped"}) if job.stop_requested \
                        else ("failed", {"status": "failed", "error": f"the training process ended unexpectedly (exit code {code})"})
            if kind == "losses":
                if not losses:
                    first = data["start"]
                losses.extend(data["values"])
                job.iteration = data["start"] + len(data["values"])
            elif kind == "weights":
                job.weights = data
            elif kind == "epoch":
                # An evaluation's event always comes after the losses up to it. When sending those losses now
                # would break the loss events' pace (eval_every 1 on tiny sets: an evaluation every
                # millisecond), the evaluation waits with them for the next loss event, within 0.25 s.
                held.append(data)
            elif kind in ("done", "stopped", "failed"):
                outcome = (kind, data)
            now = time.monotonic()
            if losses and (now - last_loss_event >= LOSS_EVENT_INTERVAL or outcome):
                self._emit_losses(job, first, losses)
                last_loss_event = now
            if held and not losses:
                for epoch in held:
                    self._publish(job, "epoch", epoch)
                held.clear()
            if now - last_flush >= FLUSH_INTERVAL and job.pending:
                self._flush(job)
                last_flush = now
        if outcome[0] == "stopped" and self.closing:
            outcome = ("interrupted", {**outcome[1], "status": "interrupted", "reason": "the server shut down"})
        job.process.join(1)
        with self.lock:
            self._finish(job, *outcome)
            self._schedule()

    def _monitor(self, job: Job) -> None:
        """Follow the worker; whatever goes wrong here, the run ends (failed) instead of staying 'running'."""
        try:
            self._follow(job)
        except Exception as e:  # noqa: BLE001 - a bug here must not leave a run and its worker orphaned
            log.exception("run %s: monitor failed", job.run_id)
            self._kill_if_alive(job)
            with self.lock:
                if job.active:
                    self._finish(job, "failed", {"status": "failed", "error": f"the server lost track of the run ({e})"})
                    self._schedule()

    def _emit_losses(self, job: Job, first: int, losses: list[float]) -> None:
        if losses:
            self._publish(job, "loss", {"start": first, "values": list(losses)})
            losses.clear()

    def _finish(self, job: Job, status: str, summary: dict[str, Any]) -> None:
        summary = {**summary, "status": status}
        error = summary.get("error") if status == "failed" else None
        # A reader that sees the final status (before the row is written) must see the summary with it.
        job.final = {"status": status, "finished": time.time(), "summary": summary, "error": error}
        job.status = status
        self._publish(job, status, summary, final=True)
        if self._flush(job, **job.final):
            self.jobs.pop(job.run_id, None)
        else:  # the run stays served from memory (it holds no slot) until the database takes it
            self._retry_save(job)

    def _retry_save(self, job: Job) -> None:
        def attempt() -> None:
            with self.lock:
                if self._flush(job):
                    self.jobs.pop(job.run_id, None)
                    return
            if not self.closing:
                self._retry_save(job)

        timer = threading.Timer(SAVE_RETRY, attempt)
        timer.daemon = True
        timer.start()

    def _kill_if_alive(self, job: Job) -> None:
        if job.process is not None and job.process.is_alive():
            job.process.terminate()
