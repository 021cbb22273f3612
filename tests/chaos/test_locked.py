"""Another process holds SQLite's write lock past the store's busy timeout: the write fails as
a storage fault (503 over HTTP), health says so, and the store recovers once the lock is gone."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.store.base import ConsoleState, StorageUnavailable
from engine.store.sqlite import SqliteStore
from tests.support.chaos import eventually

pytestmark = pytest.mark.chaos


async def test_a_lock_held_past_the_busy_timeout_is_a_storage_fault_that_passes(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "store.db")
    store = await SqliteStore.open(path, busy_timeout_ms=200)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process's write lock
        with pytest.raises(StorageUnavailable) as refused:
            await store.transact(lambda tx: tx.put_console(ConsoleState("waited")))
        assert refused.value.cause == "database is locked"
        assert store.health().cause == "database is locked"
        holder.execute("ROLLBACK")
        await eventually(lambda: store.health().ok)  # the store's probe gets through
        await store.transact(lambda tx: tx.put_console(ConsoleState("written")))
        consoles = await store.read(lambda tx: [c.id for c in tx.consoles()])
        assert consoles == ["written"]
    finally:
        holder.close()
        await store.close()
