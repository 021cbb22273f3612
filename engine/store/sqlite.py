"""The SQLite adapter of the store port, on aiosqlite's connection, with group commit.

Write path: units of work queue up; the writer drains the queue and runs each batch in one
`BEGIN IMMEDIATE` transaction, each unit in its own savepoint (a unit that raises is rolled back
alone), then one COMMIT: a batch is as large as the work that arrived in the loop's turn (or
while the previous batch ran), so commits are shared under load. Where the batch runs is the
point of the design (notes/performance-baselines.md: the cost of aiosqlite is the thread hop,
not the SQL):
- when the write lock is free at once, on the event loop's thread: no hop at all (measured: one
  console went from 2,870 to 3,290 persisted lifecycles/s, and 1,000 consoles did not slow),
  in a plain callback scheduled once per turn (`_drain`), not a task woken by an event;
- when another process holds the lock, on aiosqlite's thread (`Connection._execute`, the hook
  its own methods use; pinned below 0.23 for that reason), which waits for the lock
  (`busy_timeout`) without stalling the event loop: the writer task's part (`_write_loop`),
  which also writes what is left when the store closes.
Either way the connection has one user at a time: a batch runs whole before the next starts.

Read path: reads run on the event loop's thread, on a second (stdlib) connection in query-only
mode. In WAL mode a reader never waits for the writer, and a point read costs a few microseconds
where a thread hop costs tens; a read sees every acknowledged write.

Durability: `journal_mode=WAL` with `synchronous=NORMAL`. A committed unit survives the
process being killed (SIGKILL); the last commits before a power loss may not. Results are handed
back only after COMMIT returns, so nothing acknowledged is lost to a crash of the process.

`BEGIN IMMEDIATE` takes SQLite's write lock before the first read of a batch, so the gate checks
inside a unit see every commit of every process sharing the file. The writer waits for that lock
in its own loop (up to `busy_timeout_ms`), not in SQLite's busy handler, so that closing the
store can end the wait at once.

Faults: an SQLite error that is the storage's (full, I/O, cannot open, read-only, locked past
the timeout, corrupt) fails the whole batch with the real cause as a `StorageError`, never the
unit; a unit's own exception rolls back that unit alone. The store keeps a `StoreHealth`: failing
from a failed write until a write succeeds, and while failing it probes with a write of its own
(a row of the `probe` table), so it recovers by itself when, say, disk space returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import aiosqlite

from engine.core.enums import JobKind
from engine.core.gate import GateView
from engine.core.query import ListRequest
from engine.core.records import (
    RESTORE_FIELDS,
    Backup,
    BackupConfiguration,
    DataBackupHost,
    Host,
    Restore,
    columns,
)
from engine.store import schema, sql_query
from engine.store.base import (
    RUNNING_BACKUP_JOBS,
    RUNNING_BACKUPS,
    RUNNING_RESTORE_JOBS,
    UNFINISHED_RESTORES,
    ConsoleState,
    Credential,
    EncodedPage,
    Job,
    Page,
    StorageCorrupt,
    StorageError,
    StorageUnavailable,
    StoredBackup,
    StoredRestore,
    StoreHealth,
    answer_by_oracle,
    encode_page,
    same_secret,
    secret_digest,
    settings_of,
)
from engine.store.rows import BACKUPS, RESTORES, Table, job_values

T = TypeVar("T")
R = TypeVar("R", Restore, Backup)
MAX_BATCH = 128  # units per transaction: bounds how long one batch holds the event loop

_IN = "','".join  # the status lists are the lifecycle tables' own constants, never input
#: The whole gate in one statement: rebalancing, a running restore, the hosts of running backups.
#: `INDEXED BY` everywhere a status list is searched: without statistics SQLite prefers the
#: primary key (console, id), which scans every finished record of the console (measured: half
#: of all engine time at 20,000 restores on one console).
GATE_SQL = (
    "SELECT (SELECT rebalancing FROM consoles WHERE id = ?), "
    "EXISTS (SELECT 1 FROM restores INDEXED BY restores_running WHERE console = ? "
    f"AND status IN ('{_IN(RUNNING_RESTORE_JOBS)}')), "
    "(SELECT group_concat(DISTINCT host_id) FROM backups INDEXED BY backups_running "
    "WHERE console = ? "
    f"AND status IN ('{_IN(RUNNING_BACKUPS)}'))"
)


def marks(count: int) -> str:
    """`count` SQL parameters."""
    return ",".join("?" * count)


def _select(table: Table[Any], columns: tuple[str, ...]) -> str:
    return f"SELECT {', '.join(columns)} FROM {table.name}"


#: A record and its job by (console, id).
SELECT_RESTORE = f"{_select(RESTORES, RESTORES.columns)} WHERE console = ? AND id = ?"
SELECT_BACKUP = f"{_select(BACKUPS, BACKUPS.columns)} WHERE console = ? AND id = ?"
#: The record columns a list reads, as SQL text.
_RESTORE_RECORD = ", ".join(RESTORES.record_columns)
_BACKUP_RECORD = ", ".join(BACKUPS.record_columns)
#: A record as the API shows it: no job columns (the hot path of polling clients; a restore's
#: create reads its backup so).
_VISIBLE_RESTORE = (
    f"{_select(RESTORES, RESTORES.record_columns)} WHERE console = ? AND id = ? AND visible = 1"
)
_PLAIN = re.compile(r"[A-Za-z0-9_.]*")


def _printed_json(record: type, keys: Sequence[str], table: sql_query.Table) -> str:
    """An SQL expression of a row as the API's JSON object of `keys`, as UTF-8 bytes, byte for
    byte what `orjson.dumps(record.to_json())` gives (tests/store/test_contract.py): one
    `printf` of the texts escaped by `json_quote` (the escaping of `json_object`) and of the
    values of enumerations whose every member is a plain name, in quotes as they are (a GET
    costs 1% less than with `json_object`, which parses `json('true')` on every row)."""
    declared = {c.name: c for c in columns(record)}
    template, values = [], []
    for i, key in enumerate(keys):
        if not _PLAIN.fullmatch(key):
            raise ValueError(f"{key!r}: not a plain name")  # it goes into the SQL text
        column, name = table.columns[key], table.columns[key].name
        spec, value = "%s", name
        if column.kind == "int":
            spec, value = ("%s", f"ifnull({name}, 'null')") if column.nullable else ("%d", name)
        elif column.kind == "bool":
            value = f"CASE WHEN {name} THEN 'true' ELSE 'false' END"
            if column.nullable:
                value = f"CASE WHEN {name} IS NULL THEN 'null' ELSE {value} END"
        elif column.kind == "text_list":  # comma-joined names of a closed set
            if not all(_PLAIN.fullmatch(e) for e in column.domain):
                raise ValueError(f"{key}: elements that JSON would escape")
            value = f"""CASE WHEN {name} = '' THEN '[]' ELSE '["' || replace({name}, ',', '","') || '"]' END"""  # noqa: E501
        else:
            enum = declared[key].enum
            plain = enum is not None and all(_PLAIN.fullmatch(str(m.value)) for m in enum)
            if plain and not column.nullable:
                spec = '"%s"'
            else:
                value = f"json_quote({name})"  # NULL: null
        template.append(("{" if i == 0 else ",") + f'"{key}":{spec}')
        values.append(value)
    return f"CAST(printf('{''.join(template)}}}', {', '.join(values)}) AS BLOB)"


#: A visible restore as the API sends it (the polling path: one column, no Python object per
#: field; a column costs the sqlite3 module a description entry and a lock of the GIL each).
_RESTORE_AS_SENT = _printed_json(Restore, RESTORE_FIELDS, sql_query.RESTORES)
_ENCODED_RESTORE = (
    f"SELECT {_RESTORE_AS_SENT} FROM restores WHERE console = ? AND id = ? AND visible = 1"
)
SELECT_VISIBLE_BACKUP = (
    f"{_select(BACKUPS, BACKUPS.record_columns)} WHERE console = ? AND id = ? AND visible = 1"
)
#: Whether a visible restore record of the console is unfinished (parameters: the console,
#: then `UNFINISHED_RESTORES`).
UNFINISHED_SQL = (
    "SELECT 1 FROM restores INDEXED BY restores_running WHERE console = ? AND visible = 1 "
    f"AND status IN ({marks(len(UNFINISHED_RESTORES))}) LIMIT 1"
)


def insert_sql(table: Table[Any]) -> str:
    """The INSERT of a record and its job (parameters: the console, then `Table.columns`)."""
    return (
        f"INSERT INTO {table.name} (console, {', '.join(table.columns)}) "
        f"VALUES (?, {marks(len(table.columns))})"
    )


def update_sql(table: Table[Any]) -> str:
    """The compare-and-set UPDATE (parameters: `Table.updated`, the console, the id, the
    expected status)."""
    sets = ", ".join(f"{c} = ?" for c in table.updated)
    return f"UPDATE {table.name} SET {sets} WHERE console = ? AND id = ? AND status = ?"


_INSERT_RESTORE, _INSERT_BACKUP = insert_sql(RESTORES), insert_sql(BACKUPS)
_UPDATE_RESTORE, _UPDATE_BACKUP = update_sql(RESTORES), update_sql(BACKUPS)
_restore, _backup = RESTORES.record, BACKUPS.record


def _stored_restore(row: tuple[Any, ...]) -> StoredRestore:
    return StoredRestore(_restore(row), RESTORES.job(row))


def _stored_backup(row: tuple[Any, ...]) -> StoredBackup:
    return StoredBackup(_backup(row), BACKUPS.job(row))


def _on_thread(conn: aiosqlite.Connection, fn: Callable[..., T], *args: Any) -> Awaitable[T]:
    """Run `fn` on the connection's own thread: the hook aiosqlite's public methods use."""
    execute: Callable[..., Awaitable[T]] = conn._execute
    return execute(fn, *args)


#: Digests of presented secrets (`secret_digest`, a pure function: SHA-256 and its hex digest
#: were about 7,000 instructions of a GET), by secret. Not the credential: that is read from
#: the store at every request. Keyed by what clients send: only secrets of up to
#: _DIGESTED_LENGTH characters are kept (a header may be 64 KiB long).
_DIGESTS: dict[str, str] = {}
_DIGESTS_KEPT = 1024
_DIGESTED_LENGTH = 256


def _digest(secret: str) -> str:
    digest = _DIGESTS.get(secret)
    if digest is None:
        digest = secret_digest(secret)
        if len(secret) > _DIGESTED_LENGTH:
            return digest
        if len(_DIGESTS) >= _DIGESTS_KEPT:
            _DIGESTS.clear()  # bounded; the secrets clients present now are kept again
        _DIGESTS[secret] = digest
    return digest


_CREDENTIAL = "SELECT secret, console, admin, name FROM credentials WHERE digest = ? AND basic = ?"
#: The credential and, in the same statement, a visible restore of its console, encoded
#: (`credential_and_restore`): one read lock of the WAL (two `fcntl` calls) instead of two
_CREDENTIAL_AND_RESTORE = (
    f"SELECT secret, console, admin, name, (SELECT {_RESTORE_AS_SENT} "
    "FROM restores r WHERE r.console = credentials.console AND r.id = ? AND r.visible = 1) "
    "FROM credentials WHERE digest = ? AND basic = ?"
)


def _presented(row: Any, secret: str, basic: bool) -> Credential | None:
    """The credential of a row found by the digest of `secret` (`_CREDENTIAL`'s first four
    columns), once the secrets compare equal in constant time; None without one."""
    if row is None or not same_secret(row[0], secret):
        return None
    return Credential(row[0], row[1], bool(row[2]), row[3], basic)


class SqliteTx:
    """The `Tx` of the SQLite store: domain reads and writes on one connection, in its thread."""

    __slots__ = ("_c",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    # consoles and credentials ------------------------------------------------------------
    def console(self, console: str) -> ConsoleState | None:
        row = self._c.execute(
            "SELECT id, rebalancing, settings, revision FROM consoles WHERE id = ?", (console,)
        ).fetchone()
        if row is None:
            return None
        return ConsoleState(row[0], bool(row[1]), settings_of(row[2]), row[3], row[2])

    def consoles(self) -> list[ConsoleState]:
        rows = self._c.execute(
            "SELECT id, rebalancing, settings, revision FROM consoles ORDER BY id"
        ).fetchall()
        return [ConsoleState(r[0], bool(r[1]), settings_of(r[2]), r[3], r[2]) for r in rows]

    def put_console(self, state: ConsoleState) -> None:
        self._c.execute(
            "INSERT INTO consoles (id, rebalancing, settings, revision) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET rebalancing = excluded."
            "rebalancing, settings = excluded.settings, revision = consoles.revision + 1",
            (state.id, int(state.rebalancing), json.dumps(state.settings, sort_keys=True),
             state.revision),
        )  # fmt: skip

    def delete_console(self, console: str) -> bool:
        for table in ("credentials", "hosts", "configurations", "restores", "backups"):
            self._c.execute(f"DELETE FROM {table} WHERE console = ?", (console,))
        return self._c.execute("DELETE FROM consoles WHERE id = ?", (console,)).rowcount > 0

    def credential(self, secret: str, basic: bool) -> Credential | None:
        row = self._c.execute(_CREDENTIAL, (_digest(secret), int(basic))).fetchone()
        return _presented(row, secret, basic)

    def credential_and_restore(
        self, secret: str, basic: bool, id: int
    ) -> tuple[Credential | None, bytes | None]:
        row = self._c.execute(_CREDENTIAL_AND_RESTORE, (id, _digest(secret), int(basic))).fetchone()
        credential = _presented(row, secret, basic)
        return (None, None) if credential is None else (credential, row[4])

    def credentials(self, console: str) -> list[Credential]:
        rows = self._c.execute(
            "SELECT secret, admin, name, basic FROM credentials WHERE console = ? ORDER BY secret",
            (console,),
        ).fetchall()
        return [Credential(r[0], console, bool(r[1]), r[2], bool(r[3])) for r in rows]

    def put_credential(self, credential: Credential) -> bool:
        c = credential
        written = self._c.execute(
            "INSERT INTO credentials (digest, basic, secret, console, admin, name) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (digest, basic) DO UPDATE SET "
            "admin = excluded.admin, name = excluded.name "
            "WHERE credentials.console = excluded.console",
            (secret_digest(c.secret), int(c.basic), c.secret, c.console, int(c.admin), c.name),
        ).rowcount
        return written > 0

    def next_id(self, console: str, kind: JobKind) -> int:
        column = "next_restore_id" if kind is JobKind.RESTORE else "next_backup_id"
        row = self._c.execute(
            f"UPDATE consoles SET {column} = {column} + 1 WHERE id = ? RETURNING {column} - 1",
            (console,),
        ).fetchone()
        return int(row[0])

    def reserve_id(self, console: str, kind: JobKind, id: int) -> None:
        """Keep the id counter past a record seeded with its own id."""
        column = "next_restore_id" if kind is JobKind.RESTORE else "next_backup_id"
        self._c.execute(
            f"UPDATE consoles SET {column} = max({column}, ?) WHERE id = ?", (id + 1, console)
        )

    def next_ordinal(self, console: str, kind: JobKind) -> int:
        column = "restore_ordinal" if kind is JobKind.RESTORE else "backup_ordinal"
        row = self._c.execute(
            f"UPDATE consoles SET {column} = {column} + 1 WHERE id = ? RETURNING {column}",
            (console,),
        ).fetchone()
        return int(row[0])

    # the world ---------------------------------------------------------------------------
    def hosts(self, console: str) -> list[Host]:
        rows = self._c.execute(
            "SELECT id, hostname, private_ip, is_console, active, components, ariel_data, "
            "version FROM hosts WHERE console = ? ORDER BY id",
            (console,),
        ).fetchall()
        return [
            Host(r[0], r[1], r[2], bool(r[3]), bool(r[4]),
                 tuple(c for c in r[5].split(",") if c), bool(r[6]), r[7])
            for r in rows
        ]  # fmt: skip

    def put_host(self, console: str, host: Host) -> None:
        self._c.execute(
            "INSERT OR REPLACE INTO hosts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (console, host.id, host.hostname, host.private_ip, int(host.console),
             int(host.active), ",".join(host.components), int(host.ariel_data), host.version),
        )  # fmt: skip

    def configurations(self, console: str) -> list[BackupConfiguration]:
        rows = self._c.execute(
            "SELECT body FROM configurations WHERE console = ? ORDER BY id", (console,)
        ).fetchall()
        result = []
        for (body,) in rows:
            data = json.loads(body)
            data["data_backup_host_configuration"] = tuple(
                DataBackupHost(**h) for h in data["data_backup_host_configuration"]
            )
            result.append(BackupConfiguration(**data))
        return result

    def put_configuration(self, console: str, configuration: BackupConfiguration) -> None:
        body = configuration.to_json()
        body["undeployed_changes"] = configuration.undeployed_changes
        self._c.execute(
            "INSERT OR REPLACE INTO configurations VALUES (?, ?, ?)",
            (console, configuration.configuration_id, json.dumps(body, sort_keys=True)),
        )

    def clear_world(self, console: str) -> None:
        for table in ("hosts", "configurations", "restores", "backups"):
            self._c.execute(f"DELETE FROM {table} WHERE console = ?", (console,))
        self._c.execute(
            "UPDATE consoles SET next_restore_id = 1, next_backup_id = 1, restore_ordinal = 0, "
            "backup_ordinal = 0, rebalancing = 0 WHERE id = ?",
            (console,),
        )

    # restores ----------------------------------------------------------------------------
    def restore(self, console: str, id: int) -> StoredRestore | None:
        row = self._c.execute(SELECT_RESTORE, (console, id)).fetchone()
        return None if row is None else _stored_restore(row)

    def visible_restore(self, console: str, id: int) -> Restore | None:
        row = self._c.execute(_VISIBLE_RESTORE, (console, id)).fetchone()
        return None if row is None else _restore(row)

    def restore_json(self, console: str, id: int) -> dict[str, Any] | None:
        row = self._c.execute(_VISIBLE_RESTORE, (console, id)).fetchone()
        return None if row is None else RESTORES.json(row)

    def restore_encoded(self, console: str, id: int) -> bytes | None:
        row = self._c.execute(_ENCODED_RESTORE, (console, id)).fetchone()
        return None if row is None else row[0]

    def restores(self, console: str) -> list[Restore]:
        rows = self._c.execute(
            f"{_select(RESTORES, RESTORES.record_columns)} "
            "WHERE console = ? AND visible = 1 ORDER BY id",
            (console,),
        ).fetchall()
        return [_restore(r) for r in rows]

    def insert_restore(self, console: str, restore: Restore, job: Job) -> None:
        self._c.execute(_INSERT_RESTORE, (console, *RESTORES.values(restore), *job_values(job)))

    def update_restore(
        self, console: str, id: int, expected: str, record: Restore, job: Job
    ) -> bool:
        values = (*RESTORES.updates(record), *job_values(job), console, id, expected)
        return self._c.execute(_UPDATE_RESTORE, values).rowcount == 1

    def hide_restore(self, console: str, id: int) -> None:
        self._c.execute(
            "UPDATE restores SET visible = 0 WHERE console = ? AND id = ?", (console, id)
        )

    def purge_restore(self, console: str, id: int) -> None:
        self._c.execute("DELETE FROM restores WHERE console = ? AND id = ?", (console, id))

    def unfinished_restore_record(self, console: str) -> bool:
        row = self._c.execute(UNFINISHED_SQL, (console, *UNFINISHED_RESTORES)).fetchone()
        return row is not None

    # backups -----------------------------------------------------------------------------
    def backup(self, console: str, id: int) -> StoredBackup | None:
        row = self._c.execute(SELECT_BACKUP, (console, id)).fetchone()
        return None if row is None else _stored_backup(row)

    def visible_backup(self, console: str, id: int) -> Backup | None:
        row = self._c.execute(SELECT_VISIBLE_BACKUP, (console, id)).fetchone()
        return None if row is None else _backup(row)

    def backups(self, console: str) -> list[Backup]:
        rows = self._c.execute(
            f"{_select(BACKUPS, BACKUPS.record_columns)} "
            "WHERE console = ? AND visible = 1 ORDER BY id",
            (console,),
        ).fetchall()
        return [_backup(r) for r in rows]

    def backup_name_taken(self, console: str, name: str) -> bool:
        row = self._c.execute(
            "SELECT 1 FROM backups WHERE console = ? AND name = ?", (console, name)
        ).fetchone()
        return row is not None

    def insert_backup(self, console: str, backup: Backup, job: Job) -> None:
        self._c.execute(_INSERT_BACKUP, (console, *BACKUPS.values(backup), *job_values(job)))

    def update_backup(self, console: str, id: int, expected: str, record: Backup, job: Job) -> bool:
        values = (*BACKUPS.updates(record), *job_values(job), console, id, expected)
        return self._c.execute(_UPDATE_BACKUP, values).rowcount == 1

    def remove_backup(self, console: str, id: int) -> None:
        self._c.execute("DELETE FROM backups WHERE console = ? AND id = ?", (console, id))

    # the engine --------------------------------------------------------------------------
    def gate(self, console: str) -> GateView:
        row = self._c.execute(GATE_SQL, (console, console, console)).fetchone()
        hosts = row[2]
        return GateView(
            rebalancing=bool(row[0]),
            restore_running=bool(row[1]),
            backup_hosts=frozenset(int(h) for h in hosts.split(",")) if hosts else frozenset(),
        )

    def due_jobs(self, console: str, now_ms: int, limit: int) -> list[StoredRestore | StoredBackup]:
        due = "WHERE console = ? AND due_at IS NOT NULL AND due_at <= ? ORDER BY due_at, id LIMIT ?"
        jobs: list[StoredRestore | StoredBackup] = []
        for row in self._c.execute(
            f"{_select(RESTORES, RESTORES.columns)} {due}", (console, now_ms, limit)
        ):
            jobs.append(_stored_restore(row))
        for row in self._c.execute(
            f"{_select(BACKUPS, BACKUPS.columns)} {due}", (console, now_ms, limit)
        ):
            jobs.append(_stored_backup(row))
        return jobs

    def running_jobs(self, console: str) -> list[StoredRestore | StoredBackup]:
        jobs: list[StoredRestore | StoredBackup] = []
        for row in self._c.execute(
            f"{_select(RESTORES, RESTORES.columns)} INDEXED BY restores_running "
            f"WHERE console = ? AND status IN ({marks(len(RUNNING_RESTORE_JOBS))}) ORDER BY id",
            (console, *RUNNING_RESTORE_JOBS),
        ):
            jobs.append(_stored_restore(row))
        for row in self._c.execute(
            f"{_select(BACKUPS, BACKUPS.columns)} INDEXED BY backups_running "
            f"WHERE console = ? AND status IN ({marks(len(RUNNING_BACKUP_JOBS))}) ORDER BY id",
            (console, *RUNNING_BACKUP_JOBS),
        ):
            jobs.append(_stored_backup(row))
        return jobs

    def next_due(self, console: str) -> int | None:
        row = self._c.execute(
            "SELECT min(d) FROM (SELECT min(due_at) AS d FROM restores WHERE console = ? "
            "AND due_at IS NOT NULL UNION ALL SELECT min(due_at) FROM backups "
            "WHERE console = ? AND due_at IS NOT NULL)",
            (console, console),
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def probe(self, at_ms: int) -> None:
        """The store's own write, to find out whether writes succeed again after a fault."""
        self._c.execute(
            "INSERT INTO probe (id, at_ms) VALUES (1, ?) "
            "ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms",
            (at_ms,),
        )


