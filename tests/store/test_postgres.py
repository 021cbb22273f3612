"""The PostgreSQL store: the port's semantics, the gate and the claim of due jobs between
connections, NOTIFY to other stores, schema versioning, and storage faults.

Two stores on one database stand for two processes (each has its own connections); a unit
that sleeps on the writer's thread holds its transaction open while the other store tries.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import anyio
import psycopg
import pytest

from engine.core.enums import (
    AppDeploymentLocation,
    BackupStatus,
    BackupType,
    JobKind,
    Origin,
    RestoreStatus,
)
from engine.core.gate import GateView
from engine.core.records import Backup, Restore
from engine.runtime.clock import VIRTUAL_EPOCH_MS, VirtualClock
from engine.simulator import Settings, Simulator
from engine.store import postgres_schema
from engine.store.base import (
    ConsoleState,
    Credential,
    Job,
    StorageError,
    StorageUnavailable,
    StoredBackup,
    StoredRestore,
)
from engine.store.postgres import (
    NOTICE_BYTES,
    PostgresStore,
    PostgresTx,
    notices,
    read_notice,
)
from engine.store.urls import redacted
from tests.support.postgres import Database, server_url, with_database

pytestmark = pytest.mark.usefixtures("pg_url")  # every test here runs on PostgreSQL
T0 = 1_767_225_600_000


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[PostgresStore]:
    opened = await PostgresStore.open(pg_url)
    try:
        await opened.transact(lambda tx: tx.put_console(ConsoleState("c")))
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def other(store: PostgresStore, pg_url: str) -> AsyncIterator[PostgresStore]:
    """A second store on the same database: another process's connections."""
    opened = await PostgresStore.open(pg_url)
    try:
        yield opened
    finally:
        await opened.close()


def restore(id: int, status: RestoreStatus = RestoreStatus.PENDING, **changes: Any) -> Restore:
    values: dict[str, Any] = {
        "id": id, "initiated_by": "admin", "host_id": 53, "time_initiated": None,
        "time_completed": None, "status": status, "is_cross_deployment_restore": False,
        "backup_id": 1, "backup_name": "nightly_1", "backup_version": "7.5.0",
        "backup_type": BackupType.CONFIG, "backup_filename": "backup.nightly_1.tgz",
        "groups": (),
    }  # fmt: skip
    values.update(changes)
    return Restore(**values)


def backup(id: int, status: BackupStatus, host: int = 53) -> Backup:
    return Backup(
        id=id, configuration_id=1, host_id=host, name=f"b{id}", description=None,
        type=BackupType.CONFIG, version="7.5.0", time_initiated=T0, time_completed=None,
        initiated_by="admin", status=status, size_on_disk=0, content_file_path="",
        is_valid=True, is_version_compatible=True,
        app_deployment_location=AppDeploymentLocation.CONSOLE,
    )  # fmt: skip


def job(kind: JobKind, id: int, status: str, due_at: int | None = None) -> Job:
    return Job(kind=kind, id=id, status=status, origin=Origin.API, due_at=due_at)


def insert_restore(tx: PostgresTx, record: Restore, due_at: int | None = None) -> None:
    tx.insert_restore("c", record, job(JobKind.RESTORE, record.id, record.status.value, due_at))


# the port's semantics ---------------------------------------------------------------------
async def test_next_id_returns_the_value_before_incrementing(store: PostgresStore) -> None:
    ids = [await store.transact(lambda tx: tx.next_id("c", JobKind.RESTORE)) for _ in range(3)]
    assert ids == [1, 2, 3]
    await store.transact(lambda tx: tx.reserve_id("c", JobKind.BACKUP, 41))
    assert await store.transact(lambda tx: tx.next_id("c", JobKind.BACKUP)) == 42
    await store.transact(lambda tx: tx.reserve_id("c", JobKind.BACKUP, 5))  # never backwards
    assert await store.transact(lambda tx: tx.next_id("c", JobKind.BACKUP)) == 43


async def test_update_is_a_compare_and_set_on_the_expected_status(store: PostgresStore) -> None:
    await store.transact(lambda tx: insert_restore(tx, restore(1)))
    requesting = restore(1, RestoreStatus.REQUESTING)
    moved = job(JobKind.RESTORE, 1, "REQUESTING")

    def move(expected: str) -> Any:
        return lambda tx: tx.update_restore("c", 1, expected, requesting, moved)

    assert await store.transact(move("PENDING")) is True
    assert await store.transact(move("PENDING")) is False  # another writer got there first
    stored = await store.read(lambda tx: tx.restore("c", 1))
    assert stored is not None
    assert stored.record.status is RestoreStatus.REQUESTING


