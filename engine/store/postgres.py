"""The PostgreSQL adapter of the store port: psycopg 3 on threads the store owns, group commit.

Why psycopg 3 on threads: the port's units of work are synchronous functions of a `Tx` (they
run inside one transaction and may not await), so each unit needs a blocking connection; a
thread owned by the store gives it one without stalling the event loop, exactly as the SQLite
adapter's thread does. asyncpg would need every unit, and everything they call, to be async.

Write path: units queue up; the writer thread takes what has arrived (up to MAX_BATCH) and runs
it in one transaction, then one COMMIT; a unit that raises is rolled back alone (without
savepoints: see `_run_batch`). Results are handed back on the event loop only after COMMIT
returns, so nothing acknowledged is lost. A batch that PostgreSQL aborts for a deadlock or a
serialisation failure (possible when processes lock rows of several consoles in different
orders) is rolled back and its units run again, each in a transaction of its own: units are
functions of the `Tx` only, so running one again after a rollback is safe.

The gate holds across connections, processes and hosts through PostgreSQL's row locks: in a
write transaction `gate()` first locks the console's row (`SELECT ... FOR UPDATE`), then reads
the running jobs in a new statement, which in READ COMMITTED sees every commit made before the
lock was granted. Two processes starting jobs on one console take turns at that lock; nothing
is retried, as SERIALIZABLE would need, and consoles do not wait for each other.

Due jobs are claimed with `FOR UPDATE SKIP LOCKED` inside the worker's pass: workers of several
processes advance disjoint jobs, each transition once (the compare-and-set of every update is
the second guard). A batch that wrote jobs of a console sends `NOTIFY bre_jobs` with the console
id before its COMMIT; a listener thread (`follow`) wakes the console's worker and waiters in
every other process at once, so that a job another process started or left behind is taken up
without waiting for the periodic scan.

Writer slots: when the writers of the processes sharing a host outnumber its CPUs (`bre serve
--workers 4` on two CPUs), each writer transaction first takes one of a slot per CPU, a
transaction-scoped advisory lock keyed by the host (`slots_for`, `_begin`): the writers take
turns instead of every round trip switching between more processes than there are CPUs, which
makes every statement cost more CPU in the simulators and in the server.

Reads run on a reader thread with its own connection in autocommit: each statement sees every
acknowledged write. Storage faults are mapped to `StorageError` as the SQLite adapter maps its
own (connection lost, server shutting down, disk full, read-only, a lock wait past the timeout:
unavailable; data or index corrupted: corrupt), and the store probes while failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import random
import secrets
import socket
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Future as ThreadFuture
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
import psycopg

from engine.core.enums import JobKind
from engine.core.frozen import record
from engine.core.gate import GateView
from engine.core.query import ListRequest
from engine.core.records import Backup, BackupConfiguration, DataBackupHost, Host, Restore
from engine.store import postgres_schema as schema
from engine.store import sql_query
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
    Store,
    StoredBackup,
    StoredRestore,
    StoreHealth,
    answer_by_oracle,
    credential_then_restore,
    encode_page,
    same_secret,
    secret_digest,
    settings_of,
)
from engine.store.factory import HOST_PROCESSES
from engine.store.rows import BACKUPS, RESTORES, Table, job_values
from engine.store.urls import redacted

T = TypeVar("T")
R = TypeVar("R", Restore, Backup)
Conn = psycopg.Connection[tuple[Any, ...]]
Cursor = psycopg.Cursor[tuple[Any, ...]]

MAX_BATCH = 128  # units per transaction
# Writer connections of a process alone on its host; a console's units always go to the same
# one. See `writers_for` for the measurements.
WRITERS = 2
CHANNEL = "bre_jobs"  # NOTIFY channel: the payloads of `notices`
NOTICE_BYTES = 7000  # at most per payload (PostgreSQL refuses 8,000 bytes or more)
RETRIES = 8  # attempts of a unit alone after its batch hit a deadlock or serialisation failure
PROBE_MAX_S = 2.0
LISTEN_POLL_S = 0.5  # how often the listener checks whether the store is closing

_RUNNING_RESTORE = list(RUNNING_RESTORE_JOBS)
_RUNNING_BACKUP = list(RUNNING_BACKUPS)  # the gate's: backups holding their host
_RUNNING_OR_DELETING = list(RUNNING_BACKUP_JOBS)
_UNFINISHED_RESTORE = list(UNFINISHED_RESTORES)
_GATE = (
    "SELECT (SELECT rebalancing FROM consoles WHERE id = %(c)s), "
    "EXISTS (SELECT 1 FROM restores WHERE console = %(c)s AND status = ANY(%(r)s)), "
    "(SELECT string_agg(DISTINCT host_id::text, ',') FROM backups "
    "WHERE console = %(c)s AND status = ANY(%(b)s))"
)


def _select(table: Table[Any], columns: tuple[str, ...]) -> str:
    return f"SELECT {', '.join(columns)} FROM {table.name}"


def _insert(table: Table[Any]) -> str:
    return (
        f"INSERT INTO {table.name} (console, {', '.join(table.columns)}) "
        f"VALUES (%s, {_marks(len(table.columns))})"
    )


def _update(table: Table[Any]) -> str:
    """The compare-and-set UPDATE (parameters: `Table.updated`, console, id, expected)."""
    sets = ", ".join(f"{c} = %s" for c in table.updated)
    return f"UPDATE {table.name} SET {sets} WHERE console = %s AND id = %s AND status = %s"


def _gate_view(rebalancing: bool, restore_running: Any, hosts: str | None) -> GateView:
    """The gate from its columns: the hosts of running backups come comma-joined."""
    return GateView(
        rebalancing=rebalancing,
        restore_running=bool(restore_running),
        backup_hosts=frozenset(int(h) for h in hosts.split(",")) if hosts else frozenset(),
    )


def _stored_restore(row: tuple[Any, ...]) -> StoredRestore:
    return StoredRestore(RESTORES.record(row), RESTORES.job(row))


def _stored_backup(row: tuple[Any, ...]) -> StoredBackup:
    return StoredBackup(BACKUPS.record(row), BACKUPS.job(row))


_WRITES = ("INSERT", "UPDATE", "DELETE")


def _marks(n: int) -> str:
    return ", ".join(["%s"] * n)


_RESTORE_ROW = _select(RESTORES, RESTORES.columns)
_BACKUP_ROW = _select(BACKUPS, BACKUPS.columns)
_VISIBLE_RESTORE = (
    f"{_select(RESTORES, RESTORES.record_columns)} WHERE console = %s AND id = %s AND visible = 1"
)
_VISIBLE_BACKUP = (
    f"{_select(BACKUPS, BACKUPS.record_columns)} WHERE console = %s AND id = %s AND visible = 1"
)
_INSERT_RESTORE, _INSERT_BACKUP = _insert(RESTORES), _insert(BACKUPS)
_UPDATE_RESTORE, _UPDATE_BACKUP = _update(RESTORES), _update(BACKUPS)


class PostgresTx:
    """The `Tx` of the PostgreSQL store: domain reads and writes on one connection.

    `write` is True inside the writer's transaction: only there does `gate` lock the console's
    row and `due_jobs` claim rows (`FOR UPDATE SKIP LOCKED`). For the NOTIFY of the batch,
    `touched` collects the consoles whose workers in other processes should look again (a
    job written with a phase to end, `due_at`; settings changed or deleted) and `changed`
    those whose records changed with no work left for anyone (a job that finished, or waits
    for a step): there only waiters look again, no worker is woken for nothing."""

    __slots__ = (
        "_c", "_counted", "_held", "_views", "changed", "statements", "touched", "write",
        "writes",
    )  # fmt: skip

    def __init__(self, cursor: Cursor, write: bool) -> None:
        self._c = cursor
        self.write = write
        self.touched: set[str] = set()
        self.changed: set[str] = set()
        self.writes = 0  # statements that changed (or may have changed) rows
        self.statements = 0  # round trips to the server (the store's `stats`)
        #: consoles whose row this transaction locked up front (`hold`): their state, and their
        #: ids and ordinals as counted so far ([next restore id, next backup id, restore
        #: ordinal, backup ordinal]); `_counted` are those whose counters are not written yet
        self._held: dict[str, tuple[ConsoleState, list[int]]] = {}
        self._counted: set[str] = set()
        #: of held consoles: the gate and whether an unfinished restore record exists, as
        #: `hold` read them (dropped when this transaction writes a job of the console)
        self._views: dict[str, tuple[GateView, bool]] = {}

    def hold(self, consoles: Sequence[str]) -> None:
        """Lock the rows of `consoles` that no other transaction holds, and keep them.

        One statement instead of several per unit: while the lock is held nobody else can
        change those rows, so `console` answers from what was read, `gate` needs no lock of
        its own, and `next_id`/`next_ordinal` count in memory, written once by
        `write_counters` before COMMIT. A console another transaction holds is skipped (its
        units take the slow path, waiting for it where they must); rows are locked in one
        order, by id.

        The same statement reads each console's gate and whether it has an unfinished restore
        record, kept until this transaction writes a job of that console. Its snapshot is
        taken before the locks: it is trusted only where the locked row is the version that
        snapshot sees (equal `xmin`), since every start of a job (and every new restore) writes
        the console's row (its ids and ordinals) under the lock. What the snapshot may miss
        is then only a job that ended meanwhile, which can refuse a start that raced with
        that end (a refusal as of the snapshot), never admit a second one."""
        if not consoles:  # a batch of units that name no console (creating one, the probe)
            return
        rows = self._all(
            "SELECT c.id, c.rebalancing, c.settings, c.revision, c.next_restore_id, "
            "c.next_backup_id, c.restore_ordinal, c.backup_ordinal, "
            "c.xmin = (SELECT s.xmin FROM consoles s WHERE s.id = c.id), "
            "EXISTS (SELECT 1 FROM restores WHERE console = c.id AND status = ANY(%(r)s)), "
            "(SELECT string_agg(DISTINCT host_id::text, ',') FROM backups "
            "WHERE console = c.id AND status = ANY(%(b)s)), "
            "EXISTS (SELECT 1 FROM restores WHERE console = c.id AND visible = 1 "
            "AND status = ANY(%(u)s)) "
            'FROM consoles c WHERE c.id = ANY(%(ids)s) ORDER BY c.id COLLATE "C" '
            "FOR NO KEY UPDATE OF c SKIP LOCKED",
            {"ids": list(consoles), "r": _RUNNING_RESTORE, "b": _RUNNING_BACKUP,
             "u": _UNFINISHED_RESTORE},
        )  # fmt: skip
        for r in rows:
            state = ConsoleState(r[0], bool(r[1]), settings_of(r[2]), r[3], r[2])
            self._held[r[0]] = (state, [r[4], r[5], r[6], r[7]])
            if r[8]:  # the snapshot saw the row as locked: its jobs are as of the lock
                self._views[r[0]] = (_gate_view(bool(r[1]), r[9], r[10]), bool(r[11]))

    def write_counters(self, console: str | None = None) -> None:
        """Write the ids and ordinals counted in memory (of one console, or of all)."""
        counted = (
            sorted(self._counted)
            if console is None
            else [console]
            if console in self._counted
            else []
        )
        if not counted:
            return
        values = [self._held[c][1] for c in counted]
        self._x(
            "UPDATE consoles AS c SET next_restore_id = v.r, next_backup_id = v.b, "
            "restore_ordinal = v.ro, backup_ordinal = v.bo FROM unnest(%s::text[], "
            "%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) AS v(id, r, b, ro, bo) "
            "WHERE c.id = v.id",
            (counted, *([v[i] for v in values] for i in range(4))),
        )
        self._counted.difference_update(counted)

    def _release(self, console: str) -> None:
        """Before a statement that writes the console's row: its counters written, its state
        read again from then on (the lock stays until COMMIT, but `gate` need not know)."""
        self._views.pop(console, None)
        if console in self._held:
            self.write_counters(console)
            del self._held[console]

    def _count(self, console: str, index: int, at_least: int | None = None) -> int | None:
        """Move a counter of a held console on (by one, or to `at_least`); its value before,
        None when the console is not held."""
        held = self._held.get(console)
        if held is None:
            return None
        counters = held[1]
        before = counters[index]
        counters[index] = before + 1 if at_least is None else max(before, at_least)
        self._counted.add(console)
        self.writes += 1  # a write, as far as undoing a failed unit goes
        return before

    @property
    def cursor(self) -> Cursor:
        return self._c

    def _x(self, sql: str, params: Any = ()) -> Cursor:
        if sql.startswith(_WRITES):
            self.writes += 1
        self.statements += 1
        return self._c.execute(sql, params)

    def _one(self, sql: str, params: Any = ()) -> tuple[Any, ...] | None:
        return self._x(sql, params).fetchone()

    def _all(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        return self._x(sql, params).fetchall()

    # consoles and credentials ------------------------------------------------------------
    def console(self, console: str) -> ConsoleState | None:
        held = self._held.get(console)
        if held is not None:
            return held[0]
        query = "SELECT id, rebalancing, settings, revision FROM consoles WHERE id = %s"
        row = self._one(query, (console,))
        if row is None and self.write:
            # a console being created by another process is not visible until it commits:
            # whoever finds it missing waits for whoever else does (to the end of their
            # transaction), then looks again, so that two processes never both create it
            self._x("SELECT pg_advisory_xact_lock(hashtext(%s))", ("console:" + console,))
            row = self._one(query, (console,))
        if row is None:
            return None
        return ConsoleState(row[0], bool(row[1]), settings_of(row[2]), row[3], row[2])

    def consoles(self) -> list[ConsoleState]:
        rows = self._all(
            'SELECT id, rebalancing, settings, revision FROM consoles ORDER BY id COLLATE "C"'
        )
        return [ConsoleState(r[0], bool(r[1]), settings_of(r[2]), r[3], r[2]) for r in rows]

    def put_console(self, state: ConsoleState) -> None:
        self._release(state.id)
        self._x(
            "INSERT INTO consoles (id, rebalancing, settings, revision) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET rebalancing = excluded.rebalancing, "
            "settings = excluded.settings, revision = consoles.revision + 1",
            (state.id, int(state.rebalancing), json.dumps(state.settings, sort_keys=True),
             state.revision),
        )  # fmt: skip
        self.touched.add(state.id)

    def delete_console(self, console: str) -> bool:
        self._release(console)
        for table in ("credentials", "hosts", "configurations", "restores", "backups"):
            self._x(f"DELETE FROM {table} WHERE console = %s", (console,))
        self.touched.add(console)
        return self._x("DELETE FROM consoles WHERE id = %s", (console,)).rowcount > 0

    def credential(self, secret: str, basic: bool) -> Credential | None:
        row = self._one(
            "SELECT secret, console, admin, name FROM credentials WHERE digest = %s AND basic = %s",
            (secret_digest(secret), int(basic)),
        )
        if row is None or not same_secret(row[0], secret):
            return None
        return Credential(row[0], row[1], bool(row[2]), row[3], basic)

    def credential_and_restore(
        self, secret: str, basic: bool, id: int
    ) -> tuple[Credential | None, bytes | None]:
        return credential_then_restore(self, secret, basic, id)

    def credentials(self, console: str) -> list[Credential]:
        rows = self._all(
            "SELECT secret, admin, name, basic FROM credentials WHERE console = %s "
            'ORDER BY secret COLLATE "C"',
            (console,),
        )
        return [Credential(r[0], console, bool(r[1]), r[2], bool(r[3])) for r in rows]

    def put_credential(self, credential: Credential) -> bool:
        c = credential
        written = self._x(
            "INSERT INTO credentials (digest, basic, secret, console, admin, name) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (digest, basic) DO UPDATE SET "
            "admin = excluded.admin, name = excluded.name "
            "WHERE credentials.console = excluded.console",
            (secret_digest(c.secret), int(c.basic), c.secret, c.console, int(c.admin), c.name),
        ).rowcount
        return written > 0

    def next_id(self, console: str, kind: JobKind) -> int:
        counted = self._count(console, 0 if kind is JobKind.RESTORE else 1)
        if counted is not None:
            return counted
        column = "next_restore_id" if kind is JobKind.RESTORE else "next_backup_id"
        row = self._one(
            f"UPDATE consoles SET {column} = {column} + 1 WHERE id = %s RETURNING {column} - 1",
            (console,),
        )
        assert row is not None
        return int(row[0])

    def reserve_id(self, console: str, kind: JobKind, id: int) -> None:
        if self._count(console, 0 if kind is JobKind.RESTORE else 1, id + 1) is not None:
            return
        column = "next_restore_id" if kind is JobKind.RESTORE else "next_backup_id"
        self._x(
            f"UPDATE consoles SET {column} = greatest({column}, %s) WHERE id = %s",
            (id + 1, console),
        )

    def next_ordinal(self, console: str, kind: JobKind) -> int:
        counted = self._count(console, 2 if kind is JobKind.RESTORE else 3)
        if counted is not None:
            return counted + 1
        column = "restore_ordinal" if kind is JobKind.RESTORE else "backup_ordinal"
        row = self._one(
            f"UPDATE consoles SET {column} = {column} + 1 WHERE id = %s RETURNING {column}",
            (console,),
        )
        assert row is not None
        return int(row[0])

    # the world ---------------------------------------------------------------------------
    def hosts(self, console: str) -> list[Host]:
        rows = self._all(
            "SELECT id, hostname, private_ip, is_console, active, components, ariel_data, "
            "version FROM hosts WHERE console = %s ORDER BY id",
            (console,),
        )
        return [
            Host(r[0], r[1], r[2], bool(r[3]), bool(r[4]),
                 tuple(c for c in r[5].split(",") if c), bool(r[6]), r[7])
            for r in rows
        ]  # fmt: skip

    def put_host(self, console: str, host: Host) -> None:
        self._x(
            "INSERT INTO hosts VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (console, id) DO UPDATE SET hostname = excluded.hostname, "
            "private_ip = excluded.private_ip, is_console = excluded.is_console, "
            "active = excluded.active, components = excluded.components, "
            "ariel_data = excluded.ariel_data, version = excluded.version",
            (console, host.id, host.hostname, host.private_ip, int(host.console),
             int(host.active), ",".join(host.components), int(host.ariel_data), host.version),
        )  # fmt: skip

    def configurations(self, console: str) -> list[BackupConfiguration]:
        rows = self._all(
            "SELECT body FROM configurations WHERE console = %s ORDER BY id", (console,)
        )
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
        self._x(
            "INSERT INTO configurations VALUES (%s, %s, %s) "
            "ON CONFLICT (console, id) DO UPDATE SET body = excluded.body",
            (console, configuration.configuration_id, json.dumps(body, sort_keys=True)),
        )

    def clear_world(self, console: str) -> None:
        self._release(console)
        for table in ("hosts", "configurations", "restores", "backups"):
            self._x(f"DELETE FROM {table} WHERE console = %s", (console,))
        self._x(
            "UPDATE consoles SET next_restore_id = 1, next_backup_id = 1, restore_ordinal = 0, "
            "backup_ordinal = 0, rebalancing = 0 WHERE id = %s",
            (console,),
        )

    # restores ----------------------------------------------------------------------------
    def restore(self, console: str, id: int) -> StoredRestore | None:
        row = self._one(f"{_RESTORE_ROW} WHERE console = %s AND id = %s", (console, id))
        return None if row is None else _stored_restore(row)

    def visible_restore(self, console: str, id: int) -> Restore | None:
        row = self._one(_VISIBLE_RESTORE, (console, id))
        return None if row is None else RESTORES.record(row)

    def restore_json(self, console: str, id: int) -> dict[str, Any] | None:
        row = self._one(_VISIBLE_RESTORE, (console, id))
        return None if row is None else RESTORES.json(row)

    def restore_encoded(self, console: str, id: int) -> bytes | None:
        body = self.restore_json(console, id)
        return None if body is None else orjson.dumps(body)

    def restores(self, console: str) -> list[Restore]:
        rows = self._all(
            f"{_select(RESTORES, RESTORES.record_columns)} "
            "WHERE console = %s AND visible = 1 ORDER BY id",
            (console,),
        )
        return [RESTORES.record(r) for r in rows]

    def insert_restore(self, console: str, restore: Restore, job: Job) -> None:
        self._x(_INSERT_RESTORE, (console, *RESTORES.values(restore), *job_values(job)))
        self._job_written(console, job)

    def update_restore(
        self, console: str, id: int, expected: str, record: Restore, job: Job
    ) -> bool:
        cursor = self._x(
            _UPDATE_RESTORE, (*RESTORES.updates(record), *job_values(job), console, id, expected)
        )
        self._job_written(console, job)
        return cursor.rowcount == 1

    def hide_restore(self, console: str, id: int) -> None:
        self._x("UPDATE restores SET visible = 0 WHERE console = %s AND id = %s", (console, id))
        self._job_written(console)

    def purge_restore(self, console: str, id: int) -> None:
        self._x("DELETE FROM restores WHERE console = %s AND id = %s", (console, id))
        self._job_written(console)

    def unfinished_restore_record(self, console: str) -> bool:
        view = self._views.get(console)
        if view is not None:
            return view[1]
        row = self._one(
            "SELECT 1 FROM restores WHERE console = %s AND visible = 1 "
            "AND status = ANY(%s) LIMIT 1",
            (console, _UNFINISHED_RESTORE),
        )
        return row is not None

    # backups -----------------------------------------------------------------------------
    def backup(self, console: str, id: int) -> StoredBackup | None:
        row = self._one(f"{_BACKUP_ROW} WHERE console = %s AND id = %s", (console, id))
        return None if row is None else _stored_backup(row)

    def visible_backup(self, console: str, id: int) -> Backup | None:
        row = self._one(_VISIBLE_BACKUP, (console, id))
        return None if row is None else BACKUPS.record(row)

    def backups(self, console: str) -> list[Backup]:
        rows = self._all(
            f"{_select(BACKUPS, BACKUPS.record_columns)} "
            "WHERE console = %s AND visible = 1 ORDER BY id",
            (console,),
        )
        return [BACKUPS.record(r) for r in rows]

    def backup_name_taken(self, console: str, name: str) -> bool:
        row = self._one("SELECT 1 FROM backups WHERE console = %s AND name = %s", (console, name))
        return row is not None

    def insert_backup(self, console: str, backup: Backup, job: Job) -> None:
        self._x(_INSERT_BACKUP, (console, *BACKUPS.values(backup), *job_values(job)))
        self._job_written(console, job)

    def update_backup(self, console: str, id: int, expected: str, record: Backup, job: Job) -> bool:
        cursor = self._x(
            _UPDATE_BACKUP, (*BACKUPS.updates(record), *job_values(job), console, id, expected)
        )
        self._job_written(console, job)
        return cursor.rowcount == 1

    def remove_backup(self, console: str, id: int) -> None:
        self._x("DELETE FROM backups WHERE console = %s AND id = %s", (console, id))
        self._job_written(console)

    def _job_written(self, console: str, job: Job | None = None) -> None:
        """Work for the workers of other processes (a phase to end), or news for waiters; the
        gate as `hold` read it no longer holds."""
        self._views.pop(console, None)
        (self.touched if job is not None and job.due_at is not None else self.changed).add(console)

    # the engine --------------------------------------------------------------------------
    def gate(self, console: str) -> GateView:
        view = self._views.get(console)
        if view is not None:
            return view[0]
        if self.write and console not in self._held:
            # the gate row: whoever records a start holds it until COMMIT; the next statement
            # has a new snapshot, which sees every start committed before the lock was granted
            self._x("SELECT 1 FROM consoles WHERE id = %s FOR UPDATE", (console,))
        row = self._one(_GATE, {"c": console, "r": _RUNNING_RESTORE, "b": _RUNNING_BACKUP})
        assert row is not None
        return _gate_view(bool(row[0]), row[1], row[2])

    def due_jobs(self, console: str, now_ms: int, limit: int) -> list[StoredRestore | StoredBackup]:
        # in a write transaction the rows are claimed: another process's pass skips them
        claim = " FOR UPDATE SKIP LOCKED" if self.write else ""
        jobs: list[StoredRestore | StoredBackup] = []
        for row in self._all(
            f"{_RESTORE_ROW} WHERE console = %s AND due_at IS NOT NULL "
            f"AND due_at <= %s ORDER BY due_at, id LIMIT %s{claim}",
            (console, now_ms, limit),
        ):
            jobs.append(_stored_restore(row))
        for row in self._all(
            f"{_BACKUP_ROW} WHERE console = %s AND due_at IS NOT NULL "
            f"AND due_at <= %s ORDER BY due_at, id LIMIT %s{claim}",
            (console, now_ms, limit),
        ):
            jobs.append(_stored_backup(row))
        return jobs

    def running_jobs(self, console: str) -> list[StoredRestore | StoredBackup]:
        jobs: list[StoredRestore | StoredBackup] = []
        for row in self._all(
            f"{_RESTORE_ROW} WHERE console = %s AND status = ANY(%s) ORDER BY id",
            (console, _RUNNING_RESTORE),
        ):
            jobs.append(_stored_restore(row))
        for row in self._all(
            f"{_BACKUP_ROW} WHERE console = %s AND status = ANY(%s) ORDER BY id",
            (console, _RUNNING_OR_DELETING),
        ):
            jobs.append(_stored_backup(row))
        return jobs

    def next_due(self, console: str) -> int | None:
        row = self._one(
            "SELECT least((SELECT min(due_at) FROM restores WHERE console = %(c)s "
            "AND due_at IS NOT NULL), (SELECT min(due_at) FROM backups WHERE console = %(c)s "
            "AND due_at IS NOT NULL))",
            {"c": console},
        )
        return None if row is None or row[0] is None else int(row[0])

    def clock_ms(self, console: str) -> int | None:
        """The console's shared virtual clock (None: never moved, the epoch)."""
        row = self._one("SELECT now_ms FROM clocks WHERE console = %s", (console,))
        return None if row is None else int(row[0])

    def set_clock_ms(self, console: str, now_ms: int) -> None:
        self._x(
            "INSERT INTO clocks (console, now_ms) SELECT id, %s FROM consoles WHERE id = %s "
            "ON CONFLICT (console) DO UPDATE SET now_ms = excluded.now_ms",
            (now_ms, console),
        )
        self.touched.add(console)  # the other processes follow

    def probe(self, at_ms: int) -> None:
        """The store's own write, to find out whether writes succeed again after a fault."""
        self._x(
            "INSERT INTO probe (id, at_ms) VALUES (1, %s) "
            "ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms",
            (at_ms,),
        )


