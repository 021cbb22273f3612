"""The SQLite store: atomic units in grouped commits, schema versioning, durability on a file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest

from engine.core.enums import JobKind
from engine.store import schema
from engine.store.base import ConsoleState
from engine.store.sqlite import SqliteStore, SqliteTx


async def test_a_failing_unit_rolls_back_alone() -> None:
    store = await SqliteStore.open()
    try:
        await store.transact(lambda tx: tx.put_console(ConsoleState("c")))

        def good(tx: SqliteTx) -> int:
            return tx.next_id("c", JobKind.RESTORE)

        def bad(tx: SqliteTx) -> None:
            tx.next_id("c", JobKind.RESTORE)
            tx.put_console(ConsoleState("half-written"))
            raise ValueError("refused")

        results: dict[str, object] = {}

        async def run(name: str, work: object) -> None:
            try:
                results[name] = await store.transact(work)  # type: ignore[arg-type]
            except ValueError as error:
                results[name] = error

        async with anyio.create_task_group() as group:  # one batch, one commit
            group.start_soon(run, "first", good)
            group.start_soon(run, "bad", bad)
            group.start_soon(run, "second", good)
        assert results["first"] == 1
        assert isinstance(results["bad"], ValueError)
        assert results["second"] == 2  # the failed unit's id was rolled back with it
        consoles = await store.read(lambda tx: [c.id for c in tx.consoles()])
        assert consoles == ["c"]
        assert store.stats()["failed_units"] == 1
    finally:
        await store.close()


async def test_closed_store_refuses_work() -> None:
    store = await SqliteStore.open()
    await store.close()
    with pytest.raises(RuntimeError, match="closed"):
        await store.read(lambda tx: tx.consoles())


async def test_schema_is_versioned_and_durable(tmp_path: Path) -> None:
    path = str(tmp_path / "store.db")
    store = await SqliteStore.open(path)
    await store.transact(lambda tx: tx.put_console(ConsoleState("kept", settings={"seed": 4})))
    await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    store = await SqliteStore.open(path)  # reopening migrates nothing and keeps the data
    try:
        state = await store.read(lambda tx: tx.console("kept"))
        assert state is not None
        assert state.settings == {"seed": 4}
    finally:
        await store.close()


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "future.db")
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.VERSION + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="schema version"):
        await SqliteStore.open(path)


def test_status_searches_use_the_status_index_not_a_scan_of_the_console() -> None:
    """Without statistics SQLite prefers the primary key (console, id) for a status search, which
    reads every finished record of the console: the engine slowed down as records piled up."""
    import sqlite3

    from engine.store import schema
    from engine.store.sqlite import SqliteTx

    conn = sqlite3.connect(":memory:", isolation_level=None)
    schema.migrate(conn)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    tx = SqliteTx(conn)
    tx.unfinished_restore_record("c")
    tx.gate("c")
    tx.running_jobs("c")
    conn.set_trace_callback(None)
    assert statements
    for statement in statements:
        plan = " ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + statement))
        assert "USING PRIMARY KEY (console=?)" not in plan, (statement, plan)
