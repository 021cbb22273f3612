"""Clocks (engine/runtime/clock.py): the virtual clock alone, and driving a console's jobs."""

from __future__ import annotations

import time

import anyio
import pytest

from engine.core.enums import RestoreStatus
from engine.runtime.clock import VIRTUAL_EPOCH_MS, RealClock, VirtualClock, Waker
from engine.runtime.console import Console
from engine.simulator import Settings, Simulator
from tests.support.clocks import vclock
from tests.support.worlds import GROUPS, make_world

R = RestoreStatus


# --- the clock alone ----------------------------------------------------------------------------


async def test_virtual_clock_starts_at_its_epoch_and_moves_only_when_told() -> None:
    clock = VirtualClock()
    assert clock.now_ms() == VIRTUAL_EPOCH_MS
    await anyio.sleep(0.01)
    assert clock.now_ms() == VIRTUAL_EPOCH_MS
    await clock.advance(1.5)
    assert clock.now_ms() == VIRTUAL_EPOCH_MS + 1_500
    with pytest.raises(ValueError, match="forward"):
        await clock.advance(-1)


async def test_sleepers_wake_in_deadline_order() -> None:
    clock = VirtualClock(0)
    woken: list[tuple[str, int]] = []

    async def sleeper(name: str, deadline: int) -> None:
        clock.register()
        try:
            await clock.sleep_until(deadline, Waker())
            woken.append((name, clock.now_ms()))
        finally:
            clock.unregister()

    async with anyio.create_task_group() as group:
        for name, deadline in (("c", 3_000), ("a", 1_000), ("b", 2_000)):
            group.start_soon(sleeper, name, deadline)
        await clock.settle()
        assert clock.next_deadline() == 1_000
        await clock.advance(2.5)
        assert woken == [("a", 1_000), ("b", 2_000)]
        assert clock.now_ms() == 2_500
        await clock.advance(10)
    assert woken == [("a", 1_000), ("b", 2_000), ("c", 3_000)]
    assert clock.next_deadline() is None


async def test_a_notified_waker_returns_before_its_deadline() -> None:
    clock = VirtualClock(0)
    waker = Waker()
    clock.register()
    async with anyio.create_task_group() as group:
        done = anyio.Event()

        async def sleeper() -> None:
            await clock.sleep_until(None, waker)
            done.set()
            clock.unregister()

        group.start_soon(sleeper)
        await clock.settle()
        waker.notify()
        with anyio.fail_after(1):
            await done.wait()
    assert clock.now_ms() == 0


async def test_real_clock_sleeps_for_real() -> None:
    clock = RealClock()
    before = clock.now_ms()
    assert abs(before - time.time() * 1000) < 1_000
    started = time.perf_counter()
    await clock.sleep_until(clock.now_ms() + 30, Waker())
    assert time.perf_counter() - started >= 0.02


# --- the clock driving jobs ---------------------------------------------------------------------


async def test_advance_runs_phases_in_order(console: Console) -> None:
    """advance(65) over a 5 s + 60 s restore runs both phases, as real time would."""
    await console.set_rule(
        "restore", {"requesting": "0s", "initializing": "5s", "in_progress": "60s"}
    )
    clock = vclock(console)
    t0 = clock.now_ms()
    restore = await console.create_restore(1, GROUPS)
    await console.request_restore(restore.id)
    await clock.advance(65)
    done = await console.get_restore(restore.id)
    assert done.status == R.SUCCESS
    assert done.time_initiated == t0
    assert done.time_completed == t0 + 65_000
    steps = [(f.source, f.dest, f.at_ms - t0) for f in console.history if f.id == restore.id]
    assert steps == [
        ("PENDING", "REQUESTING", 0),
        ("REQUESTING", "INITIALIZING", 0),
        ("INITIALIZING", "IN_PROGRESS", 5_000),
        ("IN_PROGRESS", "SUCCESS", 65_000),
    ]


async def test_advance_stops_short_of_a_deadline(console: Console) -> None:
    await console.set_rule(
        "restore", {"requesting": "0s", "initializing": "5s", "in_progress": "60s"}
    )
    restore = await console.create_restore(1, GROUPS)
    await console.request_restore(restore.id)
    await vclock(console).advance(64.999)
    assert (await console.get_restore(restore.id)).status == R.IN_PROGRESS


async def test_set_backwards_only_moves_now(console: Console) -> None:
    await console.set_rule("restore", {"requesting": "10s", "initializing": "10s"})
    clock = vclock(console)
    t0 = clock.now_ms()
    restore = await console.create_restore(1, GROUPS)
    await console.request_restore(restore.id)
    await clock.set(t0 + 10_000)
    assert (await console.get_restore(restore.id)).status == R.INITIALIZING
    before = list(console.history)
    await clock.set(t0 - 3_600_000)
    assert clock.now_ms() == t0 - 3_600_000
    assert (await console.get_restore(restore.id)).status == R.INITIALIZING
    assert console.history == before  # nothing ran, nothing was undone
    await clock.set(t0 + 19_999)
    assert (await console.get_restore(restore.id)).status == R.INITIALIZING
    await clock.set(t0 + 20_000)
    assert (await console.get_restore(restore.id)).status == R.IN_PROGRESS


async def test_set_forward_runs_due_work(console: Console) -> None:
    clock = vclock(console)
    restore = await console.create_restore(1, GROUPS)
    await console.request_restore(restore.id)
    await clock.set(clock.now_ms() + 24 * 3_600_000)
    assert (await console.get_restore(restore.id)).status == R.SUCCESS


async def test_autojump_finishes_a_restore_with_no_advance() -> None:
    rules = {"restore": {"in_progress": "6h"}}
    async with Simulator(Settings(world=make_world(), autojump=True, rules=rules)) as sim:
        console = sim.console()
        t0 = console.clock.now_ms()
        restore = await console.create_restore(1, GROUPS)
        await console.request_restore(restore.id)
        # wait for the console's changes: nothing here advances the virtual clock, the
        # autojump alone does (the guard is against a hang, not a bound on speed)
        with anyio.fail_after(60):
            while True:
                changed = console.changed()
                if (await console.get_restore(restore.id)).status == R.SUCCESS:
                    break
                await changed.wait()
        done = await console.get_restore(restore.id)
        assert done.time_completed is not None
        assert done.time_completed - t0 >= 6 * 3_600_000


async def test_without_autojump_time_stands_still(console: Console) -> None:
    restore = await console.create_restore(1, GROUPS)
    await console.request_restore(restore.id)
    await anyio.sleep(0.05)
    assert (await console.get_restore(restore.id)).status == R.REQUESTING