# SQLSTATE classes and codes that are the storage's fault (appendix A of PostgreSQL's manual):
# connection exceptions, insufficient resources (disk full, out of memory, too many
# connections), operator intervention (shutdown, cannot connect now, query cancelled), system
# errors (I/O), a lock wait past `lock_timeout`, a read-only transaction: may pass. Data or an
# index corrupted: does not pass by itself.
_UNAVAILABLE_CLASSES = ("08", "53", "57", "58")
_READ_ONLY = "25006"  # a write in a read-only transaction (a standby server, or a read)
_UNAVAILABLE_CODES = frozenset({"55P03", _READ_ONLY, "25P03"})
_CORRUPT_CODES = frozenset({"XX001", "XX002"})
#: a transaction PostgreSQL aborted so that another could go on: run it again
_RETRY_CODES = frozenset({"40P01", "40001"})
_CORRUPT_ADVICE = "restore the database from a copy, or start on a new one"


def _storage_fault(error: BaseException, where: str, advice: str = "") -> StorageError | None:
    """The `StorageError` a psycopg error stands for, or None when it is not the storage's."""
    if not isinstance(error, psycopg.Error):
        return None
    state = error.sqlstate or ""
    if state in _CORRUPT_CODES:
        return StorageCorrupt(where, _first_line(error), advice or _CORRUPT_ADVICE)
    if (
        state.startswith(_UNAVAILABLE_CLASSES)
        or state in _UNAVAILABLE_CODES
        or (not state and isinstance(error, psycopg.OperationalError | psycopg.InterfaceError))
    ):
        return StorageUnavailable(where, _first_line(error), advice)
    return None


