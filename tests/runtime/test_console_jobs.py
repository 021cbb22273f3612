"""Jobs through the embedded API: restore and backup lifecycles, modes, outcomes, the gate."""

from __future__ import annotations

import time

import pytest

from engine.core.enums import BackupStatus, JobKind, RestoreStatus
from engine.core.errors import Conflict, NotFound, QRadarError, Unprocessable
from engine.runtime.console import Console
from engine.simulator import Settings, Simulator
from tests.support.clocks import vclock
from tests.support.worlds import GROUPS, backup_record

R = RestoreStatus
B = BackupStatus


async def test_restore_lifecycle_timestamps_and_backup_id(console: Console) -> None:
    await console.set_rule(
        "restore", {"requesting": "1s", "initializing": "2s", "in_progress": "5s"}
    )
    clock = vclock(console)
    t0 = clock.now_ms()
    created = await console.create_restore(1, GROUPS)
    assert (created.status, created.time_initiated, created.time_completed) == (
        R.PENDING,
        None,
        None,
    )
    assert created.backup_id == 1
    requested = await console.request_restore(created.id)
    assert (requested.status, requested.time_initiated) == (R.REQUESTING, None)
    await clock.advance(1)
    initializing = await console.get_restore(created.id)
    assert initializing.status == R.INITIALIZING
    assert initializing.time_initiated == t0 + 1_000
    assert initializing.backup_id == 1
    await clock.advance(2)
    assert (await console.get_restore(created.id)).status == R.IN_PROGRESS
    await clock.advance(4.999)
    assert (await console.get_restore(created.id)).status == R.IN_PROGRESS
    await clock.advance(0.001)
    done = await console.get_restore(created.id)
    assert done.status == R.SUCCESS
    assert done.time_initiated == t0 + 1_000
    assert done.time_completed == t0 + 8_000
    assert done.backup_id is None
    assert done.backup_name == "nightly_1"  # the rest of the record stays


async def test_two_hour_restore_finishes_fast_on_the_virtual_clock(console: Console) -> None:
    await console.set_rule("restore", {"in_progress": "2h"})
    restore = await console.create_restore(1, GROUPS)
    started = time.perf_counter()
    await console.request_restore(restore.id)
    done = await console.wait_for_restore(restore.id, within_s=3 * 3600)
    assert time.perf_counter() - started < 1.0
    assert done.status == R.SUCCESS
    assert done.time_completed is not None
    assert done.time_initiated is not None
    assert done.time_completed - done.time_initiated >= 2 * 3_600_000


async def test_manual_mode_holds_each_phase_until_stepped(console: Console) -> None:
    await console.set_rule("restore", {"mode": "manual"})
    restore = await console.create_restore(1, GROUPS)
    await console.request_restore(restore.id)
    for expected in (R.REQUESTING, R.INITIALIZING, R.IN_PROGRESS):
        await vclock(console).advance(24 * 3600)
        assert (await console.get_restore(restore.id)).status == expected
        await console.step("restore", restore.id)
    done = await console.get_restore(restore.id)
    assert (done.status, done.backup_id) == (R.SUCCESS, None)
    assert await console.step("restore") is None  # nothing left to step


async def test_step_with_an_outcome(console: Console) -> None:
    await console.set_rule("restore", {"mode": "manual"})
    restore = await console.create_restore(1, GROUPS)
    await console.request_restore(restore.id)
    await console.step("restore", restore.id)
    await console.step("restore", restore.id)
    await console.step("restore", restore.id, "FAILED")
    assert (await console.get_restore(restore.id)).status == R.FAILED


async def test_immediate_mode_takes_no_virtual_time(console: Console) -> None:
    await console.set_rule("restore", {"mode": "immediate"})
    t0 = vclock(console).now_ms()
    restore = await console.create_restore(1, GROUPS)
    await console.request_restore(restore.id)
    await vclock(console).advance(0)  # lets the worker run what is due now
    done = await console.get_restore(restore.id)
    assert done.status == R.SUCCESS
    assert done.time_initiated == done.time_completed == t0
    assert vclock(console).now_ms() == t0


