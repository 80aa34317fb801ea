"""One SQLite database in the data directory; a connection per thread, WAL so readers never block the writer."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
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


MIN_FREE_BYTES = 1 << 20  # below this the disk counts as full: SQLite's WAL alone needs more

DATABASE = "backprop-lab.sqlite3"
HINT = "Set BACKPROP_LAB_DATA_DIR to a writable directory with free space."
REASONS = {
    errno.EROFS: "is on a read-only file system",
    errno.EACCES: "is not writable by this user",
    errno.EPERM: "is not writable by this user",
    errno.ENOSPC: "is on a full disk",
    errno.EDQUOT: "is over its disk quota",
    errno.ENOTDIR: "is not a directory (a part of its path is a file)",
    errno.EEXIST: "is not a directory (a file has its name)",
}


class StoreError(RuntimeError):
    """The data directory or database cannot be used; the message says why and where."""


def check_data_dir(data_dir: Path) -> None:
    """Create the data directory if needed and prove that it can be written and the database read,
    or raise StoreError with one sentence that says why not (start-up calls this before anything else)."""
    data_dir = Path(data_dir)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / f".write-test-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
        free = shutil.disk_usage(data_dir).free
    except OSError as e:
        reason = REASONS.get(e.errno or 0, "cannot be written")
        raise StoreError(f"the data directory {data_dir} {reason} ({e.strerror or e}). {HINT}") from None
    if free < MIN_FREE_BYTES:
        raise StoreError(f"the data directory {data_dir} is on a full disk ({free // 1024} KiB free, "
                         f"at least {MIN_FREE_BYTES // 1024} KiB needed). {HINT}")
    path = data_dir / DATABASE
    if path.exists():
        try:
            with sqlite3.connect(path, timeout=10) as conn:
                conn.execute("PRAGMA schema_version").fetchone()
            conn.close()
        except sqlite3.Error as e:
            raise StoreError(f"cannot use the database {path}: {e}. Move it away to start afresh, or {HINT[0].lower()}{HINT[1:]}") from None


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Store:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / DATABASE
        self._local = threading.local()
        self._schemas: list[str] = [SCHEMA]
        check_data_dir(self.data_dir)
        self.migrate(SCHEMA)

    def migrate(self, schema: str) -> None:
        try:
            with self.connect() as conn:
                conn.executescript(schema)
        except sqlite3.Error as e:
            raise StoreError(f"cannot use the database {self.path}: {e}. {HINT}") from None

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
