"""Runs and their event log in SQLite. Every SSE event is a row, so a stream can resume from any id."""

from __future__ import annotations

import json
import time
from typing import Any

from .db import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    client TEXT NOT NULL DEFAULT '',
    started REAL,
    finished REAL,
    iteration INTEGER NOT NULL DEFAULT 0,
    summary TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created DESC);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
"""

ACTIVE = ("queued", "running")
FINAL = ("done", "stopped", "failed", "interrupted")


class RunStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        store.migrate(SCHEMA)

    def create(self, run_id: str, config: dict[str, Any], token_hash: str, client: str) -> None:
        self.store.connect().execute(
            "INSERT INTO runs (id, created, status, config, token_hash, client) VALUES (?, ?, 'queued', ?, ?, ?)",
            (run_id, time.time(), json.dumps(config), token_hash, client))

    def update(self, run_id: str, **fields: Any) -> None:
        if "summary" in fields and fields["summary"] is not None:
            fields["summary"] = json.dumps(fields["summary"])
        cols = ", ".join(f"{k} = ?" for k in fields)
        self.store.connect().execute(f"UPDATE runs SET {cols} WHERE id = ?", (*fields.values(), run_id))

    def append_events(self, run_id: str, events: list[tuple[int, str, dict[str, Any]]], **fields: Any) -> None:
        """Events and the run's row change in one transaction: a crash leaves both or neither."""
        conn = self.store.connect()
        with conn:
            conn.execute("BEGIN")
            conn.executemany("INSERT OR IGNORE INTO events (run_id, seq, type, data) VALUES (?, ?, ?, ?)",
                             [(run_id, seq, kind, json.dumps(data)) for seq, kind, data in events])
            if fields:
                self.update(run_id, **fields)

    def get(self, run_id: str) -> dict[str, Any] | None:
        row = self.store.connect().execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else _row(row)

    def token_hash(self, run_id: str) -> str | None:
        row = self.store.connect().execute("SELECT token_hash FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else row["token_hash"]

    def list(self, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        conn = self.store.connect()
        rows = conn.execute("SELECT * FROM runs ORDER BY created DESC, id LIMIT ? OFFSET ?", (limit, offset)).fetchall()
        total = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        return [_row(r) for r in rows], total

    def events(self, run_id: str, after: int = 0) -> list[tuple[int, str, dict[str, Any]]]:
        rows = self.store.connect().execute(
            "SELECT seq, type, data FROM events WHERE run_id = ? AND seq > ? ORDER BY seq", (run_id, after)).fetchall()
        return [(r["seq"], r["type"], json.loads(r["data"])) for r in rows]

    def delete(self, run_id: str) -> None:
        conn = self.store.connect()
        with conn:
            conn.execute("BEGIN")
            conn.execute("DELETE FROM events WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    def interrupt_unfinished(self) -> list[str]:
        """At start-up: a run still queued or running was cut off by a shutdown or a crash."""
        conn = self.store.connect()
        ids = [r["id"] for r in conn.execute("SELECT id FROM runs WHERE status IN ('queued', 'running')")]
        for run_id in ids:
            last = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id = ?", (run_id,)).fetchone()[0]
            summary = {"status": "interrupted", "reason": "the server stopped while this run was active"}
            self.append_events(run_id, [(last + 1, "interrupted", summary)], status="interrupted", finished=time.time(),
                               summary=summary)
        return ids


def _row(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["config"] = json.loads(out["config"])
    out["summary"] = json.loads(out["summary"]) if out["summary"] else None
    out.pop("token_hash", None)
    return out
