"""The store contract: what the engine relies on from every adapter (`engine.store.base`).

Every test runs on every adapter of `conftest.DATABASES`; the memory adapter is the reference.
"""

from __future__ import annotations

import asyncio
import functools
import json
from dataclasses import replace
from typing import Any

import anyio
import orjson
import pytest

from engine.core.enums import (
    AppDeploymentLocation,
    BackupStatus,
    BackupType,
    JobKind,
    Origin,
    RestoreGroup,
    RestoreStatus,
)
from engine.core.progression import Outcome
from engine.core.records import (
    Backup,
    BackupConfiguration,
    DataBackupHost,
    Host,
    Restore,
)
from engine.store.base import ConsoleState, Credential, Job, Store, Tx

C = "contract"
NOW = 1_767_225_600_000


def restore(id: int, status: RestoreStatus = RestoreStatus.PENDING, **changes: Any) -> Restore:
    values: dict[str, Any] = {
        "id": id,
        "initiated_by": "API_user: admin",
        "host_id": 53,
        "time_initiated": None,
        "time_completed": None,
        "status": status,
        "is_cross_deployment_restore": False,
        "backup_id": 1,
        "backup_name": "nightly_1",
        "backup_version": "7.5.0",
        "backup_type": BackupType.CONFIG,
        "backup_filename": "backup.nightly_1.tgz",
        "groups": (RestoreGroup.CUSTOM_RULES_CONFIG, RestoreGroup.USERS_CONFIG),
    }
    values.update(changes)
    return Restore(**values)


def backup(id: int, status: BackupStatus = BackupStatus.SUCCESS, **changes: Any) -> Backup:
    values: dict[str, Any] = {
        "id": id,
        "configuration_id": 1,
        "host_id": 53,
        "name": f"b{id}",
        "description": None,
        "type": BackupType.CONFIG,
        "version": "7.5.0",
        "time_initiated": NOW,
        "time_completed": None,
        "initiated_by": "admin",
        "status": status,
        "size_on_disk": 0,
        "content_file_path": f"/store/backup/b{id}.tgz",
        "is_valid": True,
        "is_version_compatible": True,
        "app_deployment_location": AppDeploymentLocation.CONSOLE,
        "build_version": "7.5.0.1",
    }
    values.update(changes)
    return Backup(**values)


def job(kind: JobKind, id: int, status: str, **changes: Any) -> Job:
    return Job(kind, id, status, **changes)


async def with_console(store: Store, console: str = C) -> None:
    await store.transact(lambda tx: tx.put_console(ConsoleState(console)))


async def put_restore(store: Store, r: Restore, **job_changes: Any) -> None:
    j = job(JobKind.RESTORE, r.id, r.status, **job_changes)
    await store.transact(lambda tx: tx.insert_restore(C, r, j))


async def put_backup(store: Store, b: Backup, **job_changes: Any) -> None:
    j = job(JobKind.BACKUP, b.id, b.status, **job_changes)
    await store.transact(lambda tx: tx.insert_backup(C, b, j))


def _json_of(tx: Tx, id: int) -> dict[str, Any] | None:
    return tx.restore_json(C, id)


def _encoded_of(tx: Tx, id: int) -> bytes | None:
    return tx.restore_encoded(C, id)


def _insert(tx: Tx, record: Restore, job: Job) -> None:
    tx.insert_restore(C, record, job)


# ids ----------------------------------------------------------------------------------------
async def test_next_id_returns_the_value_before_incrementing_per_console_and_kind(
    store: Store,
) -> None:
    await with_console(store)
    await with_console(store, "other")

    def ids(tx: Tx) -> list[int]:
        return [
            tx.next_id(C, JobKind.RESTORE),
            tx.next_id(C, JobKind.RESTORE),
            tx.next_id(C, JobKind.BACKUP),
            tx.next_id("other", JobKind.RESTORE),
        ]

    assert await store.transact(ids) == [1, 2, 1, 1]
    await store.transact(lambda tx: tx.reserve_id(C, JobKind.RESTORE, 10))
    await store.transact(lambda tx: tx.reserve_id(C, JobKind.RESTORE, 4))  # never lowered
    assert await store.transact(lambda tx: tx.next_id(C, JobKind.RESTORE)) == 11


