"""Units of work: how a chain of transitions reaches the store."""

from __future__ import annotations

from typing import Any

import pytest

from engine.core import validation
from engine.core.enums import RestoreStatus
from engine.runtime import units
from engine.runtime.console import Console
from engine.store.base import StaleState, Tx
from tests.support.worlds import GROUPS


class Recording:
    """A `Tx` that passes everything through and records the restore updates; with `lose`, the
    compare-and-set finds the row changed (as if another writer had got there first)."""

    def __init__(self, tx: Tx, lose: bool = False) -> None:
        self._tx = tx
        self.lose = lose
        self.updates: list[tuple[str, RestoreStatus]] = []

    def update_restore(self, console: str, id: int, expected: str, record: Any, job: Any) -> bool:
        self.updates.append((expected, record.status))
        if self.lose:
            return False
        return self._tx.update_restore(console, id, expected, record, job)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)


async def _request(console: Console, id: int, lose: bool) -> tuple[Recording, units.Unit]:
    unit = units.Unit(console.id, console.clock.now_ms(), console.machines)
    recordings: list[Recording] = []

    def work(tx: Tx) -> None:
        recording = Recording(tx, lose)
        recordings.append(recording)
        units.request_restore(recording, unit, id, validation.RestoreSite())

    try:
        await console.store.transact(work)
    finally:
        assert recordings
    return recordings[0], unit


async def test_an_immediate_chain_is_one_compare_and_set(console: Console) -> None:
    await console.set_rule("restore", {"mode": "immediate"})
    restore = await console.create_restore(1, GROUPS)
    recording, unit = await _request(console, restore.id, lose=False)
    # four transitions fired, one write: from the status the store had to the last one
    assert [f.dest for f in unit.fired] == ["REQUESTING", "INITIALIZING", "IN_PROGRESS", "SUCCESS"]
    assert recording.updates == [("PENDING", RestoreStatus.SUCCESS)]
    done = await console.get_restore(restore.id)
    assert (done.status, done.backup_id) == (RestoreStatus.SUCCESS, None)
    assert done.time_initiated is not None
    assert done.time_completed is not None


async def test_a_chain_over_a_changed_row_is_refused_whole(console: Console) -> None:
    await console.set_rule("restore", {"mode": "immediate"})
    restore = await console.create_restore(1, GROUPS)
    with pytest.raises(StaleState, match="no longer PENDING"):
        await _request(console, restore.id, lose=True)
    after = await console.get_restore(restore.id)
    assert after.status is RestoreStatus.PENDING  # the unit rolled back: nothing written
    assert not await console.restore_running()


async def test_a_phase_that_takes_time_ends_the_chain(console: Console) -> None:
    await console.set_rule("restore", {"requesting": "0s", "initializing": "5s"})
    restore = await console.create_restore(1, GROUPS)
    recording, unit = await _request(console, restore.id, lose=False)
    assert [f.dest for f in unit.fired] == ["REQUESTING", "INITIALIZING"]
    assert recording.updates == [("PENDING", RestoreStatus.INITIALIZING)]
    assert unit.scheduled  # the worker must look at it when the phase ends


@pytest.mark.parametrize("backup_id", [1, 999])
async def test_a_unit_of_a_console_deleted_in_the_store_raises_console_missing(
    console: Console, backup_id: int
) -> None:
    """A console another process deleted: creating a restore raises `ConsoleMissing`, never a
    refusal such as 1003 (its backups went with it)."""
    await console.store.transact(lambda tx: tx.delete_console(console.id))
    with pytest.raises(units.ConsoleMissing):
        await console.create_restore(backup_id, GROUPS)
    with pytest.raises(units.ConsoleMissing):
        await console.request_restore(1)