# SQLite's primary result codes (https://sqlite.org/rescode.html) that are the storage's fault:
# PERM, BUSY (past the timeout), LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL may
# pass; CORRUPT and NOTADB do not.
_BUSY, _READONLY, _CANTOPEN = 5, 8, 14
_UNAVAILABLE = frozenset({3, _BUSY, 6, 7, _READONLY, 10, 13, _CANTOPEN, 15})
_CORRUPT = frozenset({11, 26})


def _primary(error: BaseException) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


_CORRUPT_ADVICE = "move the file away (or restore a copy) and start again, or use --db :memory:"


def _storage_fault(error: BaseException, path: str, advice: str = "") -> StorageError | None:
    """The `StorageError` an SQLite error stands for, or None when it is not the storage's."""
    code = _primary(error)
    if code in _CORRUPT:
        return StorageCorrupt(path, str(error), advice or _CORRUPT_ADVICE)
    if code in _UNAVAILABLE:
        return StorageUnavailable(path, str(error), advice)
    return None


def _open_fault(error: sqlite3.Error, path: str) -> StorageError:
    """The error of a database that cannot be opened, with what to do about it (one line)."""
    code = _primary(error)
    directory = os.path.dirname(os.path.abspath(path))
    if code in _CORRUPT:
        advice = _CORRUPT_ADVICE
    elif os.path.isdir(path):
        advice = "it is a directory: give the path of a database file, e.g. DIR/bre.sqlite3"
    elif not os.path.isdir(directory):
        advice = f"the directory {directory} does not exist: create it or choose another path"
    elif code in (_READONLY, _CANTOPEN) or not os.access(directory, os.W_OK):
        advice = (
            f"SQLite needs to write the file and create {os.path.basename(path)}-wal and -shm "
            f"beside it: make {directory} writable or choose another path"
        )
    elif code == _BUSY:
        advice = "another process holds the database: stop it or choose another path"
    else:
        advice = "check the path, its permissions and the free space"
    fault = _storage_fault(error, path, advice) or StorageUnavailable(path, str(error), advice)
    fault.__cause__ = error
    return fault


