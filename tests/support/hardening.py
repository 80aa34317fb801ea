"""Helpers for tests/hardening: tiny training configs, raw HTTP, process trees and memory, a fuzz-case tally."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.training.config import TrainConfig

# A run that trains in well under a second once its worker is up (the data loads from the cache).
TINY = {"iterations": 20, "eval_every": 10, "train_limit": 300, "test_limit": 100, "batch_size": 50, "seed": 3}
CAPS = {"iterations": 20, "eval_every": 10, "train_limit": 300, "test_limit": 100}

FUZZ_CASES: dict[str, Counter[int]] = {}  # operation -> status code -> cases
FUZZ_SECONDS: dict[str, float] = {}  # operation -> seconds spent in its calls


def valid(config: Any) -> bool:
    try:
        TrainConfig.model_validate(config)
    except (ValidationError, TypeError, ValueError):
        return False
    return True


def shrink_body(operation: str, body: Any) -> Any:
    """Bodies that would cost seconds of CPU, made cheap, for the operations that train or check."""
    if operation == "POST /api/runs":
        return shrink_config(body)
    if operation == "POST /api/gradient-check" and isinstance(body, dict) and type(body.get("hidden_size")) is int \
            and 5 < body["hidden_size"] <= 100:
        return {**body, "hidden_size": 5}
    return body


def shrink_config(body: Any) -> Any:
    """A config the server would accept, made tiny (few iterations, few images); anything else unchanged,
    so a generated invalid config stays exactly as invalid as it was generated."""
    if not isinstance(body, dict) or not valid(body):
        return body
    small = dict(body)
    for key, cap in CAPS.items():
        if small.get(key) is None or (type(small[key]) is int and small[key] > cap):
            small[key] = cap
    if type(small.get("batch_size")) is int:
        small["batch_size"] = min(small["batch_size"], small["train_limit"])
    small["hidden_size"] = min(small.get("hidden_size", 50), 64)
    return small if valid(small) else body


def raw_http(port: int, request: bytes, timeout: float = 10.0, half_close: bool = False) -> bytes:
    """Send bytes exactly as given (no URL normalisation, any body) and read the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:

        def write() -> None:
            try:  # the server may answer (413) and close before the whole body is sent
                s.sendall(request)
                if half_close:
                    s.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        writer.join(timeout)
        return b"".join(chunks)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


def children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (its worker processes)."""
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                kids = [int(k) for k in task.read_text().split()]
            except OSError:
                continue
            out += kids
            todo += kids
    return out


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
