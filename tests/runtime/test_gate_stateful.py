"""A stateful property test of the gate and the lifecycles, through the embedded API.

Hypothesis' rule-based state machines are synchronous (hypothesis#4107), so the machine owns a
persistent event loop: the simulator is entered on it in `__init__`, every rule runs one
coroutine to completion on it, and `teardown` stops the simulator and closes the loop. Between
rules the loop does not run, and virtual time moves only in the `advance` rule, so the state
read before an operation is the state the operation sees.

The model is deliberately small: before each operation it reads the raw records (including the
records of deleted running restores, which keep the gate), predicts the answer from the rules of
reference sections 2-5, and compares. Invariants are checked after every step.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from engine.core.enums import BackupStatus, BackupType, RestoreStatus
from engine.core.errors import QRadarError
from engine.simulator import Settings, Simulator
from engine.store.base import StoredRestore
from tests.support.worlds import GROUPS, make_world

T = TypeVar("T")
R = RestoreStatus
B = BackupStatus
RUNNING_RESTORE = {R.REQUESTING, R.INITIALIZING, R.IN_PROGRESS}
RUNNING_BACKUP = {B.INITIALIZING, B.IN_PROGRESS, B.CANCELLING}
RULES = {
    "restore": {"requesting": "2s", "initializing": "5s", "in_progress": "60s",
                "outcome": {"FAILED": 0.3}},
    "backup": {"initializing": "1s", "in_progress": "4s", "cancelling": "2s", "deleting": "2s",
               "outcome": {"FAILED": 0.2}},
}  # fmt: skip


class GateMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.sim = Simulator(Settings(world=make_world(), seed=3, rules=RULES))
        self.run(self.sim.__aenter__())
        self.console = self.sim.console()
        self.restore_ids: list[int] = []
        self.names = 0
        self.rebalancing = False

    def run(self, coroutine: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coroutine)  # type: ignore[arg-type]

    def teardown(self) -> None:
        try:
            self.run(self.sim.__aexit__(None, None, None))
        finally:
            self.loop.close()

    # the state, as stored ----------------------------------------------------------------
    def restores(self) -> list[StoredRestore]:
        cid, ids = self.console.id, list(self.restore_ids)
        found = self.run(self.sim.store.read(lambda tx: [tx.restore(cid, i) for i in ids]))
        return [r for r in found if r is not None]

    def restore_running(self) -> bool:
        return any(r.record.status in RUNNING_RESTORE for r in self.restores())

    def backups(self) -> dict[int, Any]:
        return {b.id: b for b in self.run(self.console.list_backups())}

    def busy_hosts(self) -> set[int]:
        return {b.host_id for b in self.backups().values() if b.status in RUNNING_BACKUP}

    def expect(self, expected: int | None, call: Awaitable[Any]) -> Any:
        """Run `call`; it must succeed (None) or fail with the `expected` unique code."""
        event(f"expected {expected or 'success'}")
        got: int | None = None
        result = None
        try:
            result = self.run(call)
        except QRadarError as error:
            got = error.code.unique
        assert got == expected, f"got {got or 'success'}, expected {expected or 'success'}"
        return result

    # rules --------------------------------------------------------------------------------
    @rule(backup_id=st.sampled_from([1, 2, 3]) | st.integers(4, 9))
    def create_restore(self, backup_id: int) -> None:
        backup = self.backups().get(backup_id)
        unfinished = any(
            r.job.visible and r.record.status not in (R.SUCCESS, R.FAILED) for r in self.restores()
        )
        expected = (
            1003 if backup is None
            else 1004 if backup.type is not BackupType.CONFIG
            else 1005 if backup.status is not B.SUCCESS
            else 1011 if unfinished
            else None
        )  # fmt: skip
        created = self.expect(expected, self.console.create_restore(backup_id, GROUPS))
        if created is not None:
            assert created.status == R.PENDING
            assert created.id not in self.restore_ids
            self.restore_ids.append(created.id)

    @rule(data=st.data())
    def request_restore(self, data: st.DataObject) -> None:
        self.request(data.draw(st.sampled_from(self.restore_ids[-1:] or [999])))

    def request(self, rid: int) -> None:
        stored = next((r for r in self.restores() if r.record.id == rid), None)
        expected = (
            1001 if stored is None or not stored.job.visible
            else 1012 if stored.record.status is not R.PENDING
            else 1014 if self.rebalancing
            else 1015 if self.busy_hosts()
            else 1016 if self.restore_running()
            else None
        )  # fmt: skip
        result = self.expect(expected, self.console.request_restore(rid))
        if result is not None:
            assert result.status == R.REQUESTING

    @rule()
    def create_and_request_restore(self) -> None:
        """The common client path, so that restores often hold the gate."""
        self.create_restore(1)
        self.request(self.restore_ids[-1] if self.restore_ids else 999)

    @rule(data=st.data())
    def delete_restore(self, data: st.DataObject) -> None:
        rid = data.draw(st.sampled_from([*self.restore_ids[-2:], 999]))
        stored = next((r for r in self.restores() if r.record.id == rid), None)
        expected = (
            1001 if stored is None or not stored.job.visible
            else 1017 if stored.record.status in (R.SUCCESS, R.FAILED)
            else None
        )  # fmt: skip
        self.expect(expected, self.console.delete_restore(rid))

    @rule(host=st.sampled_from([53, 104]), kind=st.sampled_from(["CONFIG", "DATA"]))
    def create_backup(self, host: int, kind: str) -> None:
        self.names += 1
        expected = (
            1012 if kind == "CONFIG" and host != 53
            else 1015 if host in self.busy_hosts()
            else 1016 if self.restore_running()
            else None
        )  # fmt: skip
        name = f"b{self.names}"
        created = self.expect(expected, self.console.create_backup(kind, name, host_id=host))
        if created is not None:
            assert (created.status, created.host_id, created.name) == (B.INITIALIZING, host, name)

    @rule(bid=st.integers(1, 12))
    def delete_backup(self, bid: int) -> None:
        backup = self.backups().get(bid)
        expected = (
            1001 if backup is None
            else 1017 if backup.status in (B.CANCELLING, B.DELETING)
            else None
        )  # fmt: skip
        result = self.expect(expected, self.console.delete_backup(bid))
        if result is not None:
            running = backup.status in (B.INITIALIZING, B.IN_PROGRESS)
            assert result.status == (B.CANCELLING if running else B.DELETING)

    @rule()
    def toggle_rebalancing(self) -> None:
        self.rebalancing = not self.rebalancing
        self.run(self.console.set_rebalancing(self.rebalancing))

    @rule(seconds=st.integers(0, 90))
    def advance(self, seconds: int) -> None:
        self.run(self.console.clock.advance(seconds))  # type: ignore[attr-defined]

    # invariants ---------------------------------------------------------------------------
    @invariant()
    def gate_holds(self) -> None:
        restores = self.restores()
        running = [r for r in restores if r.record.status in RUNNING_RESTORE]
        assert len(running) <= 1, "two restores run at once"
        backups = self.backups().values()
        running_backups = [b for b in backups if b.status in RUNNING_BACKUP]
        assert not (running and running_backups), "a restore and a backup run together"
        hosts = [b.host_id for b in running_backups]
        assert len(hosts) == len(set(hosts)), "two backups run on one host"
        unfinished = [
            r for r in restores if r.job.visible and r.record.status not in (R.SUCCESS, R.FAILED)
        ]
        assert len(unfinished) <= 1, "two unfinished restore records"
        cid = self.console.id
        view = self.run(self.sim.store.read(lambda tx: tx.gate(cid)))
        assert view.restore_running == bool(running)
        assert view.backup_hosts == frozenset(hosts)
        assert view.rebalancing == self.rebalancing

    @invariant()
    def finished_restores_are_complete(self) -> None:
        for stored in self.restores():
            record = stored.record
            if record.status in (R.SUCCESS, R.FAILED):
                assert record.backup_id is None
                assert record.time_completed is not None
                assert record.time_initiated is not None
            elif record.status in (R.PENDING, R.REQUESTING):
                assert record.time_initiated is None
                assert record.backup_id is not None


def test_gate_rules_hold_under_random_operations(quiet_logs: None) -> None:
    run_state_machine_as_test(
        GateMachine,
        settings=settings(
            max_examples=50,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            database=None,
        ),
    )
