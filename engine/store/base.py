"""The store port: what the engine needs of persistence, in the domain's words.

The engine never sees SQL. It hands the store *units of work*: synchronous functions of a `Tx`
that read and write through domain methods. The store runs each unit atomically (all or
nothing), in order, and may group many units into one commit; a unit's result is returned only
after its commit, so nothing acknowledged is lost. Gate checks run inside the unit that records
the start, which is what makes them hold across processes sharing one database.

A server database would add an adapter with the same `Store` and `Tx`, nothing else.

Faults of the storage itself are not the caller's: an adapter raises them as one of

    StorageError (RuntimeError)         names the database and says what to do
    ├── StorageUnavailable              disk full, I/O error, cannot open, read-only, locked
    │                                   past the timeout: may pass by itself (the store probes)
    └── StorageCorrupt                  damaged or not a database: does not pass by itself

and keeps a `StoreHealth` that readiness reports.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import orjson

from engine.core.enums import JobKind, Origin
from engine.core.gate import GateView
from engine.core.progression import Outcome
from engine.core.query import ListRequest
from engine.core.records import Backup, BackupConfiguration, Host, Restore

T = TypeVar("T")
R = TypeVar("R", Restore, Backup)


@dataclass(frozen=True, slots=True)
class Job:
    """The engine's side of a record: what the worker needs, not shown by the API."""

    kind: JobKind
    id: int
    status: str
    visible: bool = True
    origin: Origin = Origin.API
    due_at: int | None = None
    outcome: Outcome | None = None
    rule: dict[str, Any] | None = None  # a per-job progression rule, as written
    ordinal: int | None = None  # the n-th job of its kind on the console (for outcome plans)
    phase_since: int | None = None


@dataclass(frozen=True, slots=True)
class StoredRestore:
    record: Restore
    job: Job


@dataclass(frozen=True, slots=True)
class StoredBackup:
    record: Backup
    job: Job


@dataclass(frozen=True, slots=True)
class ConsoleState:
    """A console's settings as stored; `settings` is the JSON the control surface writes."""

    id: str
    rebalancing: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    revision: int = 0
    #: the settings as stored (JSON text): equal texts mean equal settings, so parsed rules
    #: can be cached by it
    fingerprint: str = ""


@dataclass(frozen=True, slots=True)
class Credential:
    secret: str  # a SEC token, or "user:password" for Basic
    console: str
    admin: bool = True
    name: str = "admin"
    basic: bool = False


def secret_digest(secret: str) -> str:
    """What credentials are looked up by: SHA-256 of the secret. A lookup's timing may depend
    on the digest, which tells an attacker nothing about the secret; the secret found is then
    compared in constant time (`same_secret`)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def same_secret(known: str, presented: str) -> bool:
    """Constant-time comparison of two secrets (any characters)."""
    return hmac.compare_digest(
        known.encode("utf-8", "surrogatepass"), presented.encode("utf-8", "surrogatepass")
    )


@dataclass(frozen=True, slots=True)
class Page(Generic[R]):
    """One page of a list request: the records in the window, and how many records match the
    filter (the total of `Content-Range`)."""

    records: list[R]
    total: int


@dataclass(frozen=True, slots=True)
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
    def put_console(self, state: ConsoleState) -> None: ...
    def delete_console(self, console: str) -> bool: ...
    def credential(self, secret: str, basic: bool) -> Credential | None: ...
    def credentials(self, console: str) -> list[Credential]: ...
    def put_credential(self, credential: Credential) -> bool:
        """Store a credential of its console (a secret it already has is updated); False, and
        nothing written, when the secret belongs to another console: never moved."""
        ...

    def next_id(self, console: str, kind: JobKind) -> int: ...
    def reserve_id(self, console: str, kind: JobKind, id: int) -> None: ...
    def next_ordinal(self, console: str, kind: JobKind) -> int: ...

    # the world
    def hosts(self, console: str) -> list[Host]: ...
    def configurations(self, console: str) -> list[BackupConfiguration]: ...
    def put_host(self, console: str, host: Host) -> None: ...
    def put_configuration(self, console: str, configuration: BackupConfiguration) -> None: ...
    def clear_world(self, console: str) -> None: ...

    # restores
    def restore(self, console: str, id: int) -> StoredRestore | None: ...
    def visible_restore(self, console: str, id: int) -> Restore | None: ...
    def restore_json(self, console: str, id: int) -> dict[str, Any] | None:
        """A visible restore as the API shows it (`Restore.to_json()`), built from the stored
        row without the domain object: the read model of polling clients, the hottest path."""
        ...

    def restores(self, console: str) -> list[Restore]: ...
    def insert_restore(self, console: str, restore: Restore, job: Job) -> None: ...
    def update_restore(
        self, console: str, id: int, expected: str, record: Restore, job: Job
    ) -> bool: ...
    def hide_restore(self, console: str, id: int) -> None: ...
    def purge_restore(self, console: str, id: int) -> None: ...
    def unfinished_restore_record(self, console: str) -> bool: ...

    # backups
    def backup(self, console: str, id: int) -> StoredBackup | None: ...
    def visible_backup(self, console: str, id: int) -> Backup | None: ...
    def backups(self, console: str) -> list[Backup]: ...
    def backup_name_taken(self, console: str, name: str) -> bool: ...
    def insert_backup(self, console: str, backup: Backup, job: Job) -> None: ...
    def update_backup(
        self, console: str, id: int, expected: str, record: Backup, job: Job
    ) -> bool: ...
    def remove_backup(self, console: str, id: int) -> None: ...

    # the engine
    def gate(self, console: str) -> GateView: ...
    def due_jobs(
        self, console: str, now_ms: int, limit: int
    ) -> list[StoredRestore | StoredBackup]: ...
    def running_jobs(self, console: str) -> list[StoredRestore | StoredBackup]: ...
    def next_due(self, console: str) -> int | None: ...


class StorageError(RuntimeError):
    """The storage cannot do what was asked, through no fault of the caller or of the unit."""

    def __init__(self, path: str, cause: str, advice: str = "") -> None:
        self.path, self.cause, self.advice = path, cause, advice
        super().__init__(f"database {path}: {cause}" + (f"; {advice}" if advice else ""))


class StorageUnavailable(StorageError):
    """A fault that may pass (disk full, I/O error, read-only, locked past the timeout)."""


class StorageCorrupt(StorageError):
    """The file is damaged or is not a database: it will not pass by itself."""


@dataclass(frozen=True, slots=True)
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


class StaleState(RuntimeError):
    """A compare-and-set found the record in another state: another writer got there first."""