async def test_next_ordinal_counts_from_one_and_clear_world_resets_every_counter(
    store: Store,
) -> None:
    await with_console(store)
    ordinals = await store.transact(
        lambda tx: [tx.next_ordinal(C, JobKind.BACKUP) for _ in range(3)]
    )
    assert ordinals == [1, 2, 3]
    await store.transact(lambda tx: tx.next_id(C, JobKind.RESTORE))
    await put_restore(store, restore(1))
    await store.transact(lambda tx: tx.clear_world(C))
    assert await store.read(lambda tx: tx.restores(C)) == []

    def after(tx: Tx) -> tuple[int, int]:
        return tx.next_id(C, JobKind.RESTORE), tx.next_ordinal(C, JobKind.BACKUP)

    assert await store.transact(after) == (1, 1)


# units of work -------------------------------------------------------------------------------
async def test_units_run_in_the_order_they_were_handed_over(store: Store) -> None:
    await with_console(store)
    futures = [store.transact(lambda tx: tx.next_id(C, JobKind.RESTORE)) for _ in range(50)]
    assert await asyncio.gather(*futures) == list(range(1, 51))


async def test_a_failing_unit_rolls_back_alone(store: Store) -> None:
    await with_console(store)

    def good(tx: Tx) -> int:
        return tx.next_id(C, JobKind.RESTORE)

    def bad(tx: Tx) -> None:
        tx.next_id(C, JobKind.RESTORE)
        tx.put_console(ConsoleState("half-written"))
        tx.insert_restore(C, restore(7), job(JobKind.RESTORE, 7, "PENDING"))
        tx.put_credential(Credential("half", C))
        raise ValueError("refused")

    results: dict[str, object] = {}

    async def run(name: str, work: Any) -> None:
        try:
            results[name] = await store.transact(work)
        except ValueError as error:
            results[name] = error

    async with anyio.create_task_group() as group:  # one batch, where commits are grouped
        group.start_soon(run, "first", good)
        group.start_soon(run, "bad", bad)
        group.start_soon(run, "second", good)
    assert results["first"] == 1
    assert isinstance(results["bad"], ValueError)
    assert results["second"] == 2  # the failed unit's id was rolled back with it

    def seen(tx: Tx) -> tuple[Any, ...]:
        return ([c.id for c in tx.consoles()], tx.restore(C, 7), tx.credential("half", False))

    assert await store.read(seen) == ([C], None, None)
    assert store.stats()["failed_units"] == 1


async def test_a_unit_that_breaks_a_key_fails_alone(store: Store) -> None:
    await with_console(store)
    await put_backup(store, backup(1))
    with pytest.raises(Exception):  # noqa: B017, PT011 - each adapter's own key error
        await put_backup(store, backup(2, name="b1"))  # the name is taken
    await put_restore(store, restore(3))
    with pytest.raises(Exception):  # noqa: B017, PT011
        await put_restore(store, restore(3))  # the id is taken
    assert [b.id for b in await store.read(lambda tx: tx.backups(C))] == [1]
    assert [r.id for r in await store.read(lambda tx: tx.restores(C))] == [3]


async def test_a_result_is_handed_back_after_its_commit_and_every_reader_sees_it(
    store: Store, other: Store
) -> None:
    await with_console(store)
    pending = store.transact(
        lambda tx: tx.insert_restore(C, restore(1), job(JobKind.RESTORE, 1, "PENDING"))
    )
    assert isinstance(pending, asyncio.Future)
    assert not pending.done()  # awaiting a unit always lets other tasks run
    await pending
    # acknowledged: committed, so another connection to the database sees it at once
    assert await other.read(lambda tx: tx.visible_restore(C, 1)) == restore(1)
    assert await store.read(lambda tx: tx.visible_restore(C, 1)) == restore(1)


async def test_each_of_many_grouped_units_is_visible_to_another_connection_when_it_returns(
    store: Store, other: Store
) -> None:
    """Units handed over together may share one commit: none returns before that commit."""
    await with_console(store)
    unseen: list[int] = []

    async def create(id: int) -> None:
        await store.transact(
            lambda tx: tx.insert_restore(C, restore(id), job(JobKind.RESTORE, id, "PENDING"))
        )
        if await other.read(lambda tx: tx.restore(C, id)) is None:
            unseen.append(id)

    await asyncio.gather(*(create(id) for id in range(1, 65)))
    assert unseen == []
    assert len(await other.read(lambda tx: tx.restores(C))) == 64


