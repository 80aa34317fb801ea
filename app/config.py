"""Settings from environment variables prefixed BACKPROP_LAB_ (documented in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from app.graph.limits import Limits
from app.store.db import StoreError, check_data_dir

PREFIX = "BACKPROP_LAB_"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "backprop-lab"


def _env(name: str, default: str) -> str:
    return os.environ.get(PREFIX + name, default)


def _int(name: str, default: int, minimum: int = 1) -> int:
    raw = _env(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{PREFIX}{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SystemExit(f"{PREFIX}{name} must be at least {minimum}, got {value}")
    return value


def _float(name: str, default: float, minimum: float = 0.0) -> float:
    raw = _env(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"{PREFIX}{name} must be a number, got {raw!r}") from None
    if not minimum <= value < float("inf"):
        raise SystemExit(f"{PREFIX}{name} must be a number of at least {minimum}, got {raw}")
    return value


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    max_running: int = os.cpu_count() or 1
    server_cpus: int = 1  # cores kept free of training for the web server (when there are more than that)
    queue_size: int = 8
    max_active_per_client: int = 3
    run_starts_per_minute: float = 10.0  # per client, a token bucket; 0 turns the limit off
    run_start_burst: int = 10
    max_body_bytes: int = 1_000_000
    cors_origins: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def from_env(cls) -> Settings:
        """The settings, or SystemExit with one clear line when a variable or the data directory is unusable
        (so `backprop-lab serve` and `uvicorn app.main:app` both fail before start-up, without a traceback)."""
        limits = Limits(
            max_nodes=_int("MAX_NODES", Limits.max_nodes),
            max_tensor_elements=_int("MAX_TENSOR_ELEMENTS", Limits.max_tensor_elements),
            max_total_elements=_int("MAX_TOTAL_ELEMENTS", Limits.max_total_elements),
            max_expression_length=_int("MAX_EXPRESSION_LENGTH", Limits.max_expression_length),
        )
        origins = tuple(o.strip() for o in _env("CORS_ORIGINS", "").split(",") if o.strip())
        settings = cls(
            data_dir=Path(_env("DATA_DIR", str(default_data_dir()))).expanduser(),
            max_running=_int("MAX_RUNNING", os.cpu_count() or 1),
            server_cpus=_int("SERVER_CPUS", cls.server_cpus, minimum=0),
            queue_size=_int("QUEUE_SIZE", 8, minimum=0),
            max_active_per_client=_int("MAX_ACTIVE_PER_CLIENT", 3),
            run_starts_per_minute=_float("RUN_STARTS_PER_MINUTE", cls.run_starts_per_minute),
            run_start_burst=_int("RUN_START_BURST", cls.run_start_burst),
            max_body_bytes=_int("MAX_BODY_BYTES", 1_000_000),
            cors_origins=origins,
            limits=limits,
        )
        try:
            check_data_dir(settings.data_dir)
        except StoreError as e:
            raise SystemExit(f"backprop-lab: {e}") from None
        return settings
