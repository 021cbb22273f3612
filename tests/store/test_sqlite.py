"""The SQLite adapter beyond the contract: schema versioning, durability on a file, indexes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.store import schema
from engine.store.base import ConsoleState, Credential
from engine.store.rows import BACKUPS, RESTORES
from engine.store.sqlite import SqliteStore, SqliteTx


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


def test_the_tables_have_the_columns_the_record_declarations_derive() -> None:
    """The migrations are history (never rewritten); the declaration is the record's one
    description: the migrated tables must hold exactly its columns, in its order."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    schema.migrate(conn)
    for table in (RESTORES, BACKUPS):
        found = [row[1] for row in conn.execute(f"PRAGMA table_info({table.name})")]
        assert found == ["console", *table.columns]


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


def test_digests_of_presented_secrets_are_kept_only_for_short_secrets() -> None:
    """The cache of digests is keyed by what clients send: a long header value (up to 64 KiB)
    is digested each time, never kept (1,024 of them would hold 64 MiB)."""
    from engine.store import sqlite as sqlite_store
    from engine.store.base import secret_digest

    long_secret = "x" * 60_000
    assert sqlite_store._digest(long_secret) == secret_digest(long_secret)
    assert long_secret not in sqlite_store._DIGESTS
    short = "a-token-of-ordinary-length"
    assert sqlite_store._digest(short) == secret_digest(short)
    assert short in sqlite_store._DIGESTS