async def test_wait_for_does_not_move_the_clock_when_the_work_is_already_done(
    console: Console,
) -> None:
    await console.set_rule("restore", {"mode": "immediate"})
    t0 = vclock(console).now_ms()
    restore = await console.create_restore(1, GROUPS)
    await console.request_restore(restore.id)
    done = await console.wait_for_restore(restore.id)
    assert done.status == R.SUCCESS
    assert vclock(console).now_ms() == t0  # fails: now is t0 + 3600 s


async def test_hang_then_deleted_record_keeps_the_gate_until_stepped(console: Console) -> None:
    await console.set_rule("restore", {"mode": "immediate", "outcome": "HANG"})
    first = await console.create_restore(1, GROUPS)
    await console.request_restore(first.id)
    await console.wait_for_restore(first.id, R.IN_PROGRESS)
    await vclock(console).advance(7 * 24 * 3600)
    assert (await console.get_restore(first.id)).status == R.IN_PROGRESS  # hung
    await console.delete_restore(first.id)
    with pytest.raises(NotFound):
        await console.get_restore(first.id)
    assert await console.list_restores() == []
    second = await console.create_restore(2, GROUPS)  # no 1011: the record is gone
    with pytest.raises(Conflict) as caught:
        await console.request_restore(second.id)
    assert caught.value.code.unique == 1016
    with pytest.raises(Conflict) as caught:
        await console.create_backup("CONFIG", "while_hung")
    assert caught.value.code.unique == 1016
    assert (await console.get_restore(second.id)).status == R.PENDING
    # stepping the hung job fails it; its deleted record is not shown again
    await console.set_rule("restore", {"outcome": "SUCCESS"})
    await console.step("restore")
    assert [r.id for r in await console.list_restores()] == [second.id]
    requested = await console.request_restore(second.id)
    assert requested.status == R.REQUESTING
    assert (await console.wait_for_restore(second.id)).status == R.SUCCESS


async def test_deleting_a_running_record_does_not_stop_its_job(console: Console) -> None:
    await console.set_rule("restore", {"in_progress": "1m"})
    restore = await console.create_restore(1, GROUPS)
    await console.request_restore(restore.id)
    await vclock(console).advance(5)
    await console.delete_restore(restore.id)
    fresh = await console.create_restore(1, GROUPS)
    with pytest.raises(Conflict):
        await console.request_restore(fresh.id)
    await vclock(console).advance(60)  # the hidden job finishes and releases the gate
    assert (await console.request_restore(fresh.id)).status == R.REQUESTING


async def test_wait_for_restore_sees_a_deleted_record_whose_job_runs_on(
    console: Console,
) -> None:
    """`wait_for_restore` reads the record deleted or not: the hidden job's status moves on,
    and the wait ends when it is final; an id never created is 404/1001."""
    await console.set_rule("restore", {"in_progress": "1m"})
    restore = await console.create_restore(1, GROUPS)
    await console.request_restore(restore.id)
    await vclock(console).advance(5)
    await console.delete_restore(restore.id)
    running = await console.wait_for_restore(restore.id, R.IN_PROGRESS)
    assert running.status == R.IN_PROGRESS
    assert running.time_initiated is not None
    with pytest.raises(NotFound):
        await console.wait_for_restore(restore.id + 1)


async def test_deleting_a_pending_record_frees_creation(console: Console) -> None:
    restore = await console.create_restore(1, GROUPS)
    await console.delete_restore(restore.id)
    assert await console.list_restores() == []
    again = await console.create_restore(1, GROUPS)
    assert (await console.request_restore(again.id)).status == R.REQUESTING


async def test_outcome_sequence_fail_then_succeed(console: Console) -> None:
    await console.set_rule("restore", {"mode": "immediate", "outcome": ["FAILED", "SUCCESS"]})
    outcomes = []
    for _ in range(3):
        restore = await console.create_restore(1, GROUPS)
        await console.request_restore(restore.id)
        done = await console.wait_for_restore(restore.id)
        outcomes.append(done.status)
        assert done.time_completed is not None
        assert done.backup_id is None
    assert outcomes == [R.FAILED, R.SUCCESS, R.SUCCESS]  # the last one repeats