def _retryable(error: BaseException) -> bool:
    return isinstance(error, psycopg.Error) and (error.sqlstate or "") in _RETRY_CODES


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _open_fault(error: psycopg.Error, where: str) -> StorageError:
    """The error of a database that cannot be used, with what to do about it (one line)."""
    state = error.sqlstate or ""
    text = str(error)
    if state == "3D000" or ("does not exist" in text and "database" in text):
        advice = "create it first (createdb NAME), or name an existing database in the URL"
    elif state.startswith("28") or "authentication" in text or "password" in text:
        advice = "check the user and password in the URL (or PGPASSWORD, ~/.pgpass)"
    elif isinstance(error, psycopg.OperationalError):
        advice = "is the server running and reachable at that host and port?"
    else:
        advice = "check the URL and the server's log"
    fault = _storage_fault(error, where, advice) or StorageUnavailable(
        where, _first_line(error), advice
    )
    fault.__cause__ = error
    return fault


def list_page(
    cursor: Cursor,
    console: str,
    request: ListRequest,
    table: sql_query.Table,
    convert: Callable[[tuple[Any, ...]], R],
) -> Page[R] | None:
    """A list request in one statement (one snapshot): the console's visible records, how many
    match, and the page; None when `sql_query` cannot say the request exactly in PostgreSQL's
    dialect (the caller answers with the oracle). The page does not depend on the total (a
    Range's LIMIT and OFFSET clip as `RangeSpec.window` does), so nothing waits for the count;
    a filter too costly for the console's records is refused (422/12) on that same count."""
    compiled = sql_query.compile_list(
        request, table, sql_query.POSTGRES, sql_query.postgres_placeholder
    )
    if compiled is None:
        return None
    base = f"FROM {table.name} WHERE console = %s AND visible = 1"
    where: str = compiled.where
    params: tuple[Any, ...] = compiled.params
    limit: int | None = None
    offset = 0
    if request.range is not None:
        limit, offset = request.range.end - request.range.start + 1, request.range.start
    columns = ", ".join(_RECORD_COLUMNS[table.name])
    order = compiled.order_by  # again outside: a join keeps no order by itself
    rows = cursor.execute(
        f"WITH m AS (SELECT count(*) AS visible, count(*) FILTER (WHERE {where}) AS total "
        f"{base}) SELECT m.visible, m.total, p.* FROM m LEFT JOIN LATERAL (SELECT {columns} "
        f"{base} AND ({where}) ORDER BY {order} LIMIT %s OFFSET %s) AS p ON true ORDER BY {order}",
        (*params, console, console, *params, limit, offset),
    ).fetchall()
    visible, total = int(rows[0][0]), int(rows[0][1])
    if request.filter is not None and request.filter.expr is not None:
        request.filter.check_work(visible)  # the same 422/12 as the oracle's
    if rows[0][2] is None:  # no row in the window (the record's id is never null)
        return Page([], total)
    return Page([convert(r[2:]) for r in rows], total)


