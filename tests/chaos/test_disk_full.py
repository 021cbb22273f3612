"""A full disk, for real: the database on a 4 MiB tmpfs that the test fills to the last byte.

Regressions (issue 9, points 1 and 7): a COMMIT on a full disk was followed by a ROLLBACK that
raised "cannot rollback - no transaction is active", which replaced the real cause; writes
answered 500/1000; the worker's failed pass stopped every console's engine. Now a write on a
full disk answers 503 with a QRadar body (code 21) while it lasts, readiness says why, jobs wait
for the space (they are not the ones at fault), and everything recovers by itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from engine.core.enums import RestoreStatus
from engine.simulator import Settings, Simulator
from engine.store.base import ConsoleState, StorageUnavailable
from engine.store.sqlite import SqliteStore
from tests.support.chaos import Served, assert_no_traceback, eventually, fill
from tests.support.http import API
from tests.support.worlds import GROUPS

pytestmark = pytest.mark.chaos

GUARD_S = 30  # against a hang; the store probes at least every 2 s
FULL = "database or disk is full"  # SQLite's words
RUNNING = ("REQUESTING", "INITIALIZING", "IN_PROGRESS")


def padded(name: str) -> Callable[[Any], None]:
    return lambda tx: tx.put_console(ConsoleState(name, settings={"pad": "x" * 3000}))


@pytest.mark.parametrize("units", [1, 3], ids=["one-unit", "a-batch"])
async def test_a_commit_on_a_full_disk_fails_with_the_real_cause(
    small_disk: Path, units: int
) -> None:
    store = await SqliteStore.open(str(small_disk / "store.db"))
    try:
        await store.transact(padded("before"))
        fill(small_disk)
        queued = [store.transact(padded(f"on-a-full-disk-{i}")) for i in range(units)]  # 1 batch
        for outcome in await asyncio.gather(*queued, return_exceptions=True):
            assert isinstance(outcome, StorageUnavailable), repr(outcome)
            assert outcome.cause == FULL
            assert "cannot rollback" not in str(outcome)
        assert store.health().cause == FULL
        assert not store.health().ok
        consoles = await store.read(lambda tx: [c.id for c in tx.consoles()])
        assert consoles == ["before"]  # nothing half-written
    finally:
        await store.close()


async def test_the_store_recovers_by_itself_when_space_returns(small_disk: Path) -> None:
    store = await SqliteStore.open(str(small_disk / "store.db"))
    try:
        filler = fill(small_disk)
        with pytest.raises(StorageUnavailable):
            await store.transact(padded("refused"))
        assert not store.health().ok
        filler.unlink()
        await eventually(lambda: store.health().ok)  # nothing else writes: the store probes
        await store.transact(padded("accepted"))
    finally:
        await store.close()


async def test_a_job_due_while_the_disk_is_full_waits_for_space_and_is_not_faulted(
    small_disk: Path,
) -> None:
    settings = Settings(db=str(small_disk / "bre.db"), clock="real", scan_interval_s=0.05)
    async with Simulator(settings) as sim:
        console = sim.console()
        await console.set_rule("restore", {"requesting": "1s", "initializing": "100ms",
                                           "in_progress": "100ms"})  # fmt: skip
        restore = await console.create_restore(1, GROUPS)
        await console.request_restore(restore.id)
        with capture_logs() as logs:
            filler = fill(small_disk)
            await eventually(lambda: not sim.health().ready)  # the phase ends, unwritable
            assert "cannot be written" in (sim.health().reason or "")
            waiting = await console.get_restore(restore.id)  # in the phase that could not end
            assert waiting.status.value in RUNNING
            filler.unlink()
            done = await console.wait_for_restore(restore.id, within_s=GUARD_S)
        assert done.status is RestoreStatus.SUCCESS
        assert sim.health().ready
        seen = [e["event"] for e in logs]
        assert "job_faulted" not in seen
        assert "worker_waiting_for_storage" in seen
        assert "worker_storage_recovered" in seen


def test_a_served_console_answers_503_while_the_disk_is_full_and_recovers(
    small_disk: Path, serve: Callable[..., Served]
) -> None:
    served = serve(str(small_disk / "bre.db"))
    body = {"name": "on_a_full_disk", "configuration_id": 1}
    with served.client() as client:
        assert client.get("/simulator/ready").json() == {"ready": True}
        filler = fill(small_disk)
        refused = client.post(f"{API}/backups", headers={"backup_type": "CONFIG"}, json=body)
        assert refused.status_code == 503, refused.text
        error = refused.json()
        assert list(error) == ["message", "details", "description", "code", "http_response"]
        assert error["code"] == 21
        assert FULL in error["message"]
        assert error["http_response"] == {
            "code": 503,
            "message": "The server is currently unavailable.",
        }
        assert client.get(f"{API}/backups").status_code == 200  # reads go on
        ready = client.get("/simulator/ready")
        assert ready.status_code == 503
        assert ready.json()["ready"] is False
        assert FULL in ready.json()["reason"]
        filler.unlink()
        deadline = time.monotonic() + GUARD_S  # a guard, not a measurement
        while client.get("/simulator/ready").status_code != 200:
            assert time.monotonic() < deadline, "readiness did not come back by itself"
            time.sleep(0.05)
        accepted = client.post(f"{API}/backups", headers={"backup_type": "CONFIG"}, json=body)
        assert accepted.status_code == 201, accepted.text
    assert [e["event"] for e in served.events("store_failing")] == ["store_failing"]
    assert served.events("store_recovered")
    assert served.stop() == 0
    assert_no_traceback(served.stderr())
