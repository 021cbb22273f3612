"""The store port: what the engine needs of persistence, in the domain's words.

The engine never sees SQL. It hands the store *units of work*: synchronous functions of a `Tx`
that read and write through domain methods. The store runs each unit atomically (all or
nothing), in order, and may group many units into one commit; a unit's result is returned only
after its commit, so nothing acknowledged is lost. Gate checks run inside the unit that records
the start, which is what makes them hold across processes sharing one database.

An adapter is a `Store` and its `Tx`, opened by URL (`engine.store.factory`); every adapter
passes one contract suite (`tests/store/test_contract.py`), whose reference is the memory
adapter. The semantics below are that contract's.

Faults of the storage itself are not the caller's: an adapter raises them as one of

    StorageError (RuntimeError)         names the database and says what to do
    ├── StorageUnavailable              disk full, I/O error, cannot open, read-only, locked
    │                                   past the timeout: may pass by itself (the store probes)
    └── StorageCorrupt                  damaged or not a database: does not pass by itself

and keeps a `StoreHealth` that readiness reports.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import field
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

import orjson

from engine.core.credentials import Credential as Credential  # the port's vocabulary too
from engine.core.credentials import same_secret as same_secret
from engine.core.enums import JobKind
from engine.core.frozen import record
from engine.core.gate import GateView
from engine.core.jobs import Job as Job
from engine.core.lifecycle import BACKUP, RESTORE
from engine.core.query import ListRequest
from engine.core.records import Backup, BackupConfiguration, Host, Restore

T = TypeVar("T")
R = TypeVar("R", Restore, Backup)

#: The statuses of jobs that hold the gate (`Tx.gate`).
RUNNING_RESTORE_JOBS: tuple[str, ...] = tuple(str(s) for s in RESTORE.running)
RUNNING_BACKUPS: tuple[str, ...] = tuple(str(s) for s in BACKUP.running)
#: The statuses `Tx.running_jobs` returns: jobs in flight, the timed states (backups being
#: deleted too: a phase the worker ends, though it holds no gate).
RUNNING_BACKUP_JOBS: tuple[str, ...] = tuple(str(s) for s in BACKUP.timed)
#: The statuses of a restore record that is not finished (`Tx.unfinished_restore_record`).
UNFINISHED_RESTORES: tuple[str, ...] = RESTORE.unfinished


@functools.lru_cache(maxsize=1024)
def settings_of(text: str) -> dict[str, Any]:
    """Console settings from their stored JSON text, parsed once per distinct text (read on
    every unit). Callers treat the result as read-only: a change writes a new text."""
    parsed: dict[str, Any] = json.loads(text)
    return parsed


@record
class StoredRestore:
    record: Restore
    job: Job


@record
class StoredBackup:
    record: Backup
    job: Job


@record
class ConsoleState:
    """A console's settings as stored; `settings` is the JSON the control surface writes."""

    id: str
    rebalancing: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    revision: int = 0
    #: the settings as stored (JSON text): equal texts mean equal settings, so parsed rules
    #: can be cached by it
    fingerprint: str = ""


def secret_digest(secret: str) -> str:
    """What credentials are looked up by: SHA-256 of the secret. A lookup's timing may depend
    on the digest, which tells an attacker nothing about the secret; the secret found is then
    compared in constant time (`same_secret`)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@record
class Page(Generic[R]):
    """One page of a list request: the records in the window, and how many records match the
    filter (the total of `Content-Range`)."""

    records: list[R]
    total: int


@record
class EncodedPage:
    """A list page as the API sends it (a JSON array, in parts sent one after the other) and
    the total that matches."""

    parts: tuple[bytes, ...]
    total: int

    @property
    def body(self) -> bytes:
        return b"".join(self.parts)


def encode_page(page: Page[R], keys: Sequence[str]) -> EncodedPage:
    """A page encoded in Python: each record's `keys`, in that order, as the API shows them."""
    bodies = [record_json(r) for r in page.records]
    return EncodedPage((orjson.dumps([{k: b[k] for k in keys} for b in bodies]),), page.total)


def record_json(record: Restore | Backup) -> dict[str, Any]:
    """A record with every key a list may filter or sort on (whatever the API version)."""
    if isinstance(record, Restore):
        return record.to_json()
    return record.to_json(None, listing=True, sample_keys=True)


def answer_by_oracle(records: Sequence[R], request: ListRequest) -> Page[R]:
    """A list request answered in Python over all visible `records` (in id order): the
    reference every store's own query must agree with, and its fallback."""
    bodies: list[Mapping[str, Any]] = [record_json(r) for r in records]
    by_body = {id(b): r for b, r in zip(bodies, records, strict=True)}
    page, total = request.answer(bodies)
    return Page([by_body[id(b)] for b in page], total)