async def _outcomes_with_seed(seed: int, count: int) -> list[str]:
    rules = {"restore": {"mode": "immediate", "outcome": {"FAILED": 0.5}}}
    async with Simulator(Settings(seed=seed, rules=rules)) as sim:
        console = sim.console()
        result = []
        for _ in range(count):
            restore = await console.create_restore(1, GROUPS)
            await console.request_restore(restore.id)
            result.append((await console.wait_for_restore(restore.id)).status.value)
        return result


async def test_seeded_failure_rate_is_deterministic() -> None:
    first = await _outcomes_with_seed(7, 16)
    second = await _outcomes_with_seed(7, 16)
    assert first == second
    assert set(first) == {"SUCCESS", "FAILED"}  # a rate of 0.5 over 16 jobs draws both


async def test_per_job_rule_overrides_the_kind_rule(console: Console) -> None:
    await console.set_rule("restore", {"in_progress": "1h"})
    restore = await console.create_restore(1, GROUPS)
    await console.request_restore(restore.id)
    await console.set_job_rule("restore", restore.id, {"in_progress": "10s", "outcome": "FAILED"})
    done = await console.wait_for_restore(restore.id)
    assert done.status == R.FAILED
    assert done.time_completed is not None
    assert done.time_initiated is not None
    assert done.time_completed - done.time_initiated == 2_000 + 10_000


# --- backups ----------------------------------------------------------------------------------


async def test_backup_runs_to_success(console: Console) -> None:
    await console.set_rule("backup", {"initializing": "1s", "in_progress": "3s"})
    t0 = vclock(console).now_ms()
    backup = await console.create_backup("DATA", "data_104", description="d", host_id=104)
    assert (backup.status, backup.time_initiated, backup.time_completed) == (
        B.INITIALIZING,
        t0,
        None,
    )
    await vclock(console).advance(1)
    assert (await console.get_backup(backup.id)).status == B.IN_PROGRESS
    done = await console.wait_for_backup(backup.id)
    assert done is not None
    assert (done.status, done.time_completed) == (B.SUCCESS, t0 + 4_000)
    assert done.size_on_disk > 0
    # a finished CONFIG backup is restorable; a DATA one is not
    with pytest.raises(Unprocessable) as caught:
        await console.create_restore(backup.id, GROUPS)
    assert caught.value.code.unique == 1004


async def test_a_seeded_running_backup_hangs_as_the_rule_says(console: Console) -> None:
    """A backup seeded IN_PROGRESS under `outcome: HANG` hangs as one the API started does (it
    used to succeed after the phase's duration); stepped, it fails."""
    await console.set_rule("backup", {"in_progress": "3s", "outcome": "HANG"})
    running = backup_record(10, status=B.IN_PROGRESS, time_completed=None)
    await console.add_backup(running)
    await vclock(console).advance(7 * 24 * 3600)
    assert (await console.get_backup(10)).status == B.IN_PROGRESS
    await console.step("backup", 10)
    assert (await console.get_backup(10)).status == B.FAILED


async def test_failed_backup_is_not_restorable(console: Console) -> None:
    await console.set_rule("backup", {"mode": "immediate", "outcome": "FAILED"})
    backup = await console.create_backup("CONFIG", "will_fail")
    done = await console.wait_for_backup(backup.id)
    assert done is not None
    assert done.status == B.FAILED
    assert done.time_completed is not None
    with pytest.raises(Unprocessable) as caught:
        await console.create_restore(backup.id, GROUPS)
    assert caught.value.code.unique == 1005


async def test_failed_backup_is_stored_invalid(console: Console) -> None:
    await console.set_rule("backup", {"mode": "immediate", "outcome": "FAILED"})
    backup = await console.create_backup("CONFIG", "will_fail")
    await vclock(console).advance(0)
    done = await console.get_backup(backup.id)
    assert (done.status, done.is_valid) == (B.FAILED, False)