async def test_restore_json_is_to_json(store: PostgresStore) -> None:
    record = restore(7, RestoreStatus.SUCCESS, time_initiated=T0, time_completed=T0 + 5,
                     is_cross_deployment_restore=True, backup_id=None,
                     groups=tuple(restore(0).groups))  # fmt: skip
    await store.transact(lambda tx: insert_restore(tx, record))
    assert await store.read(lambda tx: tx.restore_json("c", 7)) == record.to_json()
    await store.transact(lambda tx: tx.hide_restore("c", 7))
    assert await store.read(lambda tx: tx.restore_json("c", 7)) is None


async def test_due_jobs_limit_applies_per_table(store: PostgresStore) -> None:
    def seed(tx: PostgresTx) -> None:
        for i in range(1, 4):
            insert_restore(tx, restore(i, RestoreStatus.REQUESTING), due_at=T0 + i)
            tx.insert_backup("c", backup(i, BackupStatus.IN_PROGRESS, host=100 + i),
                             job(JobKind.BACKUP, i, "IN_PROGRESS", T0 + i))  # fmt: skip

    await store.transact(seed)
    due = await store.transact(lambda tx: tx.due_jobs("c", T0 + 10, 2))
    assert [(type(j).__name__, j.job.id) for j in due] == [
        ("StoredRestore", 1), ("StoredRestore", 2), ("StoredBackup", 1), ("StoredBackup", 2),
    ]  # fmt: skip
    assert await store.read(lambda tx: tx.next_due("c")) == T0 + 1


async def test_running_jobs_include_deleting_backups(store: PostgresStore) -> None:
    def seed(tx: PostgresTx) -> None:
        insert_restore(tx, restore(1, RestoreStatus.IN_PROGRESS))
        insert_restore(tx, restore(2, RestoreStatus.SUCCESS))
        for i, status in enumerate(
            (BackupStatus.IN_PROGRESS, BackupStatus.DELETING, BackupStatus.SUCCESS), start=1
        ):
            tx.insert_backup("c", backup(i, status, host=100 + i),
                             job(JobKind.BACKUP, i, status.value))  # fmt: skip

    await store.transact(seed)
    running = await store.read(lambda tx: tx.running_jobs("c"))
    assert [(type(j).__name__, j.job.id) for j in running] == [
        ("StoredRestore", 1), ("StoredBackup", 1), ("StoredBackup", 2),
    ]  # fmt: skip
    gate = await store.read(lambda tx: tx.gate("c"))
    assert gate == GateView(rebalancing=False, restore_running=True, backup_hosts=frozenset({101}))


async def test_credentials_never_move_between_consoles(store: PostgresStore) -> None:
    await store.transact(lambda tx: tx.put_console(ConsoleState("d")))
    assert await store.transact(lambda tx: tx.put_credential(Credential("s3cret", "c")))
    assert not await store.transact(lambda tx: tx.put_credential(Credential("s3cret", "d")))
    found = await store.read(lambda tx: tx.credential("s3cret", False))
    assert found is not None
    assert found.console == "c"
    assert await store.read(lambda tx: tx.credential("s3cre", False)) is None


async def test_a_failing_unit_rolls_back_alone(store: PostgresStore) -> None:
    def good(tx: PostgresTx) -> int:
        return tx.next_id("c", JobKind.RESTORE)

    def bad(tx: PostgresTx) -> None:
        tx.next_id("c", JobKind.RESTORE)
        tx.put_console(ConsoleState("half-written"))
        raise ValueError("refused")

    def sql_error(tx: PostgresTx) -> None:  # an error of the unit's own statement
        insert_restore(tx, restore(99))
        insert_restore(tx, restore(99))  # duplicate key

    results: dict[str, object] = {}

    async def run(name: str, work: Any) -> None:
        try:
            results[name] = await store.transact(work)
        except (ValueError, psycopg.Error) as error:
            results[name] = error

    async with anyio.create_task_group() as group:  # queued together: one batch
        for name, work in (("1", good), ("bad", bad), ("sql", sql_error), ("2", good)):
            group.start_soon(run, name, work)
    assert results["1"] == 1
    assert isinstance(results["bad"], ValueError)
    assert isinstance(results["sql"], psycopg.errors.UniqueViolation)
    assert results["2"] == 2
    assert [c.id for c in await store.read(lambda tx: tx.consoles())] == ["c"]
    assert await store.read(lambda tx: tx.restore("c", 99)) is None
    assert store.stats()["largest_batch"] >= 2


