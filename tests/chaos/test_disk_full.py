"""A full disk, for real: the database on a 4 MiB tmpfs that the test fills to the last byte.

Regression (issue 9, point 1): a COMMIT on a full disk was followed by a ROLLBACK that raised
"cannot rollback - no transaction is active", which replaced the real cause. Now the write fails
with its real cause as a storage fault, and the store recovers by itself when space returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.store.base import ConsoleState, StorageUnavailable
from engine.store.sqlite import SqliteStore

from .conftest import eventually, fill

pytestmark = pytest.mark.chaos

FULL = "database or disk is full"  # SQLite's words


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
