"""One job's fault stays that job's: the engine of every other job and console goes on.

Regression (issue 9, point 1): a write that raised inside the worker ended the task group of
every console's workers: no job moved again anywhere, the gate stayed held, readiness said
true. The faults here are injected where a bug or a bad value would strike: the write of one
phase, a timestamp past what SQLite stores, a rule an older simulator stored.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import anyio
import httpx
import pytest
from structlog.testing import capture_logs

from engine.api.app import create_app
from engine.core.enums import RestoreStatus
from engine.core.errors import Conflict
from engine.runtime.clock import VirtualClock
from engine.runtime.console import Console
from engine.simulator import Simulator
from engine.store.sqlite import SqliteTx
from tests.support.worlds import GROUPS

pytestmark = pytest.mark.chaos

TIMINGS = {"requesting": "1s", "initializing": "1s", "in_progress": "1s"}
#: a guard against a hang (a worker that spins or died): generous, not a measurement
GUARD_S = 60


def break_restore_writes(
    monkeypatch: pytest.MonkeyPatch, console: str, status: str | None = None
) -> None:
    """Every write of a restore of `console` moving to `status` (any status: None) raises."""
    original = SqliteTx.update_restore

    def update_restore(self: SqliteTx, owner: str, id: int, expected: str, record: Any,
                       job: Any) -> bool:  # fmt: skip
        if owner == console and (status is None or record.status.value == status):
            raise RuntimeError(f"injected: writing {record.status.value} fails")
        return original(self, owner, id, expected, record, job)

    monkeypatch.setattr(SqliteTx, "update_restore", update_restore)


def events(logs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == name]


def last_transition(console: Console) -> tuple[str, str, str]:
    fired = console.history[-1]
    return fired.source, fired.dest, fired.event


def guarded(test: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Fail instead of hanging when the engine stops (a worker that died or spins)."""

    @functools.wraps(test)
    async def run(*args: Any, **kwargs: Any) -> None:
        with anyio.fail_after(GUARD_S):
            await test(*args, **kwargs)

    return run


async def two_consoles(sim: Simulator) -> tuple[Console, Console]:
    a, b = sim.console(), await sim.create_console("other")
    for console in (a, b):
        await console.set_rule("restore", TIMINGS)
    return a, b


async def start_restore(console: Console) -> int:
    restore = await console.create_restore(1, GROUPS)
    await console.request_restore(restore.id)
    return restore.id


@guarded
async def test_an_injected_write_failure_fails_that_job_and_no_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with Simulator() as sim:
        a, b = await two_consoles(sim)
        break_restore_writes(monkeypatch, "default", "IN_PROGRESS")
        first, other = await start_restore(a), await start_restore(b)
        with capture_logs() as logs:
            failed = await a.wait_for_restore(first)
            done = await b.wait_for_restore(other)
        assert failed.status is RestoreStatus.FAILED
        assert failed.backup_id is None
        assert failed.time_completed is not None
        assert last_transition(a) == ("INITIALIZING", "FAILED", "fault")
        (faulted,) = events(logs, "job_faulted")
        assert faulted["console"] == "default"
        assert faulted["kind"] == "restore"
        assert faulted["id"] == first
        assert "injected: writing IN_PROGRESS fails" in faulted["cause"]
        assert a.faults[-1]["id"] == first
        assert a.faults[-1]["status"] == "FAILED"
        assert done.status is RestoreStatus.SUCCESS  # the other console never noticed
        assert sim.health().ready
        monkeypatch.undo()
        # the faulted job released the gate as any failure does: the console works on
        second = await start_restore(a)
        assert (await a.wait_for_restore(second)).status is RestoreStatus.SUCCESS


@guarded
async def test_a_job_faulted_where_it_cannot_fail_is_held_and_keeps_the_gate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """REQUESTING has no FAIL transition: the job stays REQUESTING, holds the gate, and
    moves on when stepped."""
    async with Simulator() as sim:
        a, b = await two_consoles(sim)
        break_restore_writes(monkeypatch, "default", "INITIALIZING")
        held, other = await start_restore(a), await start_restore(b)
        assert isinstance(a.clock, VirtualClock)
        await a.clock.advance(5)
        assert (await a.get_restore(held)).status is RestoreStatus.REQUESTING
        assert last_transition(a) == ("REQUESTING", "REQUESTING", "fault")
        with pytest.raises(Conflict) as refused:
            await a.create_backup("CONFIG", "while_held")
        assert refused.value.code.unique == 1016
        assert (await b.wait_for_restore(other)).status is RestoreStatus.SUCCESS
        monkeypatch.undo()
        await a.step("restore", held)
        assert (await a.wait_for_restore(held)).status is RestoreStatus.SUCCESS