async def test_a_result_is_given_only_after_commit(store: PostgresStore, pg_url: str) -> None:
    """Another connection sees the write as soon as the unit's result is handed back."""
    for _ in range(20):
        id = await store.transact(lambda tx: tx.next_id("c", JobKind.BACKUP))
        with psycopg.connect(pg_url, autocommit=True) as conn:
            row = conn.execute("SELECT next_backup_id FROM consoles WHERE id = 'c'").fetchone()
        assert row == (id + 1,)


# between processes ------------------------------------------------------------------------
def _start_restore(id: int, hold_s: float, started: threading.Event) -> Any:
    """A unit that checks the gate, records a running restore and holds its transaction."""

    def unit(tx: PostgresTx) -> bool:
        if tx.gate("c").restore_running:
            return False
        insert_restore(tx, restore(id, RestoreStatus.REQUESTING))
        started.set()
        time.sleep(hold_s)
        return True

    return unit


async def test_the_gate_holds_between_two_stores(
    store: PostgresStore, other: PostgresStore
) -> None:
    for round_no in range(5):
        started = threading.Event()
        first = store.transact(_start_restore(10 * round_no + 1, 0.2, started))
        await asyncio.to_thread(started.wait, 5)
        second = other.transact(_start_restore(10 * round_no + 2, 0, threading.Event()))
        assert (await first, await second) == (True, False)

        def finish(tx: PostgresTx, id: int = 10 * round_no + 1) -> None:
            tx.update_restore("c", id, "REQUESTING", restore(id, RestoreStatus.SUCCESS),
                              job(JobKind.RESTORE, id, "SUCCESS"))  # fmt: skip

        await other.transact(finish)


async def test_due_jobs_are_claimed_once_between_two_stores(
    store: PostgresStore, other: PostgresStore
) -> None:
    def seed(tx: PostgresTx) -> None:
        for i in range(1, 11):
            insert_restore(tx, restore(i, RestoreStatus.REQUESTING), due_at=T0 + i)

    await store.transact(seed)
    claimed = threading.Event()

    def claim_and_hold(tx: PostgresTx) -> list[int]:
        ids = [j.job.id for j in tx.due_jobs("c", T0 + 100, 4)]
        claimed.set()
        time.sleep(0.2)
        return ids

    first = store.transact(claim_and_hold)
    await asyncio.to_thread(claimed.wait, 5)
    second = await other.transact(lambda tx: [j.job.id for j in tx.due_jobs("c", T0 + 100, 4)])
    assert (await first, second) == ([1, 2, 3, 4], [5, 6, 7, 8])
    # a read claims nothing: it sees every due job
    assert len(await other.read(lambda tx: tx.due_jobs("c", T0 + 100, 100))) == 10


async def test_another_store_is_notified_of_job_writes(
    store: PostgresStore, other: PostgresStore
) -> None:
    told: list[str | None] = []
    changed = asyncio.Event()

    def follow(console: str | None) -> None:
        told.append(console)
        changed.set()

    other.follow(follow)
    store.follow(lambda console: told.append(f"self:{console}"))
    await asyncio.sleep(0.2)  # the listeners are listening
    await store.transact(lambda tx: insert_restore(tx, restore(1), due_at=T0))
    await asyncio.wait_for(changed.wait(), 5)
    await asyncio.sleep(0.1)
    assert told == ["c"]  # the writer's own store is not told


async def test_a_finished_job_tells_another_stores_waiters_but_not_its_workers(
    store: PostgresStore, other: PostgresStore
) -> None:
    """A job written with no phase to end (finished, or waiting for a step) is news for
    waiters only: `follow_records` is told, `follow` (which wakes the worker) is not."""
    work: list[str | None] = []
    records: list[str] = []
    told = asyncio.Event()

    def changed(console: str) -> None:
        records.append(console)
        told.set()

    other.follow(work.append)
    other.follow_records(changed)
    await asyncio.sleep(0.2)  # the listeners are listening
    await store.transact(lambda tx: insert_restore(tx, restore(1, RestoreStatus.SUCCESS)))
    await asyncio.wait_for(told.wait(), 5)
    await asyncio.sleep(0.1)
    assert (records, work) == (["c"], [])


