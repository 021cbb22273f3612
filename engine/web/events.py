"""Server-sent events that tell an open page something changed, so it fetches what it shows.

One stream per open page. A stream looks at a cheap fingerprint of what its page shows (the
journal's count, the console's phases and settings, the clock) when the console signals a change
and at least every TICK_S, and sends `change` when it differs: the browser never polls rows.

Bounded: at most `limit` streams at once (503 beyond, with `Retry-After`); a stream whose page
saw no change for IDLE_S ends (`end: idle`: the page offers to resume); a comment every PING_S
finds clients that went away; and when the server stops, every stream ends within TICK_S
(`end: stopping`), well inside the server's graceful shutdown.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable

import anyio

TICK_S = 0.2
IDLE_S = 600.0
PING_S = 15.0
MAX_STREAMS = 32

Fingerprint = Callable[[], Awaitable[Hashable]]
Changed = Callable[[], anyio.Event | None]


def event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


class Streams:
    """The open event streams of the page, counted against their bound."""

    def __init__(
        self,
        stopping: Callable[[], bool],
        *,
        limit: int = MAX_STREAMS,
        idle_s: float = IDLE_S,
        tick_s: float = TICK_S,
    ) -> None:
        self.stopping = stopping
        self.limit = limit
        self.idle_s = idle_s
        self.tick_s = tick_s
        self.open = 0

    @property
    def full(self) -> bool:
        return self.open >= self.limit

    async def stream(self, fingerprint: Fingerprint, changed: Changed) -> AsyncIterator[str]:
        """The events of one page: `hello`, then `change` whenever the fingerprint moves, then
        `end` (idle, stopping, or what it watches is gone)."""
        self.open += 1
        try:
            yield "retry: 2000\n\n"
            try:
                last = await fingerprint()
            except LookupError:
                yield event("end", "gone")
                return
            yield event("hello", {"tick_s": self.tick_s, "idle_s": self.idle_s})
            quiet_since = pinged = time.monotonic()
            while True:
                signal = changed()
                with anyio.move_on_after(self.tick_s):
                    if signal is not None:
                        await signal.wait()
                    else:
                        await anyio.sleep(self.tick_s)
                if self.stopping():
                    yield event("end", "stopping")
                    return
                try:
                    current = await fingerprint()
                except LookupError:
                    yield event("end", "gone")
                    return
                now = time.monotonic()
                if current != last:
                    last, quiet_since = current, now
                    yield event("change", {})
                    await anyio.sleep(self.tick_s)  # at most one change per tick under load
                elif now - quiet_since >= self.idle_s:
                    yield event("end", "idle")
                    return
                elif now - pinged >= PING_S:
                    pinged = now
                    yield ": ping\n\n"
        finally:
            self.open -= 1
