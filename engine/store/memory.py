"""The memory adapter of the store port: dicts in the process, the reference of the contract.

Each unit of work runs at once, on the event loop's thread, in the order `transact` was called:
nothing is shared with another process, so there is nothing to wait for and no commit to group.
A unit's writes are journalled as undo steps; a unit that raises is undone alone. The result is
handed back on the loop's next turn, so that awaiting a unit always yields to other tasks (as
with any adapter that commits elsewhere). Records are immutable dataclasses and are shared, not
copied; the mutable parts are taken through JSON when written (settings kept as their text, a
job's rule as a copy), as a database takes them, so a caller's later change to what it wrote
never reaches the store. What reads return is shared and read-only, as with every adapter.

The data lives as long as the store: `memory:` is the fastest embedded choice for a test suite
or a benchmark, never one for processes that share a simulator (`:memory:` is SQLite in RAM).
"""

from __future__ import annotations

import asyncio
import functools
import json
import operator
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

import orjson

from engine.core.enums import JobKind
from engine.core.gate import GateView
from engine.core.query import ListRequest
from engine.core.records import (
    BACKUP_UPDATABLE,
    RESTORE_UPDATABLE,
    Backup,
    BackupConfiguration,
    Host,
    Restore,
)
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

T = TypeVar("T")
R = TypeVar("R", StoredRestore, StoredBackup)


class ReadOnly(RuntimeError):
    """A write attempted in a read (`Store.read`): reads never change the store."""


class DuplicateKey(ValueError):
    """An insert of a key that exists (a record id, a backup name): the unit fails."""


@dataclass(slots=True)
class _Jobs(Generic[R]):
    """The records of one kind on one console, with the indexes the engine's searches use."""

    #: the statuses `live` holds: unfinished restores, running (or deleting) backups
    tracked: frozenset[str]
    rows: dict[int, R] = field(default_factory=dict)
    live: set[int] = field(default_factory=set)
    due: dict[int, int] = field(default_factory=dict)  # id -> due_at

    def put(self, id: int, stored: R | None) -> None:
        """Set (None: remove) a record and keep the indexes in step."""
        if stored is None:
            self.rows.pop(id, None)
            self.live.discard(id)
            self.due.pop(id, None)
            return
        self.rows[id] = stored
        if stored.record.status in self.tracked:
            self.live.add(id)
        else:
            self.live.discard(id)
        if stored.job.due_at is None:
            self.due.pop(id, None)
        else:
            self.due[id] = stored.job.due_at

    def ordered(self) -> list[R]:
        rows = self.rows
        return [rows[id] for id in sorted(rows)]


@dataclass(slots=True)
class _Console:
    id: str
    rebalancing: bool
    settings: str  # JSON text, sorted keys (the `fingerprint`)
    revision: int
    next_restore_id: int = 1
    next_backup_id: int = 1
    restore_ordinal: int = 0
    backup_ordinal: int = 0

    def state(self) -> ConsoleState:
        return ConsoleState(
            self.id, self.rebalancing, settings_of(self.settings), self.revision, self.settings
        )


@dataclass(slots=True)
class _World:
    """What a console owns besides its row (kept even for a console id without a row, as an
    SQL table without foreign keys would)."""

    hosts: dict[int, Host] = field(default_factory=dict)
    configurations: dict[int, BackupConfiguration] = field(default_factory=dict)
    restores: _Jobs[StoredRestore] = field(
        default_factory=lambda: _Jobs(frozenset(UNFINISHED_RESTORES))
    )
    backups: _Jobs[StoredBackup] = field(
        default_factory=lambda: _Jobs(frozenset(RUNNING_BACKUP_JOBS))
    )
    backup_names: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Data:
    consoles: dict[str, _Console] = field(default_factory=dict)
    #: (digest of the secret, basic) -> credential
    credentials: dict[tuple[str, bool], Credential] = field(default_factory=dict)
    worlds: dict[str, _World] = field(default_factory=dict)


_RUNNING_RESTORE = frozenset(RUNNING_RESTORE_JOBS)
_RUNNING_BACKUP = frozenset(RUNNING_BACKUPS)
_UNFINISHED = frozenset(UNFINISHED_RESTORES)
_RESTORE_FIXED = operator.attrgetter(
    *(f for f in Restore.__dataclass_fields__ if f not in RESTORE_UPDATABLE)
)
_BACKUP_FIXED = operator.attrgetter(
    *(f for f in Backup.__dataclass_fields__ if f not in BACKUP_UPDATABLE)
)