def test_one_commit_is_one_notice_unless_it_is_too_large() -> None:
    notes = notices("t", {"b", "a"}, {"c"})
    assert [read_notice(n) for n in notes] == [("t", ["a", "b"], ["c"])]
    many = {f"console-{i:04d}" for i in range(2000)}
    notes = notices("t", many, set())
    assert len(notes) > 1
    assert all(len(n.encode()) <= NOTICE_BYTES for n in notes)
    assert sorted(c for n in notes for c in read_notice(n)[1]) == sorted(many)


async def test_a_waiter_in_another_process_wakes_when_the_job_finishes(pg_url: str) -> None:
    """A restore finished through one simulator: the other's waiters are told by the NOTIFY
    of that commit (its `changed` event), with no poll and no unit of its own."""
    immediate = {"restore": {"mode": "immediate"}}
    async with (
        Simulator(Settings(db=pg_url, clock="real", rules=immediate)) as first,
        Simulator(Settings(db=pg_url, clock="real")) as second,
    ):
        a, b = first.console(), second.console()
        created = await a.create_restore(1, ["CUSTOM_RULES_CONFIG"])
        finished = asyncio.create_task(a.request_restore(created.id))
        with anyio.fail_after(10):  # a bound on failure only: it is told within milliseconds
            while True:
                changed = b.changed()  # set only by a notification from the first
                if (await b.get_restore(created.id)).status is RestoreStatus.SUCCESS:
                    break
                await changed.wait()
        await finished


async def test_a_deadlock_between_two_stores_is_retried(
    store: PostgresStore, other: PostgresStore
) -> None:
    """Batches that lock two consoles in opposite orders: PostgreSQL aborts one, whose units
    run again alone; every unit is acknowledged once, nothing is lost."""
    await store.transact(lambda tx: tx.put_console(ConsoleState("d")))
    locked = [threading.Event(), threading.Event()]

    def lock(console: str, mine: int, theirs: int) -> Any:
        def unit(tx: PostgresTx) -> int:
            id = tx.next_id(console, JobKind.RESTORE)  # locks the console's row
            locked[mine].set()
            locked[theirs].wait(2)
            time.sleep(0.05)
            return id

        return unit

    def take(console: str) -> Any:
        return lambda tx: tx.next_id(console, JobKind.RESTORE)

    async def batch(s: PostgresStore, first: str, second: str, mine: int) -> list[int]:
        return list(await asyncio.gather(
            s.transact(lock(first, mine, 1 - mine)), s.transact(take(second))
        ))  # fmt: skip

    results = await asyncio.gather(batch(store, "c", "d", 0), batch(other, "d", "c", 1))
    ids = sorted(i for pair in results for i in pair)
    assert ids == [1, 1, 2, 2]
    assert store.stats()["retried_batches"] + other.stats()["retried_batches"] == 1


# schema and faults ------------------------------------------------------------------------
async def test_schema_is_versioned_and_kept(pg_url: str) -> None:
    first = await PostgresStore.open(pg_url)
    await first.transact(lambda tx: tx.put_console(ConsoleState("kept", settings={"seed": 4})))
    await first.close()
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [
            (postgres_schema.VERSION,)
        ]
    second = await PostgresStore.open(pg_url)
    try:
        state = await second.read(lambda tx: tx.console("kept"))
        assert state is not None
        assert state.settings == {"seed": 4}
    finally:
        await second.close()


async def test_two_stores_open_a_new_schema_together(pg_database: Database) -> None:
    name, url = pg_database.schema()
    try:
        stores = await asyncio.gather(*(PostgresStore.open(url) for _ in range(4)))
        for s in stores:
            await s.close()
    finally:
        pg_database.drop_schema(name)


async def test_a_newer_schema_is_refused(pg_url: str) -> None:
    await (await PostgresStore.open(pg_url)).close()  # the schema, at this version
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version = 999")
        try:
            with pytest.raises(StorageError, match=r"schema version 999.*newer simulator"):
                await PostgresStore.open(pg_url)
        finally:
            conn.execute("UPDATE schema_version SET version = %s", (postgres_schema.VERSION,))


async def test_a_missing_database_says_what_to_do() -> None:
    url = with_database(server_url(), "bre_no_such_database")
    with pytest.raises(StorageUnavailable, match="createdb"):
        await PostgresStore.open(url)


async def test_no_server_says_what_to_do_and_hides_the_password() -> None:
    with pytest.raises(StorageUnavailable, match="server running") as raised:
        await PostgresStore.open("postgresql://bre:hunter2@127.0.0.1:1/bre")
    assert "hunter2" not in str(raised.value)
    assert redacted("postgresql://bre:hunter2@h:5/db") == "postgresql://bre:***@h:5/db"