async def test_a_read_cannot_write(store: Store) -> None:
    with pytest.raises(Exception):  # noqa: B017, PT011 - each adapter's own refusal
        await store.read(lambda tx: tx.put_console(ConsoleState("sneaked")))
    assert await store.read(lambda tx: tx.consoles()) == []


async def test_a_closed_store_refuses_work(database: str) -> None:
    from engine.store.factory import open_store

    store = await open_store(database)
    assert await store.close()
    with pytest.raises(RuntimeError, match="closed"):
        await store.read(lambda tx: tx.consoles())
    with pytest.raises(RuntimeError, match="closed"):
        await store.transact(lambda tx: tx.consoles())


# compare-and-set ----------------------------------------------------------------------------
async def test_an_update_applies_only_in_the_expected_state(store: Store) -> None:
    await with_console(store)
    await put_restore(store, restore(1))
    moved = restore(1, RestoreStatus.REQUESTING)
    requesting = job(JobKind.RESTORE, 1, "REQUESTING", due_at=NOW, ordinal=1)

    def update(expected: str) -> Any:
        return lambda tx: tx.update_restore(C, 1, expected, moved, requesting)

    assert not await store.transact(update("REQUESTING"))  # another writer got there first
    stored = await store.read(lambda tx: tx.restore(C, 1))
    assert stored is not None
    assert stored.record.status is RestoreStatus.PENDING
    assert await store.transact(update("PENDING"))
    assert not await store.transact(update("PENDING"))  # once only
    stored = await store.read(lambda tx: tx.restore(C, 1))
    assert stored is not None
    assert (stored.record, stored.job) == (moved, requesting)
    assert not await store.transact(
        lambda tx: tx.update_restore(C, 9, "PENDING", moved, requesting)
    )


async def test_a_backup_update_writes_what_may_change_and_keeps_the_rest(store: Store) -> None:
    await with_console(store)
    await put_backup(store, backup(1, BackupStatus.IN_PROGRESS))
    done = backup(
        1,
        BackupStatus.SUCCESS,
        time_completed=NOW + 5,
        size_on_disk=99,
        description="done",
        is_valid=False,
    )
    renamed = replace(done, name="renamed", content_file_path="/elsewhere")  # fixed fields
    finished = job(JobKind.BACKUP, 1, "SUCCESS", origin=Origin.EXTERNAL)
    assert not await store.transact(lambda tx: tx.update_backup(C, 1, "SUCCESS", done, finished))
    assert await store.transact(lambda tx: tx.update_backup(C, 1, "IN_PROGRESS", renamed, finished))
    stored = await store.read(lambda tx: tx.backup(C, 1))
    assert stored is not None
    assert stored.record == done
    assert stored.job == finished
    assert await store.read(lambda tx: tx.backup_name_taken(C, "b1"))


async def test_a_job_has_its_records_status_as_the_store_keeps_one_status(store: Store) -> None:
    await with_console(store)
    r = restore(1, RestoreStatus.IN_PROGRESS)
    await store.transact(lambda tx: tx.insert_restore(C, r, job(JobKind.RESTORE, 1, "PENDING")))
    stored = await store.read(lambda tx: tx.restore(C, 1))
    assert stored is not None
    assert stored.job.status == "IN_PROGRESS"
    running = await store.read(lambda tx: tx.running_jobs(C))
    assert [j.job.id for j in running] == [1]