_RECORD_COLUMNS = {RESTORES.name: RESTORES.record_columns, BACKUPS.name: BACKUPS.record_columns}


def notices(token: str, work: set[str], changed: set[str]) -> list[str]:
    """The NOTIFY payloads of one commit: JSON objects `{"t": token, "w": [consoles with work
    for other processes' workers], "c": [consoles whose records changed]}`, as few as fit in
    NOTICE_BYTES each (one for a usual batch), so that a listener wakes once per commit."""
    notes: list[str] = []
    items = [("w", c) for c in sorted(work)] + [("c", c) for c in sorted(changed)]
    empty = len(json.dumps({"t": token, "w": [], "c": []}, separators=(",", ":")))
    note: dict[str, Any] = {"t": token, "w": [], "c": []}
    size = empty
    for key, console in items:
        cost = len(json.dumps(console)) + 1  # UTF-8 may take more bytes: ensure_ascii is on
        if size + cost > NOTICE_BYTES and (note["w"] or note["c"]):
            notes.append(json.dumps(note, separators=(",", ":")))
            note, size = {"t": token, "w": [], "c": []}, empty
        note[key].append(console)
        size += cost
    if note["w"] or note["c"]:
        notes.append(json.dumps(note, separators=(",", ":")))
    return notes


def read_notice(payload: str) -> tuple[str, list[str], list[str]]:
    """A payload of `notices`: the sending store's token, the consoles with work, those whose
    records changed. Anything else is read as the token alone (a closing store's nudge)."""
    try:
        note = json.loads(payload)
        return str(note["t"]), list(note.get("w", ())), list(note.get("c", ()))
    except (ValueError, KeyError, TypeError):
        return payload, [], []