@pytest.mark.parametrize("phase", [B.INITIALIZING, B.IN_PROGRESS])
async def test_backup_cancel_path(console: Console, phase: BackupStatus) -> None:
    await console.set_rule(
        "backup", {"initializing": "10s", "in_progress": "60s", "cancelling": "5s"}
    )
    backup = await console.create_backup("CONFIG", "to_cancel")
    if phase is B.IN_PROGRESS:
        await vclock(console).advance(10)
    assert (await console.get_backup(backup.id)).status == phase
    cancelling = await console.delete_backup(backup.id)
    assert cancelling.status == B.CANCELLING
    # still holds its host while cancelling
    with pytest.raises(Conflict) as caught:
        await console.create_backup("CONFIG", "meanwhile")
    assert caught.value.code.unique == 1015
    await vclock(console).advance(4.999)
    assert (await console.get_backup(backup.id)).status == B.CANCELLING
    assert await console.wait_for_backup(backup.id, None) is None
    for call in (console.get_backup, console.delete_backup):
        with pytest.raises(NotFound) as caught_404:
            await call(backup.id)
        assert caught_404.value.code.unique == 1001
    assert backup.id not in [b.id for b in await console.list_backups()]
    assert (await console.create_backup("CONFIG", "meanwhile")).status == B.INITIALIZING


async def test_backup_delete_path(console: Console) -> None:
    await console.set_rule("backup", {"deleting": "3s"})
    deleting = await console.delete_backup(2)
    assert deleting.status == B.DELETING
    # DELETING holds no gate
    assert (await console.create_backup("CONFIG", "fresh")).status == B.INITIALIZING
    with pytest.raises(Unprocessable):
        await console.create_restore(2, GROUPS)  # no longer SUCCESS: 1005
    assert await console.wait_for_backup(2, None) is None
    with pytest.raises(NotFound):
        await console.get_backup(2)
    with pytest.raises(Unprocessable) as caught:
        await console.create_restore(2, GROUPS)
    assert caught.value.code.unique == 1003


async def test_backup_missing_then_deleted(console: Console) -> None:
    missing = await console.backup_missing(3)
    assert missing.status == B.MISSING
    assert (await console.get_backup(3)).status == B.MISSING
    with pytest.raises(Unprocessable) as caught:
        await console.create_restore(3, GROUPS)
    assert caught.value.code.unique == 1005
    assert (await console.delete_backup(3)).status == B.DELETING
    assert await console.wait_for_backup(3, None) is None
    with pytest.raises(NotFound):
        await console.get_backup(3)


async def test_backup_missing_refused_while_running(console: Console) -> None:
    from engine.runtime.machines import IllegalTransition

    await console.set_rule("backup", {"mode": "manual"})
    backup = await console.create_backup("CONFIG", "running")
    with pytest.raises(IllegalTransition):
        await console.backup_missing(backup.id)
    assert (await console.get_backup(backup.id)).status == B.INITIALIZING


async def test_update_backup_description(console: Console) -> None:
    updated = await console.update_backup(1, "kept for audit")
    assert updated.description == "kept for audit"
    assert (await console.get_backup(1)).description == "kept for audit"
    assert (await console.update_backup(1, None)).description is None
    unchanged = await console.update_backup_from(1, {"name": "ignored"})
    assert unchanged.name == "nightly_1"


async def test_restore_blocks_backups_and_backups_block_restores(console: Console) -> None:
    await console.set_rule("backup", {"in_progress": "10s"})
    await console.set_rule("restore", {"in_progress": "10s"})
    backup = await console.create_backup("DATA", "d104", host_id=104)
    restore = await console.create_restore(1, GROUPS)
    with pytest.raises(Conflict) as caught:
        await console.request_restore(restore.id)
    assert caught.value.code.unique == 1015
    await console.wait_for_backup(backup.id)
    await console.request_restore(restore.id)
    with pytest.raises(QRadarError) as refused:
        await console.create_backup("DATA", "d104b", host_id=104)
    assert refused.value.code.unique == 1016
    await console.wait_for_restore(restore.id)
    assert (await console.create_backup("DATA", "d104b", host_id=104)).status == B.INITIALIZING


async def test_rebalancing_blocks_requests_only(console: Console) -> None:
    await console.set_rebalancing(True)
    restore = await console.create_restore(1, GROUPS)  # creation is not refused
    with pytest.raises(Conflict) as caught:
        await console.request_restore(restore.id)
    assert caught.value.code.unique == 1014
    assert (await console.create_backup("CONFIG", "while_rebalancing")).host_id == 53
    await console.set_rebalancing(False)
    await console.wait_for_backup(4)
    assert (await console.request_restore(restore.id)).status == R.REQUESTING


