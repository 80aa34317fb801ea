"""A run's live event log: worker threads append, any number of async streams wait for what is new."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

Event = tuple[int, str, dict[str, Any]]  # (id, type, data)


class Channel:
    def __init__(self, loop: asyncio.AbstractEventLoop, first_seq: int = 1) -> None:
        self.loop = loop
        self.events: list[Event] = []
        self.next_seq = first_seq
        self.closed = False
        self._lock = threading.Lock()
        self._waiters: set[asyncio.Future[None]] = set()

    def publish(self, kind: str, data: dict[str, Any], final: bool = False) -> Event:
        """Append an event (from any thread) and wake every waiting stream."""
        with self._lock:
            event = (self.next_seq, kind, data)
            self.next_seq += 1
            self.events.append(event)
            self.closed = self.closed or final
        self.loop.call_soon_threadsafe(self._wake)
        return event

    def after(self, seq: int) -> list[Event]:
        with self._lock:
            if not self.events or seq >= self.events[-1][0]:
                return []
            start = max(0, seq - self.events[0][0] + 1)
            return self.events[start:]

    def _wake(self) -> None:
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)
        self._waiters.clear()

    async def wait(self, seq: int, timeout: float) -> None:
        """Until there is an event after ``seq``, the channel closes, or ``timeout`` seconds pass."""
        if self.after(seq) or self.closed:
            return
        fut = self.loop.create_future()
        self._waiters.add(fut)
        try:
            await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            self._waiters.discard(fut)
