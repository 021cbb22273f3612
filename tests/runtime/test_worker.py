"""The worker under a real clock: an idle console costs a read per scan, never a unit of work."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.core.enums import JobKind
from engine.core.progression import PHASES
from engine.simulator import Settings, Simulator
from tests.support.worlds import GROUPS


async def test_idle_consoles_scan_without_units_of_work(tmp_path: Path) -> None:
    """A unit is a write transaction (SQLite's write lock, a commit): 1,000 idle consoles
    scanning twice a second were 2,000 of them a second, taken from every other writer."""
    settings = Settings(db=str(tmp_path / "idle.db"), clock="real", scan_interval_s=0.02)
    async with Simulator(settings) as sim:
        for index in range(10):
            await sim.create_console(f"idle-{index}")
        await asyncio.sleep(0.1)  # every worker has made its first pass
        before = sim.store.stats()["units"]
        await asyncio.sleep(0.3)  # about 15 scans of each of 11 consoles
        assert sim.store.stats()["units"] == before


async def test_a_scan_finds_work_that_no_wake_up_announced(tmp_path: Path) -> None:
    """What another process writes reaches no waker here: the scan finds it once it is due."""
    db = str(tmp_path / "shared.db")
    # every phase 100 ms: the other simulator has closed before any of them ends
    rules = {"restore": {phase.lower(): "100ms" for phase in PHASES[JobKind.RESTORE]}}
    settings = Settings(db=db, clock="real", scan_interval_s=0.02, rules=rules)
    async with Simulator(settings) as sim:
        console = sim.console()
        await asyncio.sleep(0.05)
        async with Simulator(Settings(db=db, clock="real", scan_interval_s=3600)) as other:
            elsewhere = other.console()
            backup = (await elsewhere.list_backups())[0]
            restore = await elsewhere.create_restore(backup.id, GROUPS)
            await elsewhere.request_restore(restore.id)
        for _ in range(200):
            if (await console.get_restore(restore.id)).status.value in {"SUCCESS", "FAILED"}:
                break
            await asyncio.sleep(0.01)
        assert (await console.get_restore(restore.id)).status.value == "SUCCESS"
