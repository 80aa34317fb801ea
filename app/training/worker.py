"""The process that trains one run: it reports through a queue and saves the final weights.

Runs in a spawned child, so the web server's event loop never shares a GIL with training,
and a stop that the loop does not honour can end with terminate().
"""

from __future__ import annotations

import os
import time
from typing import Any

LOSS_BATCH_SECONDS = 0.1  # how often losses cross to the server (it batches them further into events)
WEIGHTS_EVERY_SECONDS = 0.5  # how often a running run's weights are sent, for live predictions


def run_worker(config: dict[str, Any], weights_path: str, inbox: Any, stop_event: Any, running: Any = None,
               cpus: frozenset[int] | None = None) -> None:
    """``running``: a shared count of the server's training workers; evaluations overlap training in a
    second thread only while that leaves one of the workers' cores spare (otherwise that thread would take
    a core the web server needs: evaluate p99 went from 1.7 to 5 ms beside two workers scoring in parallel).
    ``cpus``: the cores training may use (None: all); the others stay the web server's."""
    # Training is background work: below the web server in priority, one BLAS thread per run,
    # so requests stay fast while runs use the cores (numpy is first imported after this).
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    below_the_server(cpus)
    try:
        _train(config, weights_path, inbox, stop_event, running)
    except Exception as e:  # noqa: BLE001 - anything the loop raises is the run's failure, reported by name
        message = e.message if hasattr(e, "message") else str(e)
        inbox.put(("failed", {"error": f"{type(e).__name__}: {message}"[:2000]}))


def below_the_server(cpus: frozenset[int] | None = None) -> None:
    """SCHED_IDLE: this process (and the threads it starts later) runs only when a core would otherwise idle,
    so a request's thread never waits behind training for its time slice. Where the policy is missing, nice 19.
    And only on ``cpus``: with every core busy, even idle-class work cost requests their p99 (the hypervisor's
    steal, shared caches), which one core left to the server avoids."""
    if cpus:
        try:
            os.sched_setaffinity(0, cpus)
        except (AttributeError, OSError):
            pass
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        try:
            os.nice(19)
        except OSError:
            pass


def _train(config: dict[str, Any], weights_path: str, inbox: Any, stop_event: Any, running: Any = None) -> None:
    from app.training.loop import Progress, train

    pending: list[float] = []
    sent_at = weights_at = 0.0

    def send_losses(iteration: int) -> None:
        nonlocal sent_at
        if pending:
            inbox.put(("losses", {"start": iteration - len(pending), "values": list(pending)}))
            pending.clear()
        sent_at = time.monotonic()

    def on_progress(p: Progress) -> None:
        nonlocal weights_at
        now = time.monotonic()
        if p.kind == "loss":
            pending.extend(p.losses)
            if now - sent_at >= LOSS_BATCH_SECONDS or p.iteration == p.iterations:
                send_losses(p.iteration)
        else:
            send_losses(p.iteration)
            inbox.put(("epoch", {"iteration": p.iteration, "epoch": round(p.epoch, 4), "train_acc": p.train_acc,
                                 "test_acc": p.test_acc, "elapsed": round(p.elapsed, 3)}))
        if now - weights_at >= WEIGHTS_EVERY_SECONDS:
            inbox.put(("weights", {k: v.copy() for k, v in p.net.params.items()}))
            weights_at = now

    parent = os.getppid()

    def should_stop() -> bool:
        # A server killed with -9 cannot stop us: notice that our parent is gone and end.
        if os.getppid() != parent:
            # Nobody reads the queue any more, and its pipe fills: without this, exiting would wait forever
            # for the queue's feeder thread, keeping this process (and the resource tracker) alive.
            inbox.cancel_join_thread()
            return True
        return stop_event.is_set()

    cores = len(usable_cpus())
    overlap = True if running is None else (lambda: running.value < cores)
    result = train(config, on_progress, should_stop, report_every=10, overlap_eval=overlap)
    send_losses(result.iterations)
    result.net.save(weights_path)
    inbox.put(("weights", {k: v.copy() for k, v in result.net.params.items()}))
    summary = {"train_acc": result.final_train_acc, "test_acc": result.final_test_acc,
               "loss": float(result.losses[-1]) if len(result.losses) else None, "iterations": result.iterations,
               "seconds": round(result.seconds, 3), "seed": result.config.seed}
    inbox.put(("stopped" if result.stopped else "done", summary))


def usable_cpus() -> frozenset[int]:
    """The cores this process may run on."""
    try:
        return frozenset(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return frozenset(range(os.cpu_count() or 1))


def training_cpus(reserved: int) -> frozenset[int] | None:
    """The cores left to training once ``reserved`` are kept for the web server, or None (all of them)
    when there are too few cores to keep any."""
    cpus = sorted(usable_cpus())
    if reserved <= 0 or len(cpus) <= reserved:
        return None
    return frozenset(cpus[reserved:])