class Tx(Protocol):
    """One atomic unit of work's view of the store (synchronous: it runs on the store's thread)."""

    # consoles and credentials
    def console(self, console: str) -> ConsoleState | None: ...
    def consoles(self) -> list[ConsoleState]: ...
    def put_console(self, state: ConsoleState) -> None:
        """Create the console with `state.revision`, or change its settings and rebalancing
        flag and add 1 to its revision (its counters are kept)."""
        ...

    def delete_console(self, console: str) -> bool:
        """Delete the console and all it owns (credentials, world, records); False: none."""
        ...

    def credential(self, secret: str, basic: bool) -> Credential | None: ...
    def credential_and_restore(
        self, secret: str, basic: bool, id: int
    ) -> tuple[Credential | None, bytes | None]:
        """`credential(secret, basic)` and, in the same read, `restore_encoded` of restore `id`
        of its console (None without a credential): the two reads of a `GET /restores/{id}`
        in one (on SQLite one statement, one read lock of the database instead of two)."""
        ...

    def credentials(self, console: str) -> list[Credential]: ...
    def put_credential(self, credential: Credential) -> bool:
        """Store a credential of its console (a secret it already has is updated); False, and
        nothing written, when the secret belongs to another console: never moved."""
        ...

    def next_id(self, console: str, kind: JobKind) -> int:
        """The console's next id of that kind, then counted past it (1, 2, ...)."""
        ...

    def reserve_id(self, console: str, kind: JobKind, id: int) -> None:
        """Keep the id counter past `id` (a record seeded with its own id); never lowered."""
        ...

    def next_ordinal(self, console: str, kind: JobKind) -> int:
        """Count one more job of that kind on the console; the new count (1, 2, ...)."""
        ...

    # the world
    def hosts(self, console: str) -> list[Host]: ...
    def configurations(self, console: str) -> list[BackupConfiguration]: ...
    def put_host(self, console: str, host: Host) -> None: ...
    def put_configuration(self, console: str, configuration: BackupConfiguration) -> None: ...
    def clear_world(self, console: str) -> None:
        """Delete the console's hosts, configurations and records; counters back to their
        start, rebalancing off (settings and credentials are kept)."""
        ...

    # restores
    def restore(self, console: str, id: int) -> StoredRestore | None: ...
    def visible_restore(self, console: str, id: int) -> Restore | None: ...
    def restore_json(self, console: str, id: int) -> dict[str, Any] | None:
        """A visible restore as the API shows it (`Restore.to_json()`), built from the stored
        row without the domain object: the read model of polling clients, the hottest path."""
        ...

    def restore_encoded(self, console: str, id: int) -> bytes | None:
        """A visible restore as the API sends it: exactly `orjson.dumps(restore_json(...))`,
        which a store may build itself (SQLite does: no Python object per field)."""
        ...

    def restores(self, console: str) -> list[Restore]:
        """The visible restores, by id."""
        ...

    def insert_restore(self, console: str, restore: Restore, job: Job) -> None: ...
    def update_restore(
        self, console: str, id: int, expected: str, record: Restore, job: Job
    ) -> bool:
        """Compare-and-set: write the record's updatable fields and the job only while the
        stored status is `expected`; False, nothing written, otherwise (or no such record)."""
        ...

    def hide_restore(self, console: str, id: int) -> None:
        """Gone from the API (`visible_*`, lists, `unfinished_restore_record`), not from the
        engine (`restore`, `gate`, `running_jobs`, `due_jobs`)."""
        ...

    def purge_restore(self, console: str, id: int) -> None: ...
    def unfinished_restore_record(self, console: str) -> bool:
        """Whether a visible restore is in a state that is not final."""
        ...

    # backups
    def backup(self, console: str, id: int) -> StoredBackup | None: ...
    def visible_backup(self, console: str, id: int) -> Backup | None: ...
    def backups(self, console: str) -> list[Backup]: ...
    def backup_name_taken(self, console: str, name: str) -> bool: ...
    def insert_backup(self, console: str, backup: Backup, job: Job) -> None: ...
    def update_backup(self, console: str, id: int, expected: str, record: Backup, job: Job) -> bool:
        """Compare-and-set, as `update_restore`."""
        ...

    def remove_backup(self, console: str, id: int) -> None: ...

    # the engine
    def gate(self, console: str) -> GateView:
        """Rebalancing, whether a restore runs (`RUNNING_RESTORE_JOBS`, hidden ones too), the
        hosts of running backups (`RUNNING_BACKUPS`): read inside the unit that starts a job,
        so that of two racing starts on any connections one sees the other."""
        ...

    def due_jobs(self, console: str, now_ms: int, limit: int) -> list[StoredRestore | StoredBackup]:
        """Jobs with `due_at <= now_ms`: at most `limit` restores, then at most `limit`
        backups, each by (due_at, id)."""
        ...

    def running_jobs(self, console: str) -> list[StoredRestore | StoredBackup]:
        """Restores in `RUNNING_RESTORE_JOBS`, then backups in `RUNNING_BACKUP_JOBS` (with
        DELETING), each by id, hidden ones too."""
        ...

    def next_due(self, console: str) -> int | None:
        """The earliest `due_at` of the console's jobs (None: none is timed)."""
        ...


