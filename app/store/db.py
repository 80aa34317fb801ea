"""One SQLite database in the data directory; a connection per thread, WAL so readers never block the writer."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS graphs (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    created REAL NOT NULL
);
"""


class StoreError(RuntimeError):
    """The data directory or database cannot be used; the message says why and where."""


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Store:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / "backprop-lab.sqlite3"
        self._local = threading.local()
        self._schemas: list[str] = [SCHEMA]
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            probe = self.data_dir / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as e:
            raise StoreError(f"the data directory {self.data_dir} is not writable: {e.strerror or e}. "
                             f"Set BACKPROP_LAB_DATA_DIR to a writable directory.") from None
        self.migrate(SCHEMA)

    def migrate(self, schema: str) -> None:
        try:
            with self.connect() as conn:
                conn.executescript(schema)
        except sqlite3.Error as e:
            raise StoreError(f"cannot use the database {self.path}: {e}") from None

    def connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    def save_graph(self, graph: dict[str, Any]) -> str:
        body = canonical_json(graph)
        gid = hashlib.sha256(body.encode()).hexdigest()[:16]
        self.connect().execute("INSERT INTO graphs (id, body, created) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
                               (gid, body, time.time()))
        return gid

    def get_graph(self, gid: str) -> dict[str, Any] | None:
        row = self.connect().execute("SELECT body FROM graphs WHERE id = ?", (gid,)).fetchone()
        return None if row is None else json.loads(row["body"])
