"""Token buckets per client: how often one client may start training runs.

Each client has a bucket of ``burst`` tokens that refills at ``per_minute`` tokens a minute; starting a
run takes one. An empty bucket answers how many seconds until the next token, which becomes the 429's
Retry-After. Buckets that have refilled completely carry no information and are dropped, so a
classroom of clients costs memory only while they are busy.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class TokenBuckets:
    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 max_clients: int = 10_000) -> None:
        self.rate, self.burst, self.clock, self.max_clients = per_minute / 60.0, burst, clock, max_clients
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, when counted)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def _level(self, key: str, now: float) -> float:
        tokens, then = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - then) * self.rate)

    def take(self, key: str) -> int:
        """Take a token for ``key``: 0 when granted, else the whole seconds to wait for one."""
        if not self.enabled:
            return 0
        with self._lock:
            now = self.clock()
            tokens = self._level(key, now)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return max(1, math.ceil((1 - tokens) / self.rate))
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > self.max_clients:
                self._forget_full(now)
            return 0

    def refund(self, key: str) -> None:
        """Give back the token of a start that was refused for another reason (a full queue)."""
        if not self.enabled:
            return
        with self._lock:
            now = self.clock()
            self._buckets[key] = (min(self.burst, self._level(key, now) + 1), now)

    def _forget_full(self, now: float) -> None:
        for key in [k for k in self._buckets if self._level(k, now) >= self.burst]:
            del self._buckets[key]
        # Still too many (a flood of addresses): forget the longest-idle, which refilled the most.
        excess = len(self._buckets) - self.max_clients * 9 // 10
        if excess > 0:
            for key in sorted(self._buckets, key=lambda k: self._buckets[k][1])[:excess]:
                del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)