# the engine's searches -----------------------------------------------------------------------
async def test_due_jobs_are_limited_per_table_and_ordered_by_due_time_then_id(
    store: Store,
) -> None:
    await with_console(store)
    times: tuple[tuple[int, int | None], ...] = (
        (1, NOW + 30),
        (2, NOW + 10),
        (3, NOW + 10),
        (4, NOW + 99),
        (5, None),
    )
    for id, due_at in times:
        await put_restore(store, restore(id, RestoreStatus.REQUESTING), due_at=due_at)
        await put_backup(store, backup(id, BackupStatus.IN_PROGRESS), due_at=due_at)
    limited = await store.read(lambda tx: tx.due_jobs(C, NOW + 30, 2))
    assert [(j.job.kind, j.job.id) for j in limited] == [
        (JobKind.RESTORE, 2),
        (JobKind.RESTORE, 3),
        (JobKind.BACKUP, 2),
        (JobKind.BACKUP, 3),
    ]
    due = await store.read(lambda tx: tx.due_jobs(C, NOW + 30, 10))
    assert [j.job.id for j in due] == [2, 3, 1, 2, 3, 1]
    assert await store.read(lambda tx: tx.due_jobs(C, NOW, 10)) == []
    assert await store.read(lambda tx: tx.next_due(C)) == NOW + 10
    assert await store.read(lambda tx: tx.next_due("nobody")) is None


async def test_running_jobs_are_the_gate_holders_and_deleting_backups(store: Store) -> None:
    await with_console(store)
    for id, restore_status in enumerate(RestoreStatus, start=1):
        await put_restore(store, restore(id, restore_status), visible=id % 2 == 0)
    for id, backup_status in enumerate(BackupStatus, start=1):
        await put_backup(store, backup(id, backup_status))
    running = await store.read(lambda tx: tx.running_jobs(C))
    restores = [j.record.status for j in running if j.job.kind is JobKind.RESTORE]
    backups = [j.record.status for j in running if j.job.kind is JobKind.BACKUP]
    assert restores == ["REQUESTING", "INITIALIZING", "IN_PROGRESS"]  # hidden ones too
    assert backups == ["INITIALIZING", "IN_PROGRESS", "CANCELLING", "DELETING"]


async def test_the_gate_sees_rebalancing_running_restores_and_the_hosts_of_running_backups(
    store: Store,
) -> None:
    await store.transact(lambda tx: tx.put_console(ConsoleState(C, rebalancing=True)))
    view = await store.read(lambda tx: tx.gate(C))
    assert (view.rebalancing, view.restore_running, view.backup_hosts) == (True, False, frozenset())
    await put_restore(store, restore(1, RestoreStatus.SUCCESS))
    await put_backup(store, backup(1, BackupStatus.DELETING, host_id=7))  # holds no gate
    await put_backup(store, backup(2, BackupStatus.CANCELLING, host_id=8))
    await put_backup(store, backup(3, BackupStatus.IN_PROGRESS, host_id=9))
    view = await store.read(lambda tx: tx.gate(C))
    assert (view.restore_running, view.backup_hosts) == (False, frozenset({8, 9}))
    await put_restore(store, restore(2, RestoreStatus.IN_PROGRESS), visible=False)
    assert (await store.read(lambda tx: tx.gate(C))).restore_running  # deleted, still running


async def test_the_gate_admits_one_of_two_racing_starts_across_connections(
    store: Store, other: Store
) -> None:
    """Each unit checks the gate and records its start; on two connections to one database
    (two processes), exactly one of every pair of racing starts wins."""
    await with_console(store)
    rounds = 20
    for round in range(rounds):
        for id in (2 * round + 1, 2 * round + 2):
            await put_restore(store, restore(id))

    def start(id: int) -> Any:
        def unit(tx: Tx) -> bool:
            if tx.gate(C).restore_running:
                return False
            moved = restore(id, RestoreStatus.REQUESTING)
            return tx.update_restore(
                C, id, "PENDING", moved, job(JobKind.RESTORE, id, "REQUESTING")
            )

        return unit

    def finish(id: int) -> Any:
        done = restore(id, RestoreStatus.SUCCESS)
        return lambda tx: tx.update_restore(
            C, id, "REQUESTING", done, job(JobKind.RESTORE, id, "SUCCESS")
        )

    for round in range(rounds):
        a, b = 2 * round + 1, 2 * round + 2
        won = await asyncio.gather(store.transact(start(a)), other.transact(start(b)))
        assert sorted(won) == [False, True], round
        await store.transact(finish(a if won[0] else b))