class StorageError(RuntimeError):
    """The storage cannot do what was asked, through no fault of the caller or of the unit."""

    def __init__(self, path: str, cause: str, advice: str = "") -> None:
        self.path, self.cause, self.advice = path, cause, advice
        super().__init__(f"database {path}: {cause}" + (f"; {advice}" if advice else ""))


class StorageUnavailable(StorageError):
    """A fault that may pass (disk full, I/O error, read-only, locked past the timeout)."""


class StorageCorrupt(StorageError):
    """The file is damaged or is not a database: it will not pass by itself."""


@record
class StoreHealth:
    """Whether writes succeed: `failing_since` (wall-clock seconds) is set from the first failed
    write until the next one that succeeds; `corrupt` stays set until the store is reopened."""

    failing_since: float | None = None
    cause: str | None = None
    corrupt: bool = False

    @property
    def ok(self) -> bool:
        return self.failing_since is None and not self.corrupt


class Store(Protocol):
    """Runs units of work atomically; commits may be grouped; results only after commit."""

    def transact(self, work: Callable[[Tx], T]) -> Awaitable[T]: ...

    async def read(self, work: Callable[[Tx], T]) -> T: ...

    async def close(self, grace_s: float = ...) -> bool:
        """Finish queued units (for `grace_s` at most) and close; False when a unit that did
        not return had to be left behind."""
        ...

    async def list_restores(self, console: str, request: ListRequest) -> Page[Restore]:
        """A console's visible restores, filtered, sorted and windowed as `request` asks, as
        `answer_by_oracle` would answer it (422/12 for a filter too costly on the console);
        large answers are built without holding the event loop."""
        ...

    async def list_backups(self, console: str, request: ListRequest) -> Page[Backup]:
        """As `list_restores`, for backups."""
        ...

    async def encode_restores(
        self, console: str, request: ListRequest, keys: Sequence[str]
    ) -> EncodedPage:
        """As `list_restores`, the page encoded as the API sends it with the fields `keys` (in
        that order): the path of large lists, which need no Python object per record."""
        ...

    async def encode_backups(
        self, console: str, request: ListRequest, keys: Sequence[str]
    ) -> EncodedPage:
        """As `encode_restores`, for backups."""
        ...

    def stats(self) -> dict[str, int]: ...

    def health(self) -> StoreHealth: ...

    def bound_waits(self, seconds: float) -> None:
        """From now on, no write waits for another process's lock more than `seconds`."""
        ...

    def watch(self, callback: Callable[[StoreHealth], None] | None) -> None:
        """Call `callback` whenever the health changes (None: stop)."""
        ...

    def follow(self, callback: Callable[[str | None], None] | None) -> None:
        """Call `callback(console)` on the event loop when another process wrote jobs or
        settings of that console (None: of any); None stops. An adapter that cannot tell
        never calls it: the workers' scans see other processes' writes."""
        ...


@runtime_checkable
class ClockStore(Protocol):
    """A store that keeps each console's virtual clock for every process sharing it
    (PostgreSQL): a move published through one process is told to the others (`follow`)."""

    async def clock_of(self, console: str) -> int | None:
        """The console's clock as stored (None: never moved, the virtual epoch)."""
        ...

    async def publish_clock(self, console: str, now_ms: int) -> None: ...


@runtime_checkable
class RecordsStore(Protocol):
    """A store shared with other processes that also tells when one of them changed a
    console's records and left no work for the others (a job that finished, or waits for a
    step): waiters look again at once, and no worker is woken for nothing (PostgreSQL)."""

    def follow_records(self, callback: Callable[[str], None] | None) -> None:
        """Call `callback(console)` on the event loop for each such change; None stops."""
        ...


class StaleState(RuntimeError):
    """A compare-and-set found the record in another state: another writer got there first."""


def credential_then_restore(
    tx: Tx, secret: str, basic: bool, id: int
) -> tuple[Credential | None, bytes | None]:
    """`Tx.credential_and_restore` as two reads of `tx`, for the adapters whose two reads cost
    no more than one (memory; PostgreSQL, on one connection in autocommit)."""
    credential = tx.credential(secret, basic)
    if credential is None:
        return None, None
    return credential, tx.restore_encoded(credential.console, id)
