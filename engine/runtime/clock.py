"""Clocks: every timestamp and every wait of the engine goes through one of these.

`RealClock` serves; `VirtualClock` moves only when told (`advance`, `set`) or, with autojump,
whenever every sleeper is parked. Neither patches global time.

A sleeper is a `Waker` parked in `sleep_until`: woken by its deadline or by `Waker.notify()`
(new work). The virtual clock counts parked sleepers so that `advance` can step from one
deadline to the next and let the woken work finish before moving on: advancing 65 s over a
5 s + 60 s restore runs both phases, as real time would.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import anyio

#: 2026-01-01T00:00:00Z: where virtual clocks start unless told otherwise (deterministic).
VIRTUAL_EPOCH_MS = 1_767_225_600_000


class Waker:
    """A re-armable wake-up flag for one sleeper."""

    __slots__ = ("_event", "_flag")

    def __init__(self) -> None:
        self._flag = False
        self._event = anyio.Event()

    def notify(self) -> None:
        self._flag = True
        self._event.set()

    async def wait(self) -> None:
        if not self._flag:
            await self._event.wait()
        self._flag = False
        self._event = anyio.Event()


class Clock(Protocol):
    """What the engine needs of time."""

    virtual: bool

    def now_ms(self) -> int: ...

    async def sleep_until(self, deadline_ms: int | None, waker: Waker) -> bool:
        """Return at the deadline (None: never) or when the waker is notified, whichever first;
        True when the waker was (a virtual clock's deadlines notify it too)."""
        ...

    async def settle(self) -> None:
        """Wait until the engine's sleepers are parked (virtual); a checkpoint otherwise."""
        ...


class RealClock:
    """Wall-clock milliseconds since the epoch."""

    virtual = False

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    async def sleep_until(self, deadline_ms: int | None, waker: Waker) -> bool:
        if deadline_ms is None:
            await waker.wait()
            return True
        delay = max(0.0, (deadline_ms - self.now_ms()) / 1000)
        with anyio.move_on_after(delay):
            await waker.wait()
            return True
        return False

    async def settle(self) -> None:
        await anyio.lowlevel.checkpoint()

    def __repr__(self) -> str:
        return "RealClock()"


class VirtualClock:
    """A clock the simulator owns: time moves only through `advance`, `set` or autojump."""

    virtual = True

    def __init__(self, start_ms: int = VIRTUAL_EPOCH_MS, *, autojump: bool = False) -> None:
        self._now = start_ms
        self._heap: list[tuple[int, int, Waker]] = []
        self._seq = itertools.count()
        self._sleepers = 0  # registered sleepers (started and not finished)
        self._parked = 0  # sleepers waiting in sleep_until
        self._quiet = anyio.Event()
        self._lock = anyio.Lock()
        self.autojump = autojump
        self._changed = anyio.Event()

    def now_ms(self) -> int:
        return self._now

    def register(self) -> None:
        """A task that will sleep on this clock (the console's worker) starts."""
        self._sleepers += 1

    def unregister(self) -> None:
        self._sleepers -= 1
        self._maybe_quiet()

    def _maybe_quiet(self) -> None:
        if self._parked >= self._sleepers:
            self._quiet.set()
            if self.autojump:
                self._changed.set()

    async def sleep_until(self, deadline_ms: int | None, waker: Waker) -> bool:
        if deadline_ms is not None and deadline_ms <= self._now:
            await anyio.lowlevel.checkpoint()
            return False
        if deadline_ms is not None:
            heapq.heappush(self._heap, (deadline_ms, next(self._seq), waker))
        self._parked += 1
        self._maybe_quiet()
        try:
            await waker.wait()
        finally:
            self._parked -= 1
            if self._parked < self._sleepers:
                self._quiet = anyio.Event()
            # a woken waker leaves a stale heap entry; drop ours if still queued
            self._heap = [e for e in self._heap if e[2] is not waker]
            heapq.heapify(self._heap)
        return True  # a virtual deadline wakes through the waker too

    async def settle(self) -> None:
        """Let every sleeper run until it parks again."""
        await anyio.lowlevel.checkpoint()
        while self._parked < self._sleepers:
            await self._quiet.wait()
            await anyio.lowlevel.checkpoint()

    def next_deadline(self) -> int | None:
        return self._heap[0][0] if self._heap else None

    async def advance(self, seconds: float) -> None:
        """Move time forward, running due work at each deadline in order."""
        if seconds < 0:
            raise ValueError("a clock only advances forward; use set() to move back")
        await self.advance_to(self._now + round(seconds * 1000))

    async def advance_to(self, target_ms: int) -> None:
        async with self._lock:
            await self.settle()
            while self._heap and self._heap[0][0] <= target_ms:
                deadline = self._heap[0][0]
                self._now = max(self._now, deadline)
                while self._heap and self._heap[0][0] <= self._now:
                    _, _, waker = heapq.heappop(self._heap)
                    waker.notify()
                await self.settle()
            self._now = max(self._now, target_ms)

    async def set(self, when_ms: int) -> None:
        """Jump to an instant (forward runs due work; backward only moves `now`)."""
        if when_ms >= self._now:
            await self.advance_to(when_ms)
        else:
            self._now = when_ms

    async def jump_to_next(self, limit_ms: int | None = None) -> bool:
        """Advance to the earliest deadline (not past `limit_ms`); False when there is none."""
        await self.settle()
        deadline = self.next_deadline()
        if deadline is None or (limit_ms is not None and deadline > limit_ms):
            return False
        await self.advance_to(deadline)
        return True

    async def run_autojump(self) -> None:
        """Background task for autojump: whenever all sleepers are parked, jump to the next one."""
        while True:
            await self._changed.wait()
            self._changed = anyio.Event()
            if self.autojump and self._parked >= self._sleepers and self._heap:
                await self.jump_to_next()

    def __repr__(self) -> str:
        return (
            f"VirtualClock(now_ms={self._now}, sleepers={self._sleepers}, "
            f"parked={self._parked}, deadlines={len(self._heap)})"
        )


class SharedClock(VirtualClock):
    """A virtual clock that several processes share through their database: every move made
    here is published (`publish(now_ms)`, written to the database, which tells the other
    processes), and a move published elsewhere is followed (`follow`), running the due work
    here as `advance` does. Processes agree on the time within a notification's delay."""

    def __init__(
        self, publish: Callable[[int], Awaitable[None]], start_ms: int = VIRTUAL_EPOCH_MS,
        *, autojump: bool = False,
    ) -> None:  # fmt: skip
        super().__init__(start_ms, autojump=autojump)
        self._publish = publish
        #: called before a move made here: the console's worker looks at the database again,
        #: so that a job another process started just before is among the deadlines stepped
        #: through (its notification may not have arrived yet)
        self.before_move: Callable[[], None] | None = None

    async def advance_to(self, target_ms: int) -> None:
        if self.before_move is not None:
            self.before_move()  # the worker's pass runs in the settle that advance_to begins with
        await super().advance_to(target_ms)
        await self._publish(self.now_ms())

    async def set(self, when_ms: int) -> None:
        backward = when_ms < self.now_ms()
        await super().set(when_ms)  # forward: through advance_to, which publishes
        if backward:
            await self._publish(self.now_ms())

    async def follow(self, when_ms: int) -> None:
        """Another process moved the clock to `when_ms`: move here too, unpublished."""
        if when_ms > self.now_ms():
            await super().advance_to(when_ms)
        elif when_ms < self.now_ms():
            await super().set(when_ms)

    def __repr__(self) -> str:
        return "Shared" + super().__repr__()
