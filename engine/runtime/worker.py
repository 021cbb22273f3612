"""The worker of one console: advances jobs whose phase is over, then sleeps on the clock.

It wakes at the next due phase, when an operation of this process adds work (`Waker`), and,
on a real clock, at a periodic scan that finds work written by another process sharing the
database. Each pass is one unit of work, so a shutdown between passes leaves nothing
half-written, and a pass interrupted by a crash is simply not committed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
from anyio.abc import TaskStatus

from engine.runtime import units
from engine.runtime.clock import VirtualClock
from engine.store.base import Tx

if TYPE_CHECKING:
    from engine.runtime.console import Console

BATCH = 256


class Worker:
    """Runs one console's jobs; `run` is a task of the simulator's task group."""

    def __init__(self, console: Console, scan_interval_s: float = 0.5) -> None:
        self.console = console
        self.scan_interval_ms = round(scan_interval_s * 1000)
        self.passes = 0
        self.moved = 0

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        console = self.console
        clock = console.clock
        virtual = isinstance(clock, VirtualClock)
        if isinstance(clock, VirtualClock):
            clock.register()
        try:
            task_status.started()
            while True:
                moved, next_due = await console.run_unit(_pass, wake=False)
                self.passes += 1
                self.moved += moved
                if moved >= BATCH:
                    continue
                if not virtual:
                    scan = clock.now_ms() + self.scan_interval_ms
                    next_due = scan if next_due is None else min(next_due, scan)
                await clock.sleep_until(next_due, console.waker)
        except units.ConsoleMissing:
            return  # the console was deleted under us
        finally:
            if isinstance(clock, VirtualClock):
                clock.unregister()

    def __repr__(self) -> str:
        return f"Worker(console={self.console.id!r}, passes={self.passes}, moved={self.moved})"


def _pass(tx: Tx, step: units.Step) -> tuple[int, int | None]:
    moved = units.run_due(tx, step, BATCH)
    return moved, tx.next_due(step.console)