async def test_a_lost_connection_fails_the_write_then_the_store_recovers(
    store: PostgresStore, pg_url: str
) -> None:
    await store.transact(lambda tx: tx.next_id("c", JobKind.RESTORE))
    pid = await store.transact(lambda tx: tx._one("SELECT pg_backend_pid()"))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid[0],) if pid else ())
    with pytest.raises(StorageUnavailable):
        await store.transact(lambda tx: tx.next_id("c", JobKind.RESTORE))
    assert store.health().failing_since is not None
    for _ in range(100):  # the probe reconnects and writes
        if store.health().ok:
            break
        await asyncio.sleep(0.05)
    assert store.health().ok
    assert await store.transact(lambda tx: tx.next_id("c", JobKind.RESTORE)) == 2


async def test_the_stored_records_round_trip(store: PostgresStore) -> None:
    record = backup(5, BackupStatus.SUCCESS)
    moved = replace(job(JobKind.BACKUP, 5, "SUCCESS"), rule={"mode": "manual"}, ordinal=3)
    await store.transact(lambda tx: tx.insert_backup("c", record, moved))
    assert await store.read(lambda tx: tx.backup("c", 5)) == StoredBackup(record, moved)
    assert await store.read(lambda tx: tx.backups("c")) == [record]
    r = restore(6)
    await store.transact(lambda tx: insert_restore(tx, r))
    stored = await store.read(lambda tx: tx.restore("c", 6))
    assert stored == StoredRestore(r, job(JobKind.RESTORE, 6, "PENDING"))


async def test_simulators_started_together_on_a_new_database_make_one_default_console(
    pg_url: str,
) -> None:
    """Four processes' simulators starting at once on an empty database (one compose file):
    all start, one default console with its world between them."""
    sims = [Simulator(Settings(db=pg_url, clock="real")) for _ in range(4)]
    try:
        await asyncio.gather(*(s.start() for s in sims))
        backups = [b.id for b in await sims[3].console().list_backups()]
        assert backups == [1, 2, 3]
        assert await sims[0].list_consoles() == ["default"]
    finally:
        for s in sims:
            await s.stop()


class _Of:
    """A unit that names its console, as the engine's units do."""

    def __init__(self, console: str) -> None:
        self.console = console

    def __call__(self, tx: PostgresTx) -> int:
        return tx.next_id(self.console, JobKind.RESTORE)


@pytest.mark.parametrize("writers", [1, 2])
async def test_units_of_one_console_keep_their_order_across_writers(
    store: PostgresStore, pg_url: str, writers: int
) -> None:
    """Consoles are written in parallel on several connections; the units of one console
    always on the same one, in the order they came (one writer or two, as `writers_for`
    may choose)."""
    consoles = [f"k{i}" for i in range(8)]
    for console in consoles:
        await store.transact(lambda tx, console=console: tx.put_console(ConsoleState(console)))
    sized = await PostgresStore.open(pg_url, writers=writers)
    try:
        assert sized.stats()["writers"] == writers
        futures = [(c, sized.transact(_Of(c))) for _ in range(25) for c in consoles]
        ids: dict[str, list[int]] = {c: [] for c in consoles}
        for console, future in futures:
            ids[console].append(await future)
    finally:
        await sized.close()
    assert all(got == list(range(1, 26)) for got in ids.values())


async def _until(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.02)


async def test_processes_on_one_database_share_a_virtual_clock(pg_url: str) -> None:
    """The clock moved through one simulator moves in the others, a job created through one
    is advanced by that move, and a simulator started later starts at the shared time."""
    rules = {"restore": {"requesting": "1s", "initializing": "2s", "in_progress": "5s"}}
    async with (
        Simulator(Settings(db=pg_url, clock="virtual", rules=rules)) as first,
        Simulator(Settings(db=pg_url, clock="virtual")) as second,
    ):
        a, b = first.console(), second.console()
        created = await b.create_restore(1, ["CUSTOM_RULES_CONFIG"])
        await b.request_restore(created.id)
        assert isinstance(a.clock, VirtualClock)
        await a.clock.advance(10)
        await _until(lambda: b.clock.now_ms() == a.clock.now_ms())
        done = await b.get_restore(created.id)
        assert done.status is RestoreStatus.SUCCESS
        assert done.time_completed == VIRTUAL_EPOCH_MS + 8_000
        async with Simulator(Settings(db=pg_url, clock="virtual")) as third:
            assert third.console().clock.now_ms() == VIRTUAL_EPOCH_MS + 10_000
