"""The SQLite store: atomic units in grouped commits, schema versioning, durability on a file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import anyio
import pytest

from engine.core.enums import JobKind
from engine.store import schema
from engine.store.base import ConsoleState, Credential
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


async def test_the_restore_read_model_is_the_record_as_the_api_shows_it() -> None:
    """`Tx.restore_json` skips the domain object on the polling path: it must give exactly
    `Restore.to_json()`, in every state of the lifecycle (nulls, booleans, groups, order)."""
    from engine.runtime.console import Console
    from engine.simulator import Simulator

    async def both(console: Console, id: int) -> tuple[Any, Any]:
        # compared as JSON text too: 0 == False in Python, but not on the wire
        record = (await console.get_restore(id)).to_json()
        view = await console.get_restore_json(id)
        assert json.dumps(view) == json.dumps(record)
        return record, view

    async with Simulator() as sim:
        console = sim.console()
        await console.set_rule("restore", {"mode": "manual", "outcome": ["FAILED", "SUCCESS"]})
        groups = ["DEPLOYMENT_CONFIG", "USERS_CONFIG", "ASSETS_DATA", "CUSTOM_RULES_CONFIG"]
        seen = 0
        for _ in range(2):  # FAILED, then SUCCESS
            restore = await console.create_restore(2, groups)
            expected, actual = await both(console, restore.id)
            assert list(actual) == list(expected)  # same keys, same order
            assert actual == expected
            await console.request_restore(restore.id)
            for _ in range(3):
                expected, actual = await both(console, restore.id)
                assert actual == expected
                await console.step("restore")
                seen += 1
            expected, actual = await both(console, restore.id)
            assert actual == expected
            assert actual["backup_id"] is None
        assert seen == 6


def test_a_credential_is_never_moved_to_another_console() -> None:
    """Issue 9.2: `INSERT OR REPLACE` moved a token to whichever console named it last."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    schema.migrate(conn)
    tx = SqliteTx(conn)
    assert tx.put_credential(Credential("shared", "one"))
    assert not tx.put_credential(Credential("shared", "two"))
    owner = tx.credential("shared", False)
    assert owner is not None
    assert owner.console == "one"
    assert tx.put_credential(Credential("shared", "one", admin=False, name="operator"))
    again = tx.credential("shared", False)
    assert again is not None
    assert (again.console, again.admin) == ("one", False)  # its own console may change it


def test_credentials_are_looked_up_by_digest_not_by_secret() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    schema.migrate(conn)
    tx = SqliteTx(conn)
    tx.put_credential(Credential("s3cret", "c"))
    tx.put_credential(Credential("admin:admin", "c", basic=True))
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    assert tx.credential("s3cret", False) is not None
    assert tx.credential("admin:admin", True) is not None
    assert tx.credential("s3cret", True) is None  # a token is not a Basic credential
    assert tx.credential("s3creT", False) is None
    conn.set_trace_callback(None)
    assert statements
    assert not any("s3cret" in s or "admin:admin" in s for s in statements)


def test_the_credentials_of_a_first_version_database_are_migrated(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(schema.MIGRATIONS[0] + "PRAGMA user_version = 1;")
    conn.execute("INSERT INTO consoles (id) VALUES ('default')")
    conn.execute("INSERT INTO credentials VALUES ('bre-sim-token', 0, 'default', 1, 'admin')")
    assert schema.migrate(conn) == 1
    found = SqliteTx(conn).credential("bre-sim-token", False)
    conn.close()
    assert found == Credential("bre-sim-token", "default", True, "admin", False)
