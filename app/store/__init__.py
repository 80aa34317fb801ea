"""SQLite persistence (stdlib sqlite3, WAL): saved graphs, runs and their metrics."""

from .db import Store, StoreError

__all__ = ["Store", "StoreError"]