# visibility and the read model ---------------------------------------------------------------
async def test_a_hidden_restore_leaves_the_api_but_not_the_engine(store: Store) -> None:
    await with_console(store)
    await put_restore(store, restore(1, RestoreStatus.IN_PROGRESS))
    await put_restore(store, restore(2))
    assert await store.read(lambda tx: tx.unfinished_restore_record(C))
    await store.transact(lambda tx: tx.hide_restore(C, 1))
    await store.transact(lambda tx: tx.hide_restore(C, 2))

    def seen(tx: Tx) -> tuple[Any, ...]:
        stored = tx.restore(C, 1)
        visible = stored is not None and stored.job.visible
        return (
            tx.visible_restore(C, 1),
            tx.restore_json(C, 1),
            tx.restores(C),
            visible,
            tx.unfinished_restore_record(C),
        )

    assert await store.read(seen) == (None, None, [], False, False)
    await store.transact(lambda tx: tx.purge_restore(C, 1))
    assert await store.read(lambda tx: tx.restore(C, 1)) is None


@pytest.mark.parametrize("status", list(RestoreStatus))
async def test_the_restore_read_model_is_the_record_as_the_api_shows_it(
    store: Store, status: RestoreStatus
) -> None:
    """`restore_json` skips the domain object on the polling path: it must give exactly
    `Restore.to_json()` (nulls, booleans, groups, key order), compared as JSON text too."""
    await with_console(store)
    for id, record in enumerate(
        (
            restore(0, status),
            restore(
                0,
                status,
                groups=(),
                backup_id=None,
                time_initiated=NOW,
                is_cross_deployment_restore=True,
            ),
        ),
        start=1,
    ):
        record = replace(record, id=id)
        await put_restore(store, record)
        view = await store.read(functools.partial(_json_of, id=id))
        assert view == record.to_json()
        assert json.dumps(view) == json.dumps(record.to_json())


@pytest.mark.parametrize("status", list(RestoreStatus))
async def test_the_encoded_restore_is_the_read_model_as_sent(
    store: Store, status: RestoreStatus
) -> None:
    """`restore_encoded` is the body `GET /restores/{id}` sends: byte for byte what orjson
    makes of `Restore.to_json()` (nulls, booleans, empty and full groups, key order, Longs);
    None for an unknown or hidden record."""
    await with_console(store)
    variants = (
        restore(0, status),
        restore(
            0,
            status,
            groups=tuple(RestoreGroup),
            backup_id=None,
            time_initiated=NOW,
            time_completed=NOW + 1,
            is_cross_deployment_restore=True,
            host_id=2**63 - 1,
            backup_type=BackupType.DATA,
        ),
        restore(0, status, groups=(), backup_id=-(2**63), initiated_by=""),
    )
    for id, record in enumerate(variants, start=1):
        record = replace(record, id=id)
        await put_restore(store, record)
        encoded = await store.read(functools.partial(_encoded_of, id=id))
        assert encoded == orjson.dumps(record.to_json())
    assert await store.read(functools.partial(_encoded_of, id=99)) is None
    await store.transact(lambda tx: tx.hide_restore(C, 1))
    assert await store.read(functools.partial(_encoded_of, id=1)) is None


async def test_a_credential_is_read_with_a_restore_of_its_own_console(store: Store) -> None:
    """`credential_and_restore`: the credential as `credential` reads it, and the encoded
    restore of its console only (None for another console's, a hidden or an unknown one)."""
    await with_console(store)
    await with_console(store, "other")
    token, basic = Credential("token-c", C), Credential("user:pw", C, basic=True)
    elsewhere = Credential("token-other", "other")
    for credential in (token, basic, elsewhere):
        await store.transact(functools.partial(_put_credential, credential=credential))
    await put_restore(store, restore(1))
    await put_restore(store, restore(2))
    await store.transact(lambda tx: tx.hide_restore(C, 2))

    def read(secret: str, basic: bool, id: int) -> Any:
        return store.read(lambda tx: tx.credential_and_restore(secret, basic, id))

    encoded = orjson.dumps(restore(1).to_json())
    assert await read("token-c", False, 1) == (token, encoded)
    assert await read("user:pw", True, 1) == (basic, encoded)
    assert await read("token-c", False, 2) == (token, None)  # hidden
    assert await read("token-c", False, 3) == (token, None)
    assert await read("token-other", False, 1) == (elsewhere, None)  # not its console's
    assert await read("user:pw", False, 1) == (None, None)  # a token's secret, not a login's
    assert await read("nobody", False, 1) == (None, None)
    assert await read("token-c", False, 1) == (
        await store.read(lambda tx: tx.credential("token-c", False)),
        await store.read(functools.partial(_encoded_of, id=1)),
    )