def _kept(job: Job, record: Restore | Backup) -> Job:
    """The job as stored: its status and id are the record's (as a row holds them once), its
    rule a copy through JSON, as a database keeps it (the caller cannot change it afterwards)."""
    status = record.status.value
    if job.status != status or job.id != record.id:
        job = replace(job, id=record.id, status=status)
    if job.rule is None:
        return job
    return replace(job, rule=json.loads(json.dumps(job.rule, sort_keys=True)))


class MemoryTx:
    """The `Tx` of the memory store. A unit's writes push undo steps; a read's Tx refuses
    writes."""

    __slots__ = ("_d", "_undo")

    def __init__(self, data: _Data, undo: list[Callable[[], object]] | None) -> None:
        self._d = data
        self._undo = undo

    def _journal(self) -> list[Callable[[], object]]:
        if self._undo is None:
            raise ReadOnly("a read cannot write")
        return self._undo

    def _world(self, console: str) -> _World:
        world = self._d.worlds.get(console)
        if world is None:
            world = self._d.worlds[console] = _World()
        return world

    def _counter(self, console: str, name: str, step: int) -> int:
        """Add `step` to a counter of the console; its new value."""
        row = self._d.consoles[console]
        before = getattr(row, name)
        self._journal().append(functools.partial(setattr, row, name, before))
        setattr(row, name, before + step)
        return int(before + step)

    # consoles and credentials ------------------------------------------------------------
    def console(self, console: str) -> ConsoleState | None:
        row = self._d.consoles.get(console)
        return None if row is None else row.state()

    def consoles(self) -> list[ConsoleState]:
        consoles = self._d.consoles
        return [consoles[id].state() for id in sorted(consoles)]

    def put_console(self, state: ConsoleState) -> None:
        undo = self._journal()
        consoles = self._d.consoles
        text = json.dumps(state.settings, sort_keys=True)
        row = consoles.get(state.id)
        if row is None:
            consoles[state.id] = _Console(state.id, state.rebalancing, text, state.revision)
            undo.append(functools.partial(consoles.pop, state.id, None))
            return
        before = (row.rebalancing, row.settings, row.revision)

        def restore() -> None:
            row.rebalancing, row.settings, row.revision = before

        undo.append(restore)
        row.rebalancing, row.settings, row.revision = state.rebalancing, text, row.revision + 1

    def delete_console(self, console: str) -> bool:
        undo = self._journal()
        d = self._d
        mine = {k: c for k, c in d.credentials.items() if c.console == console}
        for key in mine:
            del d.credentials[key]
        world = d.worlds.pop(console, None)
        row = d.consoles.pop(console, None)

        def restore() -> None:
            d.credentials.update(mine)
            if world is not None:
                d.worlds[console] = world
            if row is not None:
                d.consoles[console] = row

        undo.append(restore)
        return row is not None

    def credential(self, secret: str, basic: bool) -> Credential | None:
        found = self._d.credentials.get((secret_digest(secret), basic))
        if found is None or not same_secret(found.secret, secret):
            return None
        return found

    def credential_and_restore(
        self, secret: str, basic: bool, id: int
    ) -> tuple[Credential | None, bytes | None]:
        return credential_then_restore(self, secret, basic, id)

    def credentials(self, console: str) -> list[Credential]:
        mine = [c for c in self._d.credentials.values() if c.console == console]
        return sorted(mine, key=lambda c: c.secret)

    def put_credential(self, credential: Credential) -> bool:
        undo = self._journal()
        credentials = self._d.credentials
        key = (secret_digest(credential.secret), credential.basic)
        before = credentials.get(key)
        if before is not None and before.console != credential.console:
            return False
        credentials[key] = credential
        if before is None:
            undo.append(functools.partial(credentials.pop, key, None))
        else:
            undo.append(functools.partial(credentials.__setitem__, key, before))
        return True

    def next_id(self, console: str, kind: JobKind) -> int:
        name = "next_restore_id" if kind is JobKind.RESTORE else "next_backup_id"
        return self._counter(console, name, 1) - 1

    def reserve_id(self, console: str, kind: JobKind, id: int) -> None:
        name = "next_restore_id" if kind is JobKind.RESTORE else "next_backup_id"
        row = self._d.consoles.get(console)
        if row is not None and getattr(row, name) < id + 1:
            self._counter(console, name, id + 1 - getattr(row, name))

    def next_ordinal(self, console: str, kind: JobKind) -> int:
        name = "restore_ordinal" if kind is JobKind.RESTORE else "backup_ordinal"
        return self._counter(console, name, 1)

    # the world ---------------------------------------------------------------------------
    def hosts(self, console: str) -> list[Host]:
        world = self._d.worlds.get(console)
        return [] if world is None else [world.hosts[id] for id in sorted(world.hosts)]

    def configurations(self, console: str) -> list[BackupConfiguration]:
        world = self._d.worlds.get(console)
        if world is None:
            return []
        return [world.configurations[id] for id in sorted(world.configurations)]

    def put_host(self, console: str, host: Host) -> None:
        self._replace(self._world(console).hosts, host.id, host)

    def put_configuration(self, console: str, configuration: BackupConfiguration) -> None:
        configurations = self._world(console).configurations
        self._replace(configurations, configuration.configuration_id, configuration)

    def _replace(self, table: dict[int, Any], key: int, value: Any) -> None:
        undo = self._journal()
        if key in table:
            undo.append(functools.partial(table.__setitem__, key, table[key]))
        else:
            undo.append(functools.partial(table.pop, key, None))
        table[key] = value

    def clear_world(self, console: str) -> None:
        undo = self._journal()
        d = self._d
        world = d.worlds.pop(console, None)
        if world is not None:
            undo.append(functools.partial(d.worlds.__setitem__, console, world))
        row = d.consoles.get(console)
        if row is not None:
            before = (row.next_restore_id, row.next_backup_id, row.restore_ordinal,
                      row.backup_ordinal, row.rebalancing)  # fmt: skip

            def restore() -> None:
                (row.next_restore_id, row.next_backup_id, row.restore_ordinal,
                 row.backup_ordinal, row.rebalancing) = before  # fmt: skip

            undo.append(restore)
            row.next_restore_id = row.next_backup_id = 1
            row.restore_ordinal = row.backup_ordinal = 0
            row.rebalancing = False

    # restores and backups, alike ---------------------------------------------------------
    def _jobs_put(self, jobs: _Jobs[Any], id: int, stored: Any) -> None:
        self._journal().append(functools.partial(jobs.put, id, jobs.rows.get(id)))
        jobs.put(id, stored)

    def _restores(self, console: str) -> _Jobs[StoredRestore] | None:
        world = self._d.worlds.get(console)
        return None if world is None else world.restores

    def _backups(self, console: str) -> _Jobs[StoredBackup] | None:
        world = self._d.worlds.get(console)
        return None if world is None else world.backups

    # restores ----------------------------------------------------------------------------
    def restore(self, console: str, id: int) -> StoredRestore | None:
        jobs = self._restores(console)
        return None if jobs is None else jobs.rows.get(id)

    def visible_restore(self, console: str, id: int) -> Restore | None:
        stored = self.restore(console, id)
        return stored.record if stored is not None and stored.job.visible else None

    def restore_json(self, console: str, id: int) -> dict[str, Any] | None:
        record = self.visible_restore(console, id)
        return None if record is None else record.to_json()

    def restore_encoded(self, console: str, id: int) -> bytes | None:
        body = self.restore_json(console, id)
        return None if body is None else orjson.dumps(body)

    def restores(self, console: str) -> list[Restore]:
        jobs = self._restores(console)
        return [] if jobs is None else [s.record for s in jobs.ordered() if s.job.visible]

    def insert_restore(self, console: str, restore: Restore, job: Job) -> None:
        jobs = self._world(console).restores
        if restore.id in jobs.rows:
            raise DuplicateKey(f"restore {restore.id} of console {console!r} exists")
        self._jobs_put(jobs, restore.id, StoredRestore(restore, _kept(job, restore)))

    def update_restore(
        self, console: str, id: int, expected: str, record: Restore, job: Job
    ) -> bool:
        jobs = self._restores(console)
        stored = None if jobs is None else jobs.rows.get(id)
        if jobs is None or stored is None or stored.record.status != expected:
            return False
        if _RESTORE_FIXED(record) != _RESTORE_FIXED(stored.record):  # only what may change
            changes = {name: getattr(record, name) for name in RESTORE_UPDATABLE}
            record = replace(stored.record, **changes)
        self._jobs_put(jobs, id, StoredRestore(record, _kept(job, record)))
        return True

    def hide_restore(self, console: str, id: int) -> None:
        stored = self.restore(console, id)
        if stored is not None and stored.job.visible:
            hidden = StoredRestore(stored.record, replace(stored.job, visible=False))
            self._jobs_put(self._world(console).restores, id, hidden)

    def purge_restore(self, console: str, id: int) -> None:
        jobs = self._restores(console)
        if jobs is not None and id in jobs.rows:
            self._jobs_put(jobs, id, None)

    def unfinished_restore_record(self, console: str) -> bool:
        jobs = self._restores(console)
        if jobs is None:
            return False
        rows = jobs.rows
        return any(rows[id].job.visible for id in jobs.live)

    # backups -----------------------------------------------------------------------------
    def backup(self, console: str, id: int) -> StoredBackup | None:
        jobs = self._backups(console)
        return None if jobs is None else jobs.rows.get(id)

    def visible_backup(self, console: str, id: int) -> Backup | None:
        stored = self.backup(console, id)
        return stored.record if stored is not None and stored.job.visible else None

    def backups(self, console: str) -> list[Backup]:
        jobs = self._backups(console)
        return [] if jobs is None else [s.record for s in jobs.ordered() if s.job.visible]

    def backup_name_taken(self, console: str, name: str) -> bool:
        world = self._d.worlds.get(console)
        return world is not None and name in world.backup_names

    def insert_backup(self, console: str, backup: Backup, job: Job) -> None:
        world = self._world(console)
        if backup.id in world.backups.rows:
            raise DuplicateKey(f"backup {backup.id} of console {console!r} exists")
        if backup.name in world.backup_names:
            raise DuplicateKey(f"a backup of console {console!r} is named {backup.name!r}")
        names = world.backup_names
        self._journal().append(functools.partial(names.pop, backup.name, None))
        names[backup.name] = backup.id
        self._jobs_put(world.backups, backup.id, StoredBackup(backup, _kept(job, backup)))

    def update_backup(self, console: str, id: int, expected: str, record: Backup, job: Job) -> bool:
        jobs = self._backups(console)
        stored = None if jobs is None else jobs.rows.get(id)
        if jobs is None or stored is None or stored.record.status != expected:
            return False
        if _BACKUP_FIXED(record) != _BACKUP_FIXED(stored.record):  # only what may change
            changes = {name: getattr(record, name) for name in BACKUP_UPDATABLE}
            record = replace(stored.record, **changes)
        self._jobs_put(jobs, id, StoredBackup(record, _kept(job, record)))
        return True

    def remove_backup(self, console: str, id: int) -> None:
        world = self._d.worlds.get(console)
        stored = None if world is None else world.backups.rows.get(id)
        if world is None or stored is None:
            return
        names = world.backup_names
        self._journal().append(functools.partial(names.__setitem__, stored.record.name, id))
        names.pop(stored.record.name, None)
        self._jobs_put(world.backups, id, None)

    # the engine --------------------------------------------------------------------------
    def gate(self, console: str) -> GateView:
        row = self._d.consoles.get(console)
        world = self._d.worlds.get(console)
        if world is None:
            return GateView(row is not None and row.rebalancing, False, frozenset())
        restores, backups = world.restores.rows, world.backups.rows
        return GateView(
            rebalancing=row is not None and row.rebalancing,
            restore_running=any(
                restores[id].record.status in _RUNNING_RESTORE for id in world.restores.live
            ),
            backup_hosts=frozenset(
                backups[id].record.host_id
                for id in world.backups.live
                if backups[id].record.status in _RUNNING_BACKUP
            ),
        )

    def due_jobs(self, console: str, now_ms: int, limit: int) -> list[StoredRestore | StoredBackup]:
        world = self._d.worlds.get(console)
        if world is None:
            return []
        jobs: list[StoredRestore | StoredBackup] = []
        jobs.extend(_due(world.restores, now_ms, limit))
        jobs.extend(_due(world.backups, now_ms, limit))
        return jobs

    def running_jobs(self, console: str) -> list[StoredRestore | StoredBackup]:
        world = self._d.worlds.get(console)
        if world is None:
            return []
        restores, backups = world.restores.rows, world.backups.rows
        jobs: list[StoredRestore | StoredBackup] = [
            restores[id]
            for id in sorted(world.restores.live)
            if restores[id].record.status in _RUNNING_RESTORE
        ]
        jobs.extend(backups[id] for id in sorted(world.backups.live))
        return jobs

    def next_due(self, console: str) -> int | None:
        world = self._d.worlds.get(console)
        if world is None:
            return None
        times = [*world.restores.due.values(), *world.backups.due.values()]
        return min(times) if times else None


