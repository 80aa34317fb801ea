"""A run as the API shows it: its row, its live state and its event log folded into metrics."""

from __future__ import annotations

import csv
import io
from typing import Any

from app.store.runs import ACTIVE
from app.training.jobs import Job, JobManager


def _current(run: dict[str, Any], manager: JobManager) -> tuple[dict[str, Any], Job | None, str]:
    """The row as it will be once the database has everything the live job still owes it, the job, and the
    status. The status is read first: once it says the run ended, the job's final fields are complete."""
    job = manager.live(run["id"])
    if job is None:
        return run, None, run["status"]
    status = job.status
    final = job.final if status not in ACTIVE else {}
    return {**run, **job.unsaved, **final}, job, status


def run_summary(run: dict[str, Any], manager: JobManager) -> dict[str, Any]:
    return _summary(*_current(run, manager), manager)


def _summary(run: dict[str, Any], job: Job | None, status: str, manager: JobManager) -> dict[str, Any]:
    iterations = int(run["config"].get("iterations", 0))
    iteration = job.iteration if job else run["iteration"]
    summary = run["summary"] or {}
    return {
        "id": run["id"],
        "status": status,
        "position": manager.position(run["id"]),
        "config": run["config"],
        "progress": {"iteration": iteration, "iterations": iterations,
                     "fraction": round(iteration / iterations, 4) if iterations else 0.0},
        "created": run["created"], "started": run["started"], "finished": run["finished"],
        "final": {k: summary.get(k) for k in ("train_acc", "test_acc", "loss")} if summary else None,
        "error": run["error"],
    }


def run_detail(run: dict[str, Any], manager: JobManager) -> dict[str, Any]:
    run, job, status = _current(run, manager)
    out = _summary(run, job, status, manager)
    events = job.channel.after(0) if job else manager.runs.events(run["id"])
    losses: list[float] = []
    epochs: list[dict[str, Any]] = []
    for _, kind, data in events:
        if kind == "loss":
            del losses[data["start"]:]  # a resumed batch never duplicates a point
            losses.extend(data["values"])
        elif kind == "epoch":
            epochs.append(data)
    out["metrics"] = {"loss": losses, "epochs": epochs}
    out["summary"] = run["summary"]
    out["last_event_id"] = events[-1][0] if events else 0
    started, finished = run["started"], run["finished"]
    out["timings"] = {"queued_seconds": (started - run["created"]) if started else None,
                      "seconds": (finished - started) if started and finished else None,
                      "train_seconds": (run["summary"] or {}).get("seconds")}
    return out


def run_metrics_csv(detail: dict[str, Any]) -> str:
    """One row per iteration: loss, and the accuracies at the iterations where they were measured."""
    accs = {e["iteration"]: e for e in detail["metrics"]["epochs"]}
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["iteration", "loss", "train_acc", "test_acc"])
    if 0 in accs:  # an evaluation before the first update
        w.writerow([0, "", accs[0]["train_acc"], accs[0]["test_acc"]])
    for i, loss in enumerate(detail["metrics"]["loss"], start=1):
        e = accs.get(i)
        w.writerow([i, f"{loss:.6g}", e["train_acc"] if e else "", e["test_acc"] if e else ""])
    return buf.getvalue()