def _rollback(c: sqlite3.Connection) -> None:
    """Roll back what is left of a transaction without hiding the error that ended it: after a
    failed COMMIT (disk full) SQLite may have rolled back already, and a ROLLBACK then raises
    "cannot rollback - no transaction is active"."""
    if c.in_transaction:
        with contextlib.suppress(sqlite3.Error):  # the next BEGIN retries it
            c.execute("ROLLBACK")


def _journal_mode_wal(c: sqlite3.Connection, timeout_ms: int) -> str:
    """`PRAGMA journal_mode = WAL`, waiting while another process opens the same new file.

    Changing the journal mode takes an exclusive lock and SQLite does not wait for it (the
    busy handler is not called): two processes starting on one new file at the same moment
    got "database is locked" about one time in three. Waits as `busy_timeout` would (this runs
    on aiosqlite's thread, not the event loop's)."""
    deadline = time.monotonic() + timeout_ms / 1000
    pause = 0.001
    while True:
        try:
            return str(c.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


#: Totals of filtered lists, by (console, kind, condition, parameters): (the connection's
#: `PRAGMA data_version` when counted, total). Any commit by another connection (the writer,
#: another process) moves the version: a total is reused only while nothing was written.
_Totals = OrderedDict[tuple[Any, ...], tuple[int, int]]
TOTALS_KEPT = 1024
_SLICE = 500  # rows converted between two pauses (`time.sleep(0)`) that let the loop run


def _encoded_page(
    c: sqlite3.Connection, console: str, request: ListRequest, table: sql_query.Table,
    kind: JobKind, columns: str, convert: Callable[[tuple[Any, ...]], R], keys: Sequence[str],
    totals: _Totals | None = None,
) -> EncodedPage:  # fmt: skip
    """A list page as the JSON array the API sends: each row's object built by SQLite (no
    Python object per field: a list of 100,000 records costs a tenth as much), or encoded
    from the records where it cannot be."""
    row_json = sql_query.row_json(table, keys, sql_query.SQLITE)
    page = _list_page(c, console, request, table, kind, columns, convert, totals, row_json)
    if isinstance(page, EncodedPage):
        return page
    return encode_page(page, keys)


def _list_page(
    c: sqlite3.Connection, console: str, request: ListRequest, table: sql_query.Table,
    kind: JobKind, columns: str, convert: Callable[[tuple[Any, ...]], R],
    totals: _Totals | None = None, row_json: str | None = None,
) -> Any:  # fmt: skip
    """A list request in one read transaction (one snapshot for the count and the page):
    compiled to SQL, or answered by the oracle over every visible record when some part of it
    cannot be said in SQL. A filtered total is counted once per version of the database
    (`totals`, for the connection `c`); an unfiltered one is the kept count. Answers a
    `Page[R]`, or with `row_json` (compiled SQL only) an `EncodedPage`."""
    base = f"FROM {table.name} WHERE console = ? AND visible = 1"
    c.execute("BEGIN")
    try:
        row = c.execute(
            "SELECT visible FROM list_counts WHERE console = ? AND kind = ?",
            (console, kind.value),
        ).fetchone()
        visible = int(row[0]) if row else 0
        revision = int(c.execute("PRAGMA data_version").fetchone()[0])  # of this snapshot
        if request.filter is not None and request.filter.expr is not None:
            request.filter.check_work(visible)  # the same 422/12 as the oracle's
        compiled: sql_query.Compiled | None = sql_query.compile_list(
            request, table, sql_query.SQLITE, sql_query.sqlite_placeholder
        )
        if compiled is None:
            rows = c.execute(f"SELECT {columns} {base} ORDER BY id", (console,)).fetchall()
            return answer_by_oracle(_converted(rows, convert), request)
        params: tuple[Any, ...] = compiled.params
        where = f"{base} AND ({compiled.where})"
        total = visible
        if compiled.where != sql_query.TRUE:
            key = (console, kind, compiled.where, params)
            known = totals.get(key) if totals is not None else None
            if known is not None and known[0] == revision:
                total = known[1]
            else:
                total = c.execute(f"SELECT count(*) {where}", (console, *params)).fetchone()[0]
                if totals is not None:
                    totals[key] = (revision, total)
                    totals.move_to_end(key)
                    while len(totals) > TOTALS_KEPT:
                        totals.popitem(last=False)
        window, _ = request.window(total)
        if window.stop <= window.start:
            return EncodedPage((b"[]",), total) if row_json else Page([], total)
        select = f"CAST({row_json} AS BLOB)" if row_json else columns  # UTF-8 bytes as sent
        rows = c.execute(
            f"SELECT {select} {where} ORDER BY {compiled.order_by} LIMIT ? OFFSET ?",
            (console, *params, window.stop - window.start, window.start),
        ).fetchall()
        if row_json:
            return EncodedPage(_array(rows), total)
        return Page(_converted(rows, convert), total)
    finally:
        c.execute("COMMIT")


def _array(rows: list[tuple[bytes]]) -> tuple[bytes, ...]:
    """The JSON array of encoded rows, in parts of `_SLICE` rows (a pause between parts lets
    the event loop's thread run): `[a,b`, `,c,d`, ..., `]`."""
    parts = []
    for i in range(0, len(rows), _SLICE):
        parts.append(b"," + b",".join([r[0] for r in rows[i : i + _SLICE]]))
        time.sleep(0)
    parts[0] = b"[" + parts[0][1:]
    parts.append(b"]")
    return tuple(parts)


def _converted(rows: list[tuple[Any, ...]], convert: Callable[[tuple[Any, ...]], R]) -> list[R]:
    """Rows to records; on a large list, slice by slice with a pause between slices, so the
    event loop's thread gets the interpreter at once rather than after a switch interval."""
    if len(rows) <= _SLICE:
        return [convert(r) for r in rows]
    records: list[R] = []
    for i in range(0, len(rows), _SLICE):
        records.extend(convert(r) for r in rows[i : i + _SLICE])
        time.sleep(0)
    return records


class _GaveUp(Exception):
    """A wait for another process's lock ended because nobody needs the batch any more (every
    caller gave up, or the store is closing): not a fault of the storage."""


@dataclass(slots=True)
class _Unit:
    work: Callable[[SqliteTx], Any]
    future: asyncio.Future[Any]


_RAM_DIR = "/dev/shm"
PROBE_MAX_S = 2.0  # the longest pause between two probes of a failing store


def _open_reader(file: str) -> sqlite3.Connection:
    reader = sqlite3.connect(file, isolation_level=None)
    reader.execute("PRAGMA busy_timeout = 2000")
    reader.execute("PRAGMA query_only = 1")
    reader.execute("PRAGMA cache_size = -16384")
    return reader


@dataclass(slots=True)
class _Stats:
    batches: int = 0
    units: int = 0
    failures: int = 0
    largest_batch: int = 0
    hops: int = 0  # batches that had to wait for another process's lock on the thread
    faults: int = 0  # batches and reads the storage failed


class SqliteStore:
    """The store on one SQLite database: a writer on aiosqlite's thread, a reader on the loop.

    `:memory:` is a private database file in RAM (`/dev/shm` where there is one), deleted on
    close: the reader needs a second connection to the same database, which SQLite's own
    `:memory:` cannot give without shared-cache locking.
    """

    def __init__(self, conn: aiosqlite.Connection, path: str, file: str) -> None:
        self._conn = conn
        self.path = path
        self.file = file
        self._reader: sqlite3.Connection | None = None
        self._scratch: str | None = None
        self._queue: list[_Unit] = []
        self._pending = asyncio.Event()  # wakes the writer task (`_write_loop`)
        self._drain_soon = False  # a `_drain` is scheduled
        self._hopping = False  # the writer task waits for another process's lock on the thread
        self._closed = False
        self._closing = False
        #: set by close() when its grace is over: a wait for another process's lock gives up
        #: (read on aiosqlite's thread)
        self._abandon = False
        self._busy_timeout_ms = 10_000
        #: when set (monotonic seconds), no wait for the lock goes past it (`bound_waits`)
        self._waits_end: float | None = None
        self._stats = _Stats()
        self._writer: asyncio.Task[None] | None = None
        self._health = StoreHealth()
        self._watcher: Callable[[StoreHealth], None] | None = None
        self._probe: asyncio.Task[None] | None = None
        #: lists run on a thread of their own, on its own connection: a list of 100,000
        #: records must not hold the event loop (and every other console's requests)
        self._lister: ThreadPoolExecutor | None = None
        self._list_conn = threading.local()
        self._list_conns: list[sqlite3.Connection] = []
        self._totals: _Totals = OrderedDict()  # used on the list thread only

    @classmethod
    async def open_url(cls, url: str) -> SqliteStore:
        """The store of a URL the factory gave to SQLite: a path, `:memory:`, `sqlite:PATH`
        or `sqlite:///ABSOLUTE/PATH`."""
        for prefix in ("sqlite://", "sqlite:"):
            if url.startswith(prefix):
                url = url[len(prefix) :]
                break
        return await cls.open(url)

    @classmethod
    async def open(cls, path: str = ":memory:", *, busy_timeout_ms: int = 10_000) -> SqliteStore:
        """Open (creating and migrating) the database; a `StorageError` names the path and what
        to do when it cannot be used (a directory, a missing or read-only directory, a file
        that is not a database)."""
        scratch = None
        file = path
        if path == ":memory:":
            scratch = tempfile.mkdtemp(
                prefix="bre-", dir=_RAM_DIR if os.access(_RAM_DIR, os.W_OK) else None
            )
            file = os.path.join(scratch, "store.sqlite3")
        connecting = aiosqlite.connect(file, isolation_level=None, check_same_thread=False)
        try:
            conn = await connecting
        except sqlite3.Error as error:
            # aiosqlite stops its thread without waiting for it: wait while the loop runs, or
            # the thread reports to a closed loop (a traceback after our one-line error)
            while connecting._thread.is_alive():  # noqa: ASYNC110 - a thread, not a task
                await asyncio.sleep(0.005)
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
            raise _open_fault(error, path) from None
        store = cls(conn, path, file)
        store._scratch = scratch
        store._busy_timeout_ms = busy_timeout_ms
        try:
            await _on_thread(conn, store._setup, busy_timeout_ms)
            store._reader = _open_reader(file)
        except BaseException as error:
            await conn.close()
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
            if isinstance(error, sqlite3.Error):
                raise _open_fault(error, path) from None
            raise
        store._writer = asyncio.get_running_loop().create_task(
            store._write_loop(), name=f"sqlite-writer:{path}"
        )
        store._writer.add_done_callback(store._writer_ended)
        return store

    def _writer_ended(self, writer: asyncio.Task[None]) -> None:
        """The writer ends only when the store closes; otherwise nothing can be written."""
        if not self._closing:
            self._set_health(StoreHealth(time.time(), "the store's writer stopped"))

    def _setup(self, busy_timeout_ms: int) -> None:
        c = self._conn._conn
        c.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        mode = _journal_mode_wal(c, busy_timeout_ms)
        if str(mode).lower() != "wal":
            raise StorageUnavailable(
                self.path, f"could not set journal_mode=WAL (got {mode})",
                "put the database on a local file system that supports WAL",
            )  # fmt: skip
        c.execute("PRAGMA synchronous = NORMAL")
        c.execute("PRAGMA cache_size = -32768")  # 32 MiB: indexes of large consoles stay hot
        c.execute("PRAGMA foreign_keys = OFF")
        try:
            schema.migrate(c)
        except schema.SchemaTooNew as error:
            raise StorageError(self.path, str(error), "use a newer simulator") from None
        # from here on the writer waits for the lock itself (`_begin`), so that close() can
        # end a wait; SQLite's busy handler cannot be interrupted
        c.execute("PRAGMA busy_timeout = 0")

    def transact(self, work: Callable[[SqliteTx], T]) -> Awaitable[T]:
        """Queue `work` for the writer; the future is its result, set after COMMIT. (A plain
        function returning the future: one coroutine less per unit, for the collector too.)"""
        if self._closed:
            raise RuntimeError("the store is closed")
        if self._writer is not None and self._writer.done():  # never left waiting forever
            raise StorageUnavailable(self.path, "the store's writer stopped")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.append(_Unit(work, future))
        if not self._drain_soon:  # once per turn of the loop: what queues meanwhile joins in
            self._drain_soon = True
            loop.call_soon(self._drain)
        return future

    async def read(self, work: Callable[[SqliteTx], T]) -> T:
        """A read on the event loop's thread: in WAL mode a reader never waits for the writer,
        and a point read costs microseconds where a thread hop costs tens. Each statement sees
        a committed state including every acknowledged write (acknowledged after COMMIT); the
        engine's reads are one statement each, so no transaction is opened around them."""
        reader = self._reader
        if reader is None or self._closed:
            raise RuntimeError("the store is closed")
        try:
            return work(SqliteTx(reader))
        except sqlite3.Error as error:
            fault = _storage_fault(error, self.path)
            if fault is None:
                raise
            self._note(fault)
            raise fault from error

    async def list_restores(self, console: str, request: ListRequest) -> Page[Restore]:
        page: Page[Restore] = await self._list(
            console, request, sql_query.RESTORES, JobKind.RESTORE, _RESTORE_RECORD, RESTORES.record
        )
        return page

    async def list_backups(self, console: str, request: ListRequest) -> Page[Backup]:
        page: Page[Backup] = await self._list(
            console, request, sql_query.BACKUPS, JobKind.BACKUP, _BACKUP_RECORD, BACKUPS.record
        )
        return page

    async def encode_restores(
        self, console: str, request: ListRequest, keys: Sequence[str]
    ) -> EncodedPage:
        page: EncodedPage = await self._list(
            console, request, sql_query.RESTORES, JobKind.RESTORE, _RESTORE_RECORD, RESTORES.record,
            keys,
        )  # fmt: skip
        return page

    async def encode_backups(
        self, console: str, request: ListRequest, keys: Sequence[str]
    ) -> EncodedPage:
        page: EncodedPage = await self._list(
            console,
            request,
            sql_query.BACKUPS,
            JobKind.BACKUP,
            _BACKUP_RECORD,
            BACKUPS.record,
            keys,
        )
        return page

    async def _list(
        self, console: str, request: ListRequest, table: sql_query.Table, kind: JobKind,
        columns: str, convert: Callable[[tuple[Any, ...]], R], keys: Sequence[str] | None = None,
    ) -> Any:  # fmt: skip
        if self._closed:
            raise RuntimeError("the store is closed")
        if self._lister is None:
            self._lister = ThreadPoolExecutor(1, thread_name_prefix="sqlite-lists")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._lister, self._list_on_thread, console, request, table, kind, columns,
                convert, keys,
            )  # fmt: skip
        except sqlite3.Error as error:
            fault = _storage_fault(error, self.path)
            if fault is None:
                raise
            self._note(fault)
            raise fault from error

    def _list_on_thread(
        self, console: str, request: ListRequest, table: sql_query.Table, kind: JobKind,
        columns: str, convert: Callable[[tuple[Any, ...]], R], keys: Sequence[str] | None,
    ) -> Any:  # fmt: skip
        conn: sqlite3.Connection | None = getattr(self._list_conn, "conn", None)
        if conn is None:
            conn = _open_reader(self.file)
            sql_query.register_sqlite_functions(conn.create_function)
            self._list_conn.conn = conn
            self._list_conns.append(conn)
        if keys is not None:
            return _encoded_page(
                conn, console, request, table, kind, columns, convert, keys, self._totals
            )
        return _list_page(conn, console, request, table, kind, columns, convert, self._totals)

    def bound_waits(self, seconds: float) -> None:
        """From now on, no write waits for another process's lock more than `seconds` (a
        server about to stop: its requests answer before they are cancelled)."""
        self._waits_end = time.monotonic() + seconds

    # health -------------------------------------------------------------------------------
    def health(self) -> StoreHealth:
        return self._health

    def watch(self, callback: Callable[[StoreHealth], None] | None) -> None:
        self._watcher = callback

    def follow(self, callback: Callable[[str | None], None] | None) -> None:
        """SQLite cannot tell of another process's writes: the workers' scans see them."""

    def _set_health(self, health: StoreHealth) -> None:
        if health != self._health:
            self._health = health
            if self._watcher is not None:
                self._watcher(health)

    def _note(self, fault: StorageError) -> None:
        """A write or read the storage failed: health says so; a transient fault is probed."""
        self._stats.faults += 1
        health = self._health
        since = health.failing_since if health.failing_since is not None else time.time()
        if isinstance(fault, StorageCorrupt):
            self._set_health(StoreHealth(since, fault.cause, corrupt=True))
            return
        if health.corrupt:
            return
        self._set_health(StoreHealth(since, fault.cause))
        if not self._closing and (self._probe is None or self._probe.done()):
            self._probe = asyncio.get_running_loop().create_task(
                self._probe_until_writable(), name=f"sqlite-probe:{self.path}"
            )

    def _wrote(self) -> None:
        if self._health.failing_since is not None and not self._health.corrupt:
            self._set_health(StoreHealth())

    async def _probe_until_writable(self) -> None:
        """While writes fail for a transient reason, try one of the store's own now and then
        (bounded exponential pauses), so that health recovers even when nothing else writes."""
        pause = 0.05
        while not self._closing and not self._health.ok and not self._health.corrupt:
            await asyncio.sleep(pause)
            pause = min(pause * 2, PROBE_MAX_S)
            if self._closing:
                return
            try:
                await self.transact(lambda tx: tx.probe(time.time_ns() // 1_000_000))
            except StorageError:
                continue

    # the writer ---------------------------------------------------------------------------
    def _drain(self) -> None:
        """The writer's usual turn, a plain callback (`transact` schedules it with the first
        unit of a turn of the event loop): every queued batch runs here, on the event loop's
        thread, while the write lock is free at once. A batch that finds another process
        writing, and anything queued while the writer task waits on the thread or the store
        closes, is the writer task's."""
        self._drain_soon = False
        if self._hopping or self._closing:
            self._pending.set()
            return
        while self._queue:
            batch = self._take_batch()
            if not batch:
                continue
            try:
                ran = self._run_batch(batch, wait=False)
            except BaseException as error:  # the batch failed as a whole
                self._fail(batch, error)
                if not isinstance(error, Exception):
                    raise
                continue
            if ran is None:  # another process writes: the writer task waits for it
                self._queue[:0] = batch
                self._pending.set()
                return
            self._deliver(batch, ran)

    def _take_batch(self) -> list[_Unit]:
        """The next MAX_BATCH queued units, less those whose callers gave up (maybe none)."""
        batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        return [u for u in batch if not u.future.done()]

    async def _write_loop(self) -> None:
        """The writer task: batches that must wait for another process's lock (on aiosqlite's
        thread, not stalling the loop), and the queue's last units when the store closes."""
        while True:
            await self._pending.wait()
            self._pending.clear()
            while self._queue:
                batch = self._take_batch()
                if not batch:
                    continue
                try:
                    ran = self._run_batch(batch, wait=False)  # here, if the lock is free
                    if ran is None:  # another process writes: wait for it off the loop
                        self._stats.hops += 1
                        # not cancelled mid-batch: close() lets the writer finish instead
                        self._hopping = True
                        try:
                            ran = await _on_thread(self._conn, self._run_batch, batch, True)
                        finally:
                            self._hopping = False
                        assert ran is not None
                except _GaveUp:
                    closed = StorageUnavailable(self.path, "the store closed before it could write")
                    for unit in batch:
                        if not unit.future.done():
                            unit.future.set_exception(closed)
                    continue
                except BaseException as error:  # the batch failed as a whole
                    self._fail(batch, error)
                    if not isinstance(error, Exception):
                        raise
                    continue
                self._deliver(batch, ran)
            if self._closing and not self._queue:
                return

    def _deliver(self, batch: list[_Unit], ran: tuple[list[tuple[bool, Any]], bool]) -> None:
        """Hand each unit of a committed batch its result."""
        results, wrote = ran
        if wrote:
            self._wrote()
        stats = self._stats
        stats.batches += 1
        stats.units += len(batch)
        if len(batch) > stats.largest_batch:
            stats.largest_batch = len(batch)
        for unit, (ok, value) in zip(batch, results, strict=True):
            if unit.future.done():
                continue
            if ok:
                unit.future.set_result(value)
            else:
                stats.failures += 1
                unit.future.set_exception(value)

    def _fail(self, batch: list[_Unit], error: BaseException) -> None:
        """Tell the units of a batch that failed as a whole."""
        failure = self._failure(error)
        for unit in batch:
            if not unit.future.done():
                unit.future.set_exception(failure)

    def _failure(self, error: BaseException) -> Exception:
        """What the units of a failed batch are told: the storage fault it stands for (noted in
        the health), or the error itself."""
        fault = _storage_fault(error, self.path)
        if fault is not None:
            fault.__cause__ = error
            self._note(fault)
            return fault
        if isinstance(error, Exception):
            return error
        return StorageUnavailable(self.path, f"the writer stopped ({error!r})")

    def _begin(self, c: sqlite3.Connection, wait: bool, batch: list[_Unit]) -> bool:
        """`BEGIN IMMEDIATE`: False when another process holds the write lock and `wait` is
        False; with `wait`, retried until the lock is free, `busy_timeout_ms` have passed (the
        "database is locked" error is raised), or nobody needs the batch any more (`_GaveUp`:
        every caller gave up, or close() did)."""
        _rollback(c)  # a transaction that a failed ROLLBACK left open
        deadline = time.monotonic() + self._busy_timeout_ms / 1000
        pause = 0.001
        while True:
            try:
                c.execute("BEGIN IMMEDIATE")
                return True
            except sqlite3.OperationalError as error:
                if _primary(error) != _BUSY:
                    raise
                if not wait:
                    return False
                if self._abandon or all(u.future.done() for u in batch):
                    raise _GaveUp from None  # (futures read from this thread: a flag each)
                now = time.monotonic()
                if now >= deadline or (self._waits_end is not None and now >= self._waits_end):
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.02)

    def _run_batch(
        self, batch: list[_Unit], wait: bool
    ) -> tuple[list[tuple[bool, Any]], bool] | None:
        """One transaction, a savepoint per unit, one commit; the results, and whether anything
        was written.

        With `wait=False` (on the event loop's thread) the write lock must be free at once:
        when another process holds it, nothing runs and None is returned, and the batch goes
        to aiosqlite's thread (`wait=True`), which waits for the lock without stalling the
        loop. The connection has one user at a time: `_drain` on the loop's thread, or the writer
        task, here or on that thread.

        A unit's own exception rolls back that unit alone. An SQLite error of the storage
        (raised by a statement of a unit, or by COMMIT) fails the whole batch with that error:
        the rollback after it never replaces it."""
        c = self._conn._conn
        if not self._begin(c, wait, batch):
            return None
        tx = SqliteTx(c)
        results: list[tuple[bool, Any]] = []
        single = len(batch) == 1  # no savepoint needed: the transaction is the unit
        before = c.total_changes
        try:
            for unit in batch:
                if not single:
                    c.execute("SAVEPOINT unit")
                try:
                    value = unit.work(tx)
                except Exception as error:
                    if _storage_fault(error, self.path) is not None:
                        raise  # the storage failed, not the unit
                    if single:
                        _rollback(c)
                    else:
                        c.execute("ROLLBACK TO unit")
                        c.execute("RELEASE unit")
                    results.append((False, error))
                    continue
                if not single:
                    c.execute("RELEASE unit")
                results.append((True, value))
            if not c.in_transaction:  # the one unit failed and was rolled back
                return results, False
            c.execute("COMMIT")
        except BaseException:
            _rollback(c)
            raise
        return results, c.total_changes != before

    async def close(self, grace_s: float = 3.0) -> bool:
        """Finish every queued unit, then close the connection (nothing half-written).

        Bounded: after `grace_s` a wait for another process's lock gives up (its units fail);
        a unit that still does not return is left on aiosqlite's thread, with the connection
        (False is returned)."""
        if self._closed:
            return True
        self._closed = True
        self._closing = True
        self._pending.set()
        if self._probe is not None:
            self._probe.cancel()
        writer = self._writer
        if writer is not None:
            done, _ = await asyncio.wait({writer}, timeout=grace_s)
            if not done:
                self._abandon = True
                done, _ = await asyncio.wait({writer}, timeout=0.5)
            if not done:  # a unit that does not return: leave it, and the connection, behind
                if self._reader is not None:
                    self._reader.close()
                    self._reader = None
                return False
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._lister is not None:
            await asyncio.get_running_loop().run_in_executor(self._lister, self._close_lists)
            self._lister.shutdown(wait=False)
        await self._conn.close()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
        return True

    def _close_lists(self) -> None:
        for conn in self._list_conns:
            conn.close()
        self._list_conns.clear()

    def stats(self) -> dict[str, int]:
        return {
            "batches": self._stats.batches,
            "units": self._stats.units,
            "failed_units": self._stats.failures,
            "thread_batches": self._stats.hops,
            "largest_batch": self._stats.largest_batch,
            "queued": len(self._queue),
            "storage_faults": self._stats.faults,
        }

    def __repr__(self) -> str:
        stats = self._stats
        return (
            f"SqliteStore(path={self.path!r}, batches={stats.batches}, units={stats.units}, "
            f"healthy={self._health.ok})"
        )