def writers_for(processes: int, cpus: int) -> int:
    """Writers of one of `processes` simulator processes sharing `cpus` CPUs (the server
    may share them too): WRITERS while each process has that many CPUs of its own, else one.

    A process alone needs two: one writer serialises its round trips (1 process on 2 CPUs,
    `python -m bench --quick --only postgres`, alternating, 2026-12-01: 1,817 lifecycles/s
    with one writer, 2,346 with two). Processes sharing the CPUs need one: each more writer
    thread costs every process GIL and thread hand-offs and halves its group-commit batches
    (2 and 4 processes: 4,146 / 3,163 with one writer, 3,885 / 2,786 with two, 2,885 / 2,426
    with four)."""
    return max(1, min(WRITERS, cpus // max(processes, 1)))


def slots_for(processes: int, writers: int, cpus: int) -> int | None:
    """How many writer transactions of the processes sharing a host may be open at once
    (None: no limit): one per CPU once the host's writers outnumber its CPUs.

    Why: PostgreSQL's backends share the CPUs with the processes, and every statement is a
    round trip between a writer and its backend. With more of them than CPUs each round trip
    switches to another process's working set, and every statement costs more CPU, in the
    simulators and in the server, for the same work (4 processes on 2 CPUs, 1,000 consoles,
    5.1 statements and 0.016 commits per lifecycle either way; three runs of each, interleaved,
    2026-12-01: 1,650-1,870 µs of simulator CPU and 1,020-1,160 µs of backend CPU per
    lifecycle without turns, 1,290-1,510 and 850-1,160 with them; 2 processes: 1,320-1,430
    and 780-1,000; 2 processes beside two busy loops paid 2,115 and 1,164). Taking turns, the
    writers of 4 processes run as those of 2 do, and a writer waiting for its turn gathers
    its units into the next batch."""
    if processes <= 1 or processes * writers <= cpus:
        return None
    return max(cpus, 1)


def _slot_key(host: str) -> int:
    """The first key of the host's writer slots (`pg_advisory_xact_lock(key, slot)`, a key
    space apart from the one-key locks of migrations and console creation)."""
    crc = zlib.crc32(f"bre-writers:{host}".encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def host_processes(environ: Mapping[str, str]) -> int:
    """How many simulator processes share this host's CPUs (`HOST_PROCESSES`; 1 unset or
    unreadable: the setting only tunes, it never stops a store from opening)."""
    try:
        return max(int(environ.get(HOST_PROCESSES, "1")), 1)
    except ValueError:
        return 1


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def connect(url: str) -> Conn:
    """A connection in autocommit: the store says BEGIN and COMMIT itself."""
    conn: Conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    return conn


def _reader(url: str) -> Conn:
    """The reader's connection: read-only, so that a read can never write."""
    conn = connect(url)
    conn.execute("SET default_transaction_read_only = on")
    return conn


@dataclass(slots=True)
class _Unit:
    work: Callable[[PostgresTx], Any]
    future: asyncio.Future[Any]
    console: str | None  # the console it writes (the engine's units say), held up front


@dataclass(slots=True)
class _Stats:
    batches: int = 0
    units: int = 0
    failures: int = 0
    largest_batch: int = 0
    retried: int = 0  # batches PostgreSQL aborted (deadlock, serialisation) and ran again
    faults: int = 0
    slot_free: int = 0  # transactions that found a writer slot free (`_begin`)
    slot_waits: int = 0  # and that waited for one


@record
class _ClockOf:
    """The unit that stores a console's clock, on that console's writer (after its units)."""

    console: str
    now_ms: int

    def __call__(self, tx: PostgresTx) -> None:
        tx.set_clock_ms(self.console, self.now_ms)


@dataclass(slots=True)
class _Lane:
    """One writer: its queue, its connection (opened on first use) and its thread."""

    index: int
    queue: queue.SimpleQueue[_Unit | None] = field(default_factory=queue.SimpleQueue)
    conn: Conn | None = None
    cursor: Cursor | None = None  # of `conn`
    thread: threading.Thread | None = None
    statements: int = 0  # sent by this writer (written by its thread alone)


class _Closed(Exception):
    """The store closed before a batch could be written."""


class PostgresStore:
    """The store on one PostgreSQL database: `writers` writer threads (connections opened on
    first use; by default `writers_for` the processes sharing the host), a reader and a
    listener thread."""

    def __init__(
        self, url: str, loop: asyncio.AbstractEventLoop, writers: int | None = None
    ) -> None:
        self.url = url
        self.path = redacted(url)  # what errors and readiness name
        self._loop = loop
        self._token = secrets.token_hex(8)  # this store's NOTIFY payloads, ignored by itself
        processes, cpus = host_processes(os.environ), _cpus()
        if writers is None:
            writers = writers_for(processes, cpus)
        self._lanes = [_Lane(i) for i in range(writers)]
        #: writer transactions of this host's processes open at once (None: no limit), taken
        #: as transaction-scoped advisory locks (`_begin`)
        self._slots = slots_for(processes, writers, cpus)
        self._slot_key = _slot_key(socket.gethostname())
        self._reader_conn: Conn | None = None
        self._read_statements = 0  # written by the reader thread alone
        self._reader: threading.Thread | None = None
        self._reads: queue.SimpleQueue[tuple[Callable[[PostgresTx], Any], ThreadFuture[Any]] | None]
        self._reads = queue.SimpleQueue()
        self._listener: threading.Thread | None = None
        self._follower: Callable[[str | None], None] | None = None
        self._records_follower: Callable[[str], None] | None = None
        self._closed = False
        self._closing = threading.Event()
        self._lock_timeout_ms = 10_000
        self._waits_end: float | None = None
        self._stats = _Stats()
        self._health = StoreHealth()
        self._watcher: Callable[[StoreHealth], None] | None = None
        self._probe: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, url: str, *, lock_timeout_ms: int = 10_000, writers: int | None = None
    ) -> PostgresStore:
        """Connect, create or migrate the schema, start the threads. A `StorageError` names the
        database (without its password) and says what to do when it cannot be used."""
        store = cls(url, asyncio.get_running_loop(), writers)
        store._lock_timeout_ms = lock_timeout_ms
        try:
            await asyncio.to_thread(store._setup)
        except psycopg.Error as error:
            store._close_connections()
            raise _open_fault(error, store.path) from None
        except schema.SchemaTooNew as error:
            store._close_connections()
            raise StorageError(store.path, str(error), "use a newer simulator") from None
        except BaseException:
            store._close_connections()
            raise
        for lane in store._lanes:
            lane.thread = threading.Thread(
                target=store._write_loop, args=(lane,), name=f"pg-writer-{lane.index}",
                daemon=True,
            )  # fmt: skip
            lane.thread.start()
        store._reader = threading.Thread(target=store._read_loop, name="pg-reader", daemon=True)
        store._reader.start()
        return store

    def _setup(self) -> None:
        first = self._lanes[0]
        first.conn = self._connect()
        schema.migrate(first.conn)
        self._reader_conn = _reader(self.url)

    def _connect(self) -> Conn:
        conn = connect(self.url)
        conn.execute(f"SET lock_timeout = {int(self._lock_timeout_ms)}")
        return conn

    # the port -----------------------------------------------------------------------------
    def transact(self, work: Callable[[PostgresTx], T]) -> Awaitable[T]:
        """Queue `work` for a writer; the future is its result, set after COMMIT.

        A unit that names its console (a `console` attribute, as the engine's units do) goes
        to the writer of that console: units of one console run in the order they came, and
        consoles are written in parallel on the writers' connections, whose statements' round
        trips overlap (one writer measured 76 lifecycles/s on 1,000 consoles where SQLite
        did 1,094). Other units (creating a console, the probe) go to the first writer."""
        if self._closed:
            raise RuntimeError("the store is closed")
        future: asyncio.Future[T] = self._loop.create_future()
        console = getattr(work, "console", None)
        lanes = self._lanes
        lane = lanes[hash(console) % len(lanes)] if console is not None else lanes[0]
        lane.queue.put(_Unit(work, future, console))
        return future

    async def read(self, work: Callable[[PostgresTx], T]) -> T:
        """A read on the reader thread's connection (autocommit: each statement sees every
        acknowledged write)."""
        if self._closed:
            raise RuntimeError("the store is closed")
        done: ThreadFuture[T] = ThreadFuture()
        self._reads.put((work, done))
        try:
            return await asyncio.wrap_future(done)
        except psycopg.Error as error:
            fault = _storage_fault(error, self.path)
            if fault is None or error.sqlstate == _READ_ONLY:  # a read that tried to write
                raise
            self._note(fault)
            raise fault from error

    def bound_waits(self, seconds: float) -> None:
        """From now on, no write waits for another process's lock more than `seconds`."""
        self._waits_end = time.monotonic() + seconds

    def follow_records(self, callback: Callable[[str], None] | None) -> None:
        """Call `callback(console)` on the event loop whenever another process changed records
        of a console and left no work for this one (a job that finished, or waits for a step),
        so that waiters look again at once; None stops. The listener starts with `follow`."""
        self._records_follower = callback

    def follow(self, callback: Callable[[str | None], None] | None) -> None:
        """Call `callback(console)` on the event loop whenever another process wrote jobs or
        settings of a console (None: every console, after the listener lost its connection
        and may have missed some); None stops. The LISTEN connection is opened on first use."""
        self._follower = callback
        if callback is not None and self._listener is None and not self._closed:
            self._listener = threading.Thread(
                target=self._listen_loop, name=f"pg-listener:{self.path}", daemon=True
            )
            self._listener.start()

    # lists: compiled to SQL by `sql_query` in its PostgreSQL dialect, one statement on the
    # reader; what that dialect cannot say exactly (ilike) is answered by the port's oracle
    async def list_restores(self, console: str, request: ListRequest) -> Page[Restore]:
        def work(tx: PostgresTx) -> Page[Restore]:
            page = list_page(tx.cursor, console, request, sql_query.RESTORES, RESTORES.record)
            return answer_by_oracle(tx.restores(console), request) if page is None else page

        return await self.read(work)

    async def list_backups(self, console: str, request: ListRequest) -> Page[Backup]:
        def work(tx: PostgresTx) -> Page[Backup]:
            page = list_page(tx.cursor, console, request, sql_query.BACKUPS, BACKUPS.record)
            return answer_by_oracle(tx.backups(console), request) if page is None else page

        return await self.read(work)

    async def encode_restores(
        self, console: str, request: ListRequest, keys: Sequence[str]
    ) -> EncodedPage:
        return encode_page(await self.list_restores(console, request), keys)

    async def encode_backups(
        self, console: str, request: ListRequest, keys: Sequence[str]
    ) -> EncodedPage:
        return encode_page(await self.list_backups(console, request), keys)

    async def clock_of(self, console: str) -> int | None:
        """The console's shared virtual clock as stored (None: not moved yet)."""
        return await self.read(lambda tx: tx.clock_ms(console))

    async def publish_clock(self, console: str, now_ms: int) -> None:
        """Store the console's virtual clock; the other processes are told (NOTIFY)."""
        await self.transact(_ClockOf(console, now_ms))

    # health -------------------------------------------------------------------------------
    def health(self) -> StoreHealth:
        return self._health

    def watch(self, callback: Callable[[StoreHealth], None] | None) -> None:
        self._watcher = callback

    def _set_health(self, health: StoreHealth) -> None:
        if health != self._health:
            self._health = health
            if self._watcher is not None:
                self._watcher(health)

    def _note(self, fault: StorageError) -> None:
        """A write or read the storage failed: health says so; a transient fault is probed.
        (On the event loop's thread.)"""
        self._stats.faults += 1
        health = self._health
        since = health.failing_since if health.failing_since is not None else time.time()
        if isinstance(fault, StorageCorrupt):
            self._set_health(StoreHealth(since, fault.cause, corrupt=True))
            return
        if health.corrupt:
            return
        self._set_health(StoreHealth(since, fault.cause))
        if not self._closing.is_set() and (self._probe is None or self._probe.done()):
            self._probe = self._loop.create_task(
                self._probe_until_writable(), name=f"pg-probe:{self.path}"
            )

    def _wrote(self) -> None:
        if self._health.failing_since is not None and not self._health.corrupt:
            self._set_health(StoreHealth())

    async def _probe_until_writable(self) -> None:
        pause = 0.05
        while not self._closing.is_set() and not self._health.ok and not self._health.corrupt:
            await asyncio.sleep(pause)
            pause = min(pause * 2, PROBE_MAX_S)
            if self._closing.is_set():
                return
            try:
                await self.transact(lambda tx: tx.probe(time.time_ns() // 1_000_000))
            except StorageError:
                continue

    # the writer thread --------------------------------------------------------------------
    def _write_loop(self, lane: _Lane) -> None:
        while True:
            first = lane.queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    unit = lane.queue.get_nowait()
                except queue.Empty:
                    break
                if unit is None:
                    lane.queue.put(None)  # seen after this batch
                    break
                batch.append(unit)
            batch = [u for u in batch if not u.future.done()]  # callers that gave up
            if batch:
                self._write(lane, batch)

    def _write(self, lane: _Lane, batch: list[_Unit]) -> None:
        """Run a batch and hand its results to the event loop; never raises."""
        try:
            try:
                results = self._run_batch(lane, batch)
            except psycopg.Error as error:
                if not _retryable(error):
                    raise
                self._stats.retried += 1
                results = [self._run_alone(lane, unit) for unit in batch]
        except BaseException as error:  # the batch failed as a whole: the storage's fault
            self._drop_broken(lane)
            self._loop.call_soon_threadsafe(self._failed, batch, error)
            return
        self._loop.call_soon_threadsafe(self._settle, batch, results)

    def _run_alone(self, lane: _Lane, unit: _Unit) -> tuple[bool, Any]:
        """A unit in a transaction of its own, again while PostgreSQL aborts it for a deadlock
        or a serialisation failure (with a short random pause between attempts). Never raises:
        the units before it in the batch are committed, so each is told its own outcome."""
        for attempt in range(RETRIES):
            try:
                (result,) = self._run_batch(lane, [unit])
                return result
            except Exception as error:
                if not _retryable(error) or attempt == RETRIES - 1:
                    self._drop_broken(lane)
                    return False, error
                time.sleep(random.uniform(0.001, 0.005 * (attempt + 1)))
        raise AssertionError("unreachable")

    def _writer_cursor(self, lane: _Lane) -> Cursor:
        if self._closing.is_set() and self._abandoned():
            raise _Closed
        conn = lane.conn
        if conn is None or conn.closed or conn.broken:
            lane.conn = conn = self._connect()  # a fault: the batch fails, the next retries
            lane.cursor = None
        if lane.cursor is None:  # one per connection: a new one per statement costs ~5 µs
            lane.cursor = conn.cursor()
        ends = self._waits_end
        if ends is not None:  # a stopping server: no lock wait beyond its grace
            left = max(int((ends - time.monotonic()) * 1000), 1)
            conn.execute(f"SET lock_timeout = {min(left, self._lock_timeout_ms)}")
        return lane.cursor

    def _abandoned(self) -> bool:
        ends = self._waits_end
        return ends is not None and time.monotonic() >= ends

    def _run_batch(self, lane: _Lane, batch: list[_Unit]) -> list[tuple[bool, Any]]:
        """One transaction for the batch, one commit; the results in order.

        No savepoints: PostgreSQL makes a subtransaction of each, and row locks taken in many
        subtransactions of one transaction grow a multixact per lock (measured: 11 ms per unit
        in a batch of 128 refused units, 2 ms alone). A unit that raises before it wrote
        anything (a refusal, nearly always) is simply failed; one that raises after a write,
        or whose statement failed, has the transaction rolled back and the batch run again
        without it (units are functions of the `Tx`: running one again is safe). A psycopg
        error of the storage, or a deadlock, fails the batch."""
        failed: dict[int, Exception] = {}
        while True:
            results = self._try_batch(lane, batch, failed)
            if results is not None:
                return results

    def _try_batch(
        self, lane: _Lane, batch: list[_Unit], failed: dict[int, Exception]
    ) -> list[tuple[bool, Any]] | None:
        """One attempt; None when a unit had to be taken out (it is added to `failed`)."""
        c = self._writer_cursor(lane)
        tx = PostgresTx(c, write=True)
        try:
            return self._attempt(tx, batch, failed)
        finally:
            lane.statements += tx.statements

    def _attempt(
        self, tx: PostgresTx, batch: list[_Unit], failed: dict[int, Exception]
    ) -> list[tuple[bool, Any]] | None:
        c = tx.cursor
        results: list[tuple[bool, Any]] = []
        try:
            self._begin(tx)
            tx.hold(
                sorted({u.console for i, u in enumerate(batch) if u.console and i not in failed})
            )
            for index, unit in enumerate(batch):
                if index in failed:
                    results.append((False, failed[index]))
                    continue
                writes = tx.writes
                try:
                    value = unit.work(tx)
                except Exception as error:
                    if _storage_fault(error, self.path) is not None or _retryable(error):
                        raise  # the storage failed (or PostgreSQL aborted us), not the unit
                    failed[index] = error
                    if tx.writes != writes or isinstance(error, psycopg.Error):
                        tx._x("ROLLBACK")  # undo it: run the batch again without it
                        return None
                    results.append((False, error))
                    continue
                results.append((True, value))
            if len(failed) == len(batch):
                tx._x("ROLLBACK")
                return results
            tx.write_counters()
            notes = notices(self._token, tx.touched, tx.changed - tx.touched)
            if notes:
                tx._x("SELECT pg_notify(%s, n) FROM unnest(%s::text[]) AS n", (CHANNEL, notes))
            tx._x("COMMIT")
        except BaseException:
            with contextlib.suppress(psycopg.Error):  # the error that ended it is the one
                conn = c.connection
                if (
                    not conn.broken
                    and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
                ):
                    c.execute("ROLLBACK")
            raise
        return results

    def _begin(self, tx: PostgresTx) -> None:
        """BEGIN; when the host's writers take turns (`slots_for`), a free slot in the same
        round trip, else a wait for one slot picked at random (PostgreSQL grants that slot to
        its waiters in order; a writer does not move to another slot freed first). The slot is
        released by COMMIT or ROLLBACK. It only tunes: a writer waits for it no longer than for
        a row lock (`lock_timeout`), then goes on without one."""
        slots = self._slots
        if slots is None:
            tx._x("BEGIN")
            return
        c, key = tx.cursor, self._slot_key
        tx.statements += 1
        c.execute(  # no parameters: the simple protocol, two statements in one round trip
            f"BEGIN; SELECT s FROM generate_series(0, {slots - 1}) AS s "
            f"WHERE pg_try_advisory_xact_lock({key}, s) LIMIT 1"
        )
        c.nextset()
        if c.fetchone() is not None:
            self._stats.slot_free += 1
            return
        self._stats.slot_waits += 1
        tx.statements += 1
        try:
            c.execute(f"SELECT pg_advisory_xact_lock({key}, {random.randrange(slots)})")
        except psycopg.errors.LockNotAvailable:  # a slot held too long: go on without one
            tx._x("ROLLBACK")
            tx._x("BEGIN")

    def _drop_broken(self, lane: _Lane) -> None:
        conn = lane.conn
        if conn is not None and conn.broken:
            with contextlib.suppress(Exception):
                conn.close()
            lane.conn = None

    # results, on the event loop's thread ---------------------------------------------------
    def _settle(self, batch: list[_Unit], results: list[tuple[bool, Any]]) -> None:
        self._wrote()
        stats = self._stats
        stats.batches += 1
        stats.units += len(batch)
        stats.largest_batch = max(stats.largest_batch, len(batch))
        for unit, (ok, value) in zip(batch, results, strict=True):
            if unit.future.done():
                continue
            if ok:
                unit.future.set_result(value)
                continue
            stats.failures += 1
            fault = _storage_fault(value, self.path)
            if fault is not None:  # a unit run alone after its batch was aborted
                fault.__cause__ = value
                self._note(fault)
                value = fault
            unit.future.set_exception(value)

    def _failed(self, batch: list[_Unit], error: BaseException) -> None:
        if isinstance(error, _Closed):
            failure: Exception = StorageUnavailable(
                self.path, "the store closed before it could write"
            )
        else:
            fault = _storage_fault(error, self.path)
            if fault is not None:
                fault.__cause__ = error
                self._note(fault)
                failure = fault
            elif isinstance(error, Exception):
                failure = error
            else:
                failure = StorageUnavailable(self.path, f"the writer stopped ({error!r})")
        for unit in batch:
            if not unit.future.done():
                unit.future.set_exception(failure)

    # the reader thread --------------------------------------------------------------------
    def _read_loop(self) -> None:
        cursor: Cursor | None = None
        while True:
            item = self._reads.get()
            if item is None:
                return
            work, done = item
            if not done.set_running_or_notify_cancel():
                continue
            try:
                conn = self._reader_conn
                if conn is None or conn.closed or conn.broken:
                    self._reader_conn = conn = _reader(self.url)
                    cursor = None
                if cursor is None or cursor.connection is not conn:
                    cursor = conn.cursor()
                tx = PostgresTx(cursor, write=False)
                try:
                    done.set_result(work(tx))
                finally:
                    self._read_statements += tx.statements
            except BaseException as error:
                conn = self._reader_conn
                if conn is not None and conn.broken:
                    with contextlib.suppress(Exception):
                        conn.close()
                    self._reader_conn = None
                done.set_exception(error)

    # the listener thread ------------------------------------------------------------------
    def _listen_loop(self) -> None:
        """LISTEN on the channel; each notification of another store wakes its console here.
        A lost connection is reopened (bounded pauses); after that every console is told, as
        notifications may have been missed meanwhile."""
        pause = 0.05
        lost = False
        while not self._closing.is_set():
            try:
                with connect(self.url) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    if lost:
                        self._tell(None)
                    pause = 0.05
                    while not self._closing.is_set():
                        for note in conn.notifies(timeout=LISTEN_POLL_S, stop_after=1):
                            token, work, changed = read_notice(note.payload)
                            if token != self._token and (work or changed):
                                self._tell_some(work, changed)
            except psycopg.Error:
                lost = True
                if self._closing.wait(pause):
                    return
                pause = min(pause * 2, PROBE_MAX_S)

    def _tell(self, console: str | None) -> None:
        follower = self._follower
        if follower is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self._loop.call_soon_threadsafe(follower, console)

    def _tell_some(self, work: list[str], changed: list[str]) -> None:
        """One commit of another process: one call onto the event loop, whatever its size."""
        if not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self._loop.call_soon_threadsafe(self._told, work, changed)

    def _told(self, work: list[str], changed: list[str]) -> None:
        follower, records = self._follower, self._records_follower
        if follower is not None:
            for console in work:
                follower(console)
        if records is not None:
            for console in changed:
                records(console)

    # closing ------------------------------------------------------------------------------
    async def close(self, grace_s: float = 3.0) -> bool:
        """Finish every queued unit, then close the connections (nothing half-written).

        Bounded: after `grace_s`, a statement still running (waiting for another process's
        lock) is cancelled and its units fail; False when the writer still did not end."""
        if self._closed:
            return True
        self._closed = True
        self._closing.set()
        if self._probe is not None:
            self._probe.cancel()
        for lane in self._lanes:
            lane.queue.put(None)
        self._reads.put(None)
        if self._listener is not None:  # wake it now rather than at its next poll
            await asyncio.to_thread(self._wake_listener)
        finished = await asyncio.to_thread(self._join_writers, grace_s)
        for thread in (self._reader, self._listener):
            if thread is not None:
                await asyncio.to_thread(thread.join, LISTEN_POLL_S + 0.5)
        if finished:
            self._close_connections()
        return finished

    def _join_writers(self, grace_s: float) -> bool:
        """Wait for every writer to finish its queue; past `grace_s`, cancel what still runs
        (a wait for another process's lock). False when a writer still did not end."""
        deadline = time.monotonic() + grace_s
        for lane in self._lanes:
            if lane.thread is not None:
                lane.thread.join(max(deadline - time.monotonic(), 0))
        stuck = [lane for lane in self._lanes if lane.thread and lane.thread.is_alive()]
        if stuck:
            self._waits_end = time.monotonic()  # nothing more waits
            for lane in stuck:
                if lane.conn is not None:
                    with contextlib.suppress(Exception):
                        lane.conn.cancel_safe(timeout=0.5)
            for lane in stuck:
                assert lane.thread is not None
                lane.thread.join(0.5)
        return not any(lane.thread and lane.thread.is_alive() for lane in self._lanes)

    def _wake_listener(self) -> None:
        with contextlib.suppress(psycopg.Error), connect(self.url) as conn:
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, self._token))

    def _close_connections(self) -> None:
        for conn in (*(lane.conn for lane in self._lanes), self._reader_conn):
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
        for lane in self._lanes:
            lane.conn = None
        self._reader_conn = None

    def stats(self) -> dict[str, int]:
        return {
            "batches": self._stats.batches,
            "units": self._stats.units,
            "failed_units": self._stats.failures,
            "retried_batches": self._stats.retried,
            "largest_batch": self._stats.largest_batch,
            "queued": sum(lane.queue.qsize() for lane in self._lanes),
            "storage_faults": self._stats.faults,
            "statements": sum(lane.statements for lane in self._lanes) + self._read_statements,
            "writers": len(self._lanes),
            "slots": self._slots or 0,
            "slot_waits": self._stats.slot_waits,
        }

    def __repr__(self) -> str:
        stats = self._stats
        return (
            f"PostgresStore(url={self.path!r}, batches={stats.batches}, units={stats.units}, "
            f"healthy={self._health.ok})"
        )


def _is_a_store(store: PostgresStore) -> Store:
    """The adapter is a `Store` (checked by mypy: the factory opens it by name)."""
    return store