def _put_credential(tx: Tx, credential: Credential) -> None:
    assert tx.put_credential(credential)


#: Every character up to U+07FF (control characters, quotes, backslash, Latin, Greek...) and
#: some beyond (CJK, astral, the last ones), without lone surrogates (no store holds them)
_TEXTS = [
    "".join(chr(c) for c in range(start, min(start + 256, 0x800))) for start in range(0, 0x800, 256)
] + ["\u4e2d\u6587 \U0001f600 \ufffd\uffff \U0010ffff", 'a"b\\c/d\x7f', "\x00x\x00"]


@pytest.mark.parametrize("text", _TEXTS, ids=range(len(_TEXTS)))
async def test_the_encoded_restore_escapes_texts_as_orjson(store: Store, text: str) -> None:
    if "\x00" in text and type(store).__name__ == "PostgresStore":
        text = text.replace("\x00", "")  # PostgreSQL's text holds no NUL (a write fails)
    await with_console(store)
    record = restore(1, initiated_by=text, backup_name=text, backup_version=text,
                     backup_filename=text)  # fmt: skip
    await put_restore(store, record)
    encoded = await store.read(functools.partial(_encoded_of, id=1))
    assert encoded == orjson.dumps(record.to_json())


async def test_records_read_back_as_written_in_id_order(store: Store) -> None:
    await with_console(store)
    rule = {"mode": "manual", "outcome": ["FAILED"], "durations": {"REQUESTING": 5}}
    written = job(
        JobKind.RESTORE,
        3,
        "IN_PROGRESS",
        origin=Origin.EXTERNAL,
        due_at=NOW,
        outcome=Outcome.HANG,
        rule=rule,
        ordinal=4,
        phase_since=NOW - 1,
    )
    for id in (3, 1, 2):
        record = restore(id, RestoreStatus.IN_PROGRESS, time_initiated=NOW)
        await store.transact(
            functools.partial(_insert, record=record, job=replace(written, id=record.id))
        )
    rule["mode"] = "changed after the write"  # what is stored is a copy
    stored = await store.read(lambda tx: tx.restore(C, 3))
    assert stored is not None
    assert stored.job == replace(written, rule={**rule, "mode": "manual"})
    assert [r.id for r in await store.read(lambda tx: tx.restores(C))] == [1, 2, 3]
    for b in (backup(5, description="five"), backup(4)):
        await put_backup(store, b)
    assert await store.read(lambda tx: tx.backups(C)) == [backup(4), backup(5, description="five")]
    assert await store.read(lambda tx: tx.visible_backup(C, 5)) == backup(5, description="five")


async def test_a_removed_backup_frees_its_name(store: Store) -> None:
    await with_console(store)
    await put_backup(store, backup(1))
    assert await store.read(lambda tx: tx.backup_name_taken(C, "b1"))
    await store.transact(lambda tx: tx.remove_backup(C, 1))
    assert not await store.read(lambda tx: tx.backup_name_taken(C, "b1"))
    assert await store.read(lambda tx: tx.backup(C, 1)) is None
    await put_backup(store, backup(2, name="b1"))


# consoles, credentials, the world -------------------------------------------------------------
async def test_a_console_is_revised_on_each_change_and_keeps_its_settings(store: Store) -> None:
    settings = {"seed": 4, "rules": {"restore": {"mode": "manual"}}}
    await store.transact(lambda tx: tx.put_console(ConsoleState("b", settings=settings)))
    await store.transact(lambda tx: tx.put_console(ConsoleState("a")))
    settings["seed"] = 5  # what is stored is a copy
    state = await store.read(lambda tx: tx.console("b"))
    assert state is not None
    assert (state.settings, state.revision, state.rebalancing) == (
        {"seed": 4, "rules": {"restore": {"mode": "manual"}}},
        0,
        False,
    )
    changed = ConsoleState("b", rebalancing=True, settings={"seed": 4})
    await store.transact(lambda tx: tx.put_console(changed))
    again = await store.read(lambda tx: tx.console("b"))
    assert again is not None
    assert (again.settings, again.revision, again.rebalancing) == ({"seed": 4}, 1, True)
    assert again.fingerprint != state.fingerprint
    same = await store.read(lambda tx: tx.console("b"))
    assert same is not None
    assert same.fingerprint == again.fingerprint
    assert [c.id for c in await store.read(lambda tx: tx.consoles())] == ["a", "b"]
    assert await store.read(lambda tx: tx.console("nobody")) is None