def _due(jobs: _Jobs[R], now_ms: int, limit: int) -> Iterable[R]:
    """The due jobs of one kind, by (due_at, id), at most `limit`."""
    due = sorted((at, id) for id, at in jobs.due.items() if at <= now_ms)
    rows = jobs.rows
    return [rows[id] for _, id in due[:limit]]


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if not future.done():  # the caller may have given up meanwhile
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


@dataclass(slots=True)
class _Stats:
    units: int = 0
    failures: int = 0


class MemoryStore:
    """The store in dicts of this process (see the module's docstring)."""

    def __init__(self) -> None:
        self.path = "memory:"
        self._data = _Data()
        self._closed = False
        self._stats = _Stats()

    @classmethod
    async def open(cls, url: str = "memory:") -> MemoryStore:
        if url not in ("memory:", "memory://"):
            raise ValueError(f"--db {url}: the memory store takes no path (write memory:)")
        return cls()

    def transact(self, work: Callable[[MemoryTx], T]) -> Awaitable[T]:
        """Run `work` now, undone alone if it raises; its result on the loop's next turn."""
        if self._closed:
            raise RuntimeError("the store is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        undo: list[Callable[[], object]] = []
        self._stats.units += 1
        try:
            value = work(MemoryTx(self._data, undo))
        except Exception as error:
            for step in reversed(undo):
                step()
            self._stats.failures += 1
            loop.call_soon(_settle, future, False, error)
        except BaseException:
            for step in reversed(undo):
                step()
            raise
        else:
            loop.call_soon(_settle, future, True, value)
        return future

    async def read(self, work: Callable[[MemoryTx], T]) -> T:
        if self._closed:
            raise RuntimeError("the store is closed")
        return work(MemoryTx(self._data, None))

    # lists: the oracle over the console's visible records (the memory adapter is the
    # reference, and it has no query language to compile to)
    async def list_restores(self, console: str, request: ListRequest) -> Page[Restore]:
        return answer_by_oracle(await self.read(lambda tx: tx.restores(console)), request)

    async def list_backups(self, console: str, request: ListRequest) -> Page[Backup]:
        return answer_by_oracle(await self.read(lambda tx: tx.backups(console)), request)

    async def encode_restores(
        self, console: str, request: ListRequest, keys: Sequence[str]
    ) -> EncodedPage:
        return encode_page(await self.list_restores(console, request), keys)

    async def encode_backups(
        self, console: str, request: ListRequest, keys: Sequence[str]
    ) -> EncodedPage:
        return encode_page(await self.list_backups(console, request), keys)

    async def close(self, grace_s: float = 3.0) -> bool:
        self._closed = True
        return True

    def stats(self) -> dict[str, int]:
        units = self._stats.units
        return {
            "batches": units,
            "units": units,
            "failed_units": self._stats.failures,
            "thread_batches": 0,
            "largest_batch": min(units, 1),
            "queued": 0,
            "storage_faults": 0,
        }

    def health(self) -> StoreHealth:
        return StoreHealth()

    def bound_waits(self, seconds: float) -> None:
        """Nothing waits for another process: there is none."""

    def watch(self, callback: Callable[[StoreHealth], None] | None) -> None:
        """The health never changes: nothing to report."""

    def follow(self, callback: Callable[[str | None], None] | None) -> None:
        """No other process shares this store: nothing to follow."""

    def __repr__(self) -> str:
        return f"MemoryStore(consoles={len(self._data.consoles)}, units={self._stats.units})"
