"""The SQLite store's writer: units handed over in one turn of the event loop share one commit,
and a batch that finds another process writing waits for it off the loop, ahead of the units
handed over meanwhile, which then run in their order."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from engine.core.enums import JobKind
from engine.store.base import ConsoleState, Tx
from engine.store.sqlite import SqliteStore

C = "c1"


async def _store(tmp_path: Path) -> SqliteStore:
    store = await SqliteStore.open(str(tmp_path / "writer.sqlite3"))
    await store.transact(lambda tx: tx.put_console(ConsoleState(C)))
    return store


def _next(tx: Tx) -> int:
    return tx.next_id(C, JobKind.RESTORE)


async def test_units_handed_over_in_one_turn_share_one_commit(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    try:
        before = store.stats()
        futures = [store.transact(_next) for _ in range(20)]
        assert await asyncio.gather(*futures) == list(range(1, 21))
        after = store.stats()
        assert after["batches"] - before["batches"] == 1
        assert after["units"] - before["units"] == 20
        assert after["thread_batches"] == 0
    finally:
        await store.close()


async def test_a_batch_waits_off_the_loop_for_another_writer_and_order_holds(
    tmp_path: Path,
) -> None:
    store = await _store(tmp_path)
    other = sqlite3.connect(store.file, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process's write lock, for now
        first = [store.transact(_next) for _ in range(3)]
        while store.stats()["thread_batches"] == 0:  # noqa: ASYNC110 - a count, no event to wait on
            await asyncio.sleep(0.005)
        later = [store.transact(_next) for _ in range(3)]
        await asyncio.sleep(0.05)
        assert not any(f.done() for f in (*first, *later))  # nothing passes the waiting batch
        other.execute("COMMIT")
        assert await asyncio.gather(*first, *later) == list(range(1, 7))
        assert store.stats()["thread_batches"] == 1
        assert await store.transact(_next) == 7  # and the writer is back on the loop
        assert store.stats()["thread_batches"] == 1
    finally:
        other.close()
        await store.close()