async def test_external_restore_holds_the_gate_until_finished(console: Console) -> None:
    external = await console.start_external_restore()
    assert external.status == R.IN_PROGRESS
    with pytest.raises(Conflict) as caught:
        await console.start_external_restore()
    assert caught.value.code.unique == 1016
    await vclock(console).advance(24 * 3600)  # it moves only when told
    with pytest.raises(Conflict):
        await console.create_backup("CONFIG", "blocked")
    assert await console.finish_external_restore("FAILED") is True
    assert await console.finish_external_restore() is False
    assert await console.list_restores() == []
    assert (await console.create_backup("CONFIG", "free")).status == B.INITIALIZING


async def test_consoles_are_isolated(sim: Simulator, console: Console) -> None:
    other = await sim.create_console("other")
    await console.set_rule("restore", {"mode": "manual"})
    restore = await console.create_restore(1, GROUPS)
    await console.request_restore(restore.id)
    with pytest.raises(Conflict):
        await console.create_backup("CONFIG", "blocked_here")
    assert (await other.create_backup("CONFIG", "free_there")).id == 4  # another gate
    await other.wait_for_backup(4)
    theirs = await other.create_restore(1, GROUPS)  # no 1011: another console's records
    assert theirs.id == 1
    assert (await other.request_restore(theirs.id)).status == R.REQUESTING
    assert [r.status for r in await console.list_restores()] == [R.REQUESTING]


async def test_reset_returns_to_a_clean_world(console: Console) -> None:
    await console.set_rule("restore", {"mode": "manual"})
    await console.set_rebalancing(True)
    seeded = await console.list_backups()
    await console.create_restore(1, GROUPS)
    await console.delete_backup(3)
    await console.create_backup("DATA", "extra", host_id=104)
    await console.reset()  # back to the world the console was seeded with
    assert await console.list_restores() == []
    assert await console.list_backups() == seeded
    assert (await console.state()).rebalancing is False
    assert "rules" not in (await console.state()).settings
    assert (await console.create_restore(1, GROUPS)).id == 1
    assert (await console.create_backup("CONFIG", "after_reset")).id == 4


async def test_history_keeps_the_last_transitions(console: Console) -> None:
    from engine.runtime.console import HISTORY

    await console.set_rule("restore", {"mode": "immediate"})
    ids = []
    for _ in range(HISTORY // 4 + 3):  # four transitions each: past the bound
        restore = await console.create_restore(1, GROUPS)
        await console.request_restore(restore.id)
        ids.append(restore.id)
    history = console.history
    assert len(history) == HISTORY
    assert [(f.source, f.dest) for f in history[-4:]] == [
        ("PENDING", "REQUESTING"),
        ("REQUESTING", "INITIALIZING"),
        ("INITIALIZING", "IN_PROGRESS"),
        ("IN_PROGRESS", "SUCCESS"),
    ]
    assert {f.id for f in history[-4:]} == {ids[-1]}
    assert ids[0] not in {f.id for f in history}  # the oldest are gone
    assert all(f.console == console.id and f.kind is JobKind.RESTORE for f in history)
    kept = sum(len(unit) for unit in console._history) // 6  # what the console holds: bounded
    assert HISTORY <= kept < HISTORY + 4


async def test_history_stays_bounded_after_a_unit_of_many_transitions(console: Console) -> None:
    """A worker pass may fire hundreds of transitions in one unit: the console keeps only the
    newest of them beyond HISTORY, not the whole unit."""
    from engine.runtime.console import HISTORY
    from engine.runtime.machines import Fired

    big = [
        Fired(console.id, JobKind.RESTORE, i, "INITIALIZING", "IN_PROGRESS", "begin", 1_000 + i)
        for i in range(1, 1_001)
    ]
    console._report(big, wake=False)
    for i in range(5):  # then a few ordinary units
        console._report(
            [Fired(console.id, JobKind.RESTORE, 2_000 + i, "PENDING", "REQUESTING", "request", 9)],
            wake=False,
        )
    history = console.history
    assert len(history) == HISTORY
    assert [f.id for f in history] == [*range(806, 1_001), *range(2_000, 2_005)]
    kept = sum(len(unit) for unit in console._history) // 6
    assert kept < HISTORY + 64  # not the whole unit of 1,000