@guarded
async def test_a_timestamp_too_large_to_store_faults_the_job_not_the_engine() -> None:
    """The issue's OverflowError: a phase that would end past what SQLite can store (the
    console's clock set far ahead) cannot be written."""
    async with Simulator() as sim:
        a, b = await two_consoles(sim)
        await a.set_rule("restore", {"mode": "manual"})
        first, other = await start_restore(a), await start_restore(b)
        await a.step("restore", first)  # INITIALIZING, waiting to be stepped
        assert isinstance(a.clock, VirtualClock)
        await a.clock.set(2**63 - 500)
        with capture_logs() as logs:  # from now on the phase ends in 1 s: past 2**63 ms
            await a.set_job_rule("restore", first, {**TIMINGS, "mode": "auto"})
            failed = await a.wait_for_restore(first)
        assert failed.status is RestoreStatus.FAILED
        (faulted,) = events(logs, "job_faulted")
        assert faulted["cause"].startswith("OverflowError")
        assert (await b.wait_for_restore(other)).status is RestoreStatus.SUCCESS


@guarded
async def test_a_rule_an_older_simulator_stored_faults_the_job_not_the_engine() -> None:
    """`99999999999999999999h` stored before rules were bounded: each job that reaches the
    phase faults; the console's other work and the other consoles go on."""
    async with Simulator() as sim:
        a, b = await two_consoles(sim)
        first, other = await start_restore(a), await start_restore(b)
        await a.clock.advance(1)  # type: ignore[attr-defined]
        assert (await a.get_restore(first)).status is RestoreStatus.INITIALIZING
        state = await a.state()
        rules = {"restore": {**TIMINGS, "in_progress": "99999999999999999999h"}}
        stored = replace(state, settings={**state.settings, "rules": rules})
        await sim.store.transact(lambda tx: tx.put_console(stored))
        assert (await a.wait_for_restore(first)).status is RestoreStatus.FAILED
        assert (await b.wait_for_restore(other)).status is RestoreStatus.SUCCESS
        backup = await a.create_backup("CONFIG", "after_the_fault")
        assert (await a.wait_for_backup(backup.id)).status.value == "SUCCESS"


@guarded
async def test_a_fault_that_cannot_be_written_holds_the_job_and_the_worker_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with Simulator() as sim:
        a = sim.console()
        await a.set_rule("restore", TIMINGS)
        held = await start_restore(a)
        break_restore_writes(monkeypatch, "default")  # the fault's own write fails too
        with capture_logs() as logs:
            await a.clock.advance(5)  # type: ignore[attr-defined]
        assert (await a.get_restore(held)).status is RestoreStatus.REQUESTING
        (unwritten,) = events(logs, "job_fault_unwritten")
        assert unwritten["id"] == held
        assert "injected" in unwritten["cause"]
        assert a.faults[-1]["status"] is None
        # the worker skips the held job and serves the console's other jobs
        assert (await a.delete_backup(2)).status.value == "DELETING"
        assert await a.wait_for_backup(2, None) is None  # removed by the worker
        monkeypatch.undo()
        await a.step("restore", held)  # moved on by hand: no longer held
        assert (await a.wait_for_restore(held)).status is RestoreStatus.SUCCESS


@guarded
async def test_a_worker_that_dies_is_restarted() -> None:
    async with Simulator() as sim:
        a = sim.console()
        await a.set_rule("restore", TIMINGS)
        clock = a.clock
        assert isinstance(clock, VirtualClock)
        sleep_until = clock.sleep_until
        crashes = []

        async def crash_once(deadline: int | None, waker: Any) -> None:
            if not crashes:
                crashes.append(deadline)
                raise RuntimeError("injected: the worker's sleep fails")
            await sleep_until(deadline, waker)

        clock.sleep_until = crash_once  # type: ignore[method-assign]
        with capture_logs() as logs:
            restore = await start_restore(a)
            done = await a.wait_for_restore(restore)
        assert done.status is RestoreStatus.SUCCESS
        assert crashes
        assert [e["console"] for e in events(logs, "worker_crashed")] == ["default"]
        assert [e["console"] for e in events(logs, "worker_restarted")] == ["default"]


@pytest.mark.parametrize(
    "value",
    ['"99999999999999999999h"', "1e300", "Infinity", '"1' + "0" * 400 + 's"'],
    ids=["hours", "seconds", "infinity", "digits-past-a-float"],
)
@guarded
async def test_a_phase_too_long_for_the_engine_is_refused_by_the_control_surface(
    value: str,
) -> None:
    """Regression: the control surface accepted it and the engine died on the first job."""
    async with Simulator() as sim:
        transport = httpx.ASGITransport(create_app(sim))
        admin = {"Authorization": f"Bearer {sim.admin_token}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sim", headers=admin
        ) as client:
            answer = await client.post(
                "/simulator/consoles/default/control",
                content=f'{{"engine": {{"restore": {{"in_progress": {value}}}}}}}',
                headers={"content-type": "application/json"},
            )
        assert answer.status_code == 400, answer.text
        assert answer.json()["field"] in ("engine.restore.in_progress", "body")  # body: Infinity
        console = sim.console()
        restore = await start_restore(console)
        assert (await console.wait_for_restore(restore)).status is RestoreStatus.SUCCESS


@pytest.mark.parametrize("clock", ["virtual", "real"])
async def test_each_console_has_one_worker(clock: str) -> None:
    """Regression: on a new database the default console was attached twice (by its creation
    and again by the start), so two workers ran its jobs (seen as doubled log lines)."""
    async with Simulator(clock=clock) as sim:  # type: ignore[arg-type]
        await sim.create_console("other")
        names = sorted(
            t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("worker:")
        )
        assert names == ["worker:default", "worker:other"]
