"""The worker of one console: advances jobs whose phase is over, then sleeps on the clock.

It wakes at the next due phase, when an operation of this process adds work (`Waker`), and,
on a real clock, at a periodic scan that finds work written by another process sharing the
database. Each pass is one unit of work, so a shutdown between passes leaves nothing
half-written, and a pass interrupted by a crash is simply not committed.

Faults stay where they belong (docs/decisions.md, "a job the engine cannot advance"):
- the storage failing (disk full, I/O error, locked past the timeout) is nobody's job: the
  worker retries its pass with bounded exponential pauses, and the jobs move on once it can;
- a pass that raises anything else is rolled back and its due jobs run again one unit each;
  a job whose own unit raises is *faulted* (`units.fault_job`), logged as `job_faulted` with
  its cause, and the others move on. A fault that cannot even be written leaves the job held
  by this worker in the state it is in (skipped until it is moved, e.g. stepped, or the
  process restarts), logged as `job_fault_unwritten`;
- the console deleted (here or by another process): the worker ends.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import anyio
import structlog
from anyio.abc import TaskStatus

from engine.runtime import units
from engine.runtime.clock import VirtualClock, Waker
from engine.store.base import StorageError, Tx

if TYPE_CHECKING:
    from engine.runtime.console import Console

log = structlog.get_logger("engine")

BATCH = 256
#: pauses between retries while the storage fails: from the first to the longest
RETRY_FIRST_S = 0.05
RETRY_MAX_S = 2.0

JobKey = units.JobKey


class Worker:
    """Runs one console's jobs; `run` is a task of the simulator's task group."""

    def __init__(self, console: Console, scan_interval_s: float = 0.5) -> None:
        self.console = console
        self.scan_interval_ms = round(scan_interval_s * 1000)
        self.passes = 0
        self.moved = 0
        self.faulted = 0
        #: jobs (in a state) whose fault could not be written: skipped, with the cause
        self.held: dict[JobKey, str] = {}
        self._storage_failing = False

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Until the console is deleted; never raises for a job's or the storage's fault."""
        console = self.console
        clock = console.clock
        virtual = isinstance(clock, VirtualClock)
        if isinstance(clock, VirtualClock):
            clock.register()
        try:
            task_status.started()
            retry = RETRY_FIRST_S
            while True:
                try:
                    moved, next_due = await self._pass()
                except StorageError as error:
                    if not self._storage_failing:
                        self._storage_failing = True
                        log.warning(
                            "worker_waiting_for_storage", console=console.id, cause=error.cause
                        )
                    await self._pause(retry)
                    retry = min(retry * 2, RETRY_MAX_S)
                    continue
                if self._storage_failing:
                    self._storage_failing = False
                    log.info("worker_storage_recovered", console=console.id)
                retry = RETRY_FIRST_S
                self.passes += 1
                self.moved += moved
                if moved >= BATCH:
                    continue
                if virtual:
                    await clock.sleep_until(next_due, console.waker)
                else:
                    await self._sleep_scanning(next_due)
        except units.ConsoleMissing:
            return  # the console was deleted, here or by another process
        finally:
            if isinstance(clock, VirtualClock):
                clock.unregister()

    async def _sleep_scanning(self, next_due: int | None) -> None:
        """A real clock: sleep until the next deadline or a wake-up, and each scan interval
        look (a read, not a unit of work) for work that no wake-up announced: what another
        process sharing the database wrote. An idle console costs a read per scan, never a
        write transaction taken from every other writer."""
        console, clock = self.console, self.console.clock
        while True:
            scan = clock.now_ms() + self.scan_interval_ms
            if next_due is not None and next_due <= scan:
                await clock.sleep_until(next_due, console.waker)
                return
            if await clock.sleep_until(scan, console.waker):
                return
            try:
                next_due = await console.read(partial(_scan, console.id, frozenset(self.held)))
            except StorageError:
                return  # the pass meets it too, and waits for the storage as it does
            if next_due is not None and next_due <= clock.now_ms():
                return

    async def _pass(self) -> tuple[int, int | None]:
        """One pass as one unit; when it raises for another reason than the storage, each due
        job again in a unit of its own, so that one job's fault stays that job's."""
        held = frozenset(self.held)
        try:
            return await self.console.run_worker_unit(units.worker_pass, BATCH, held)
        except (StorageError, units.ConsoleMissing):
            raise
        except Exception as error:
            log.warning("pass_failed", console=self.console.id, cause=_cause(error))
        console = self.console
        due = await console.read(
            lambda tx: tx.due_jobs(console.id, console.clock.now_ms(), BATCH + len(held))
        )
        moved = 0
        for stored in due:
            key = units.job_key(stored)
            if key in self.held:
                continue
            try:
                moved += await console.run_worker_unit(units.run_one, *key[:2])
            except (StorageError, units.ConsoleMissing):
                raise
            except Exception as error:
                await self._fault(key, error)
        held = frozenset(self.held)
        return moved, await console.read(lambda tx: units.next_due(tx, console.id, held))

    async def _fault(self, key: JobKey, error: Exception) -> None:
        kind, id, _ = key
        console = self.console
        self.faulted += 1
        cause = _cause(error)
        status: str | None = None
        try:
            status = await console.run_worker_unit(units.fault_job, kind, id)
        except (StorageError, units.ConsoleMissing):
            raise
        except Exception as second:
            self.held[key] = cause
            log.error(
                "job_fault_unwritten",
                console=console.id,
                kind=kind.value,
                id=id,
                cause=cause,
                error=_cause(second),
                exc_info=error,
            )
        else:
            log.error(
                "job_faulted",
                console=console.id,
                kind=kind.value,
                id=id,
                status=status,
                cause=cause,
                exc_info=error,
            )
        # status None: the fault could not be written; this worker holds the job
        console.faults.append(
            {
                "kind": kind.value,
                "id": id,
                "status": status,
                "cause": cause,
                "at_ms": console.clock.now_ms(),
            }
        )

    async def _pause(self, seconds: float) -> None:
        """Wait before a retry: real seconds, but parked on a virtual clock (its `advance`
        must not wait for a worker that waits for the storage)."""
        clock = self.console.clock
        if isinstance(clock, VirtualClock):
            with anyio.move_on_after(seconds):
                await clock.sleep_until(None, Waker())
        else:
            await anyio.sleep(seconds)

    def __repr__(self) -> str:
        return (
            f"Worker(console={self.console.id!r}, passes={self.passes}, moved={self.moved}, "
            f"faulted={self.faulted}, held={len(self.held)})"
        )


def _cause(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _scan(console: str, held: frozenset[JobKey], tx: Tx) -> int | None:
    """A scan's read: the next deadline; a console deleted elsewhere ends its worker here, as
    its units do (each reads the console's row first)."""
    if tx.console(console) is None:
        raise units.ConsoleMissing(console)
    return units.next_due(tx, console, held)