async def test_deleting_a_console_deletes_everything_it_owns(store: Store) -> None:
    await with_console(store)
    await with_console(store, "kept")

    def fill(tx: Tx) -> None:
        for console in (C, "kept"):
            tx.put_credential(Credential(f"token-{console}", console))
            tx.put_host(console, Host(53, "console", console=True))
            tx.put_configuration(console, BackupConfiguration())
        tx.insert_restore(C, restore(1), job(JobKind.RESTORE, 1, "PENDING"))
        tx.insert_backup(C, backup(1), job(JobKind.BACKUP, 1, "SUCCESS"))

    await store.transact(fill)
    assert await store.transact(lambda tx: tx.delete_console(C))
    assert not await store.transact(lambda tx: tx.delete_console(C))

    def seen(tx: Tx, console: str) -> tuple[Any, ...]:
        return (
            tx.console(console) is not None,
            len(tx.credentials(console)),
            len(tx.hosts(console)),
            len(tx.configurations(console)),
            tx.restore(console, 1),
            tx.backup(console, 1),
        )

    assert await store.read(lambda tx: seen(tx, C)) == (False, 0, 0, 0, None, None)
    assert await store.read(lambda tx: seen(tx, "kept")) == (True, 1, 1, 1, None, None)
    assert await store.read(lambda tx: tx.credential("token-contract", False)) is None


async def test_a_credential_is_found_by_its_secret_and_kind_and_never_moved(store: Store) -> None:
    await with_console(store, "one")
    await with_console(store, "two")
    assert await store.transact(lambda tx: tx.put_credential(Credential("shared", "one")))
    assert not await store.transact(lambda tx: tx.put_credential(Credential("shared", "two")))
    operator = Credential("shared", "one", admin=False, name="operator")
    assert await store.transact(lambda tx: tx.put_credential(operator))  # its own console may
    basic = Credential("admin:admin", "one", basic=True)
    await store.transact(lambda tx: tx.put_credential(basic))

    def found(tx: Tx) -> tuple[Any, ...]:
        return (
            tx.credential("shared", False),
            tx.credential("shared", True),
            tx.credential("sharef", False),
            tx.credential("admin:admin", True),
        )

    assert await store.read(found) == (operator, None, None, basic)
    assert await store.read(lambda tx: tx.credentials("one")) == [basic, operator]  # by secret
    assert await store.read(lambda tx: tx.credentials("two")) == []


async def test_the_world_is_replaced_by_id_and_read_in_id_order(store: Store) -> None:
    await with_console(store)
    configuration = BackupConfiguration(
        configuration_id=2,
        data_backup_host_configuration=(DataBackupHost(53, False, True),),
        undeployed_changes=True,
    )

    def fill(tx: Tx) -> None:
        tx.put_host(C, Host(104, "ep", components=("eventprocessor", "qflow"), ariel_data=True))
        tx.put_host(C, Host(53, "old"))
        tx.put_host(C, Host(53, "console", "10.0.0.53", console=True, active=False))
        tx.put_configuration(C, configuration)
        tx.put_configuration(C, BackupConfiguration())

    await store.transact(fill)
    assert await store.read(lambda tx: tx.hosts(C)) == [
        Host(53, "console", "10.0.0.53", console=True, active=False),
        Host(104, "ep", components=("eventprocessor", "qflow"), ariel_data=True),
    ]
    assert await store.read(lambda tx: tx.configurations(C)) == [
        BackupConfiguration(),
        configuration,
    ]
    await store.transact(lambda tx: tx.clear_world(C))
    assert await store.read(lambda tx: (tx.hosts(C), tx.configurations(C))) == ([], [])


async def test_a_fresh_store_is_healthy_and_reports_its_units(store: Store) -> None:
    await with_console(store)
    assert store.health().ok
    stats = store.stats()
    assert stats["units"] >= 1
    assert {"batches", "units", "failed_units", "largest_batch"} <= set(stats)
