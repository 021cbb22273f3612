"""structlog events: one per transition, per conflict, and per control action."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

from engine.core.errors import Conflict
from engine.runtime.clock import VirtualClock
from engine.runtime.console import Console
from tests.support.worlds import GROUPS


def events(logs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == name]


async def test_every_restore_transition_is_logged(console: Console) -> None:
    await console.set_rule("restore", {"requesting": "1s", "initializing": "1s"})
    with capture_logs() as logs:
        restore = await console.create_restore(1, GROUPS)
        await console.request_restore(restore.id)
        await console.wait_for_restore(restore.id)
    transitions = [
        (e["console"], e["kind"], e["id"], e["from"], e["to"], e["trigger"])
        for e in events(logs, "transition")
    ]
    assert transitions == [
        ("default", "restore", 1, "PENDING", "REQUESTING", "request"),
        ("default", "restore", 1, "REQUESTING", "INITIALIZING", "receive"),
        ("default", "restore", 1, "INITIALIZING", "IN_PROGRESS", "begin"),
        ("default", "restore", 1, "IN_PROGRESS", "SUCCESS", "succeed"),
    ]
    assert all(e["log_level"] == "info" and "at_ms" in e for e in events(logs, "transition"))
    assert events(logs, "restore_created") == [
        {"event": "restore_created", "console": "default", "id": 1, "backup_id": 1,
         "log_level": "info"},
    ]  # fmt: skip


async def test_every_backup_transition_is_logged(console: Console) -> None:
    assert isinstance(console.clock, VirtualClock)
    await console.set_rule("backup", {"initializing": "1s", "in_progress": "1s"})
    with capture_logs() as logs:
        backup = await console.create_backup("CONFIG", "logged")
        await console.wait_for_backup(backup.id)
        await console.delete_backup(backup.id)
        await console.wait_for_backup(backup.id, None)
    steps = [(e["kind"], e["id"], e["from"], e["to"]) for e in events(logs, "transition")]
    assert steps == [
        ("backup", 4, None, "INITIALIZING"),  # creation has no source state
        ("backup", 4, "INITIALIZING", "IN_PROGRESS"),
        ("backup", 4, "IN_PROGRESS", "SUCCESS"),
        ("backup", 4, "SUCCESS", "DELETING"),
        ("backup", 4, "DELETING", "REMOVED"),
    ]


@pytest.mark.parametrize("code", [1014, 1015, 1016])
async def test_conflicts_are_logged_with_their_code(console: Console, code: int) -> None:
    await console.set_rule("restore", {"mode": "manual"})
    await console.set_rule("backup", {"mode": "manual"})
    restore = await console.create_restore(1, GROUPS)
    if code == 1014:
        await console.set_rebalancing(True)
    elif code == 1015:
        await console.create_backup("CONFIG", "busy")
    else:
        await console.start_external_restore()
    with capture_logs() as logs, pytest.raises(Conflict):
        await console.request_restore(restore.id)
    conflicts = events(logs, "conflict")
    assert len(conflicts) == 1
    assert conflicts[0]["code"] == code
    assert conflicts[0]["console"] == "default"
    assert conflicts[0]["endpoint"] == ["Ru"]


async def test_a_refused_operation_logs_no_transition(console: Console) -> None:
    await console.create_restore(1, GROUPS)
    with capture_logs() as logs, pytest.raises(Conflict):
        await console.create_restore(2, GROUPS)
    assert [e["event"] for e in logs] == ["conflict"]
    assert logs[0]["code"] == 1011


async def test_control_actions_are_logged(console: Console) -> None:
    with capture_logs() as logs:
        await console.set_rebalancing(True)
        await console.set_outage_mode(True)
        await console.set_rule("restore", {"mode": "manual"})
        restore = await console.create_restore(1, GROUPS)
        await console.set_rebalancing(False)
        await console.request_restore(restore.id)
        await console.set_job_rule("restore", restore.id, {"outcome": "FAILED"})
        await console.step("restore", restore.id)
        await console.backup_missing(2)
        await console.reset()
    control = [(e["event"], {k: v for k, v in e.items() if k not in ("event", "log_level")})
               for e in logs if e["event"] != "transition"]  # fmt: skip
    names = [name for name, _ in control]
    assert names == [
        "rebalancing_set", "outage_mode_set", "rule_set", "restore_created", "rebalancing_set",
        "job_rule_set", "job_stepped", "world_seeded", "console_reset",
    ]  # fmt: skip
    assert control[0] == ("rebalancing_set", {"console": "default", "on": True})
    assert control[1] == ("outage_mode_set", {"console": "default", "on": True})
    assert control[2] == (
        "rule_set",
        {"console": "default", "kind": "restore", "rule": {"mode": "manual"}},
    )
    assert control[5] == (
        "job_rule_set",
        {"console": "default", "kind": "restore", "id": 1, "rule": {"outcome": "FAILED"}},
    )
    assert control[7][1]["backups"] == 3
    missing = [e for e in events(logs, "transition") if e["kind"] == "backup"]
    assert [(e["id"], e["from"], e["to"]) for e in missing] == [(2, "SUCCESS", "MISSING")]


async def test_external_restore_and_added_backup_are_logged(console: Console) -> None:
    from tests.support.worlds import backup_record

    with capture_logs() as logs:
        await console.add_backup(backup_record(9))
        await console.start_external_restore()
        await console.finish_external_restore()
    assert [e["event"] for e in logs if e["event"] != "transition"] == [
        "backup_added", "external_restore_started", "external_restore_finished",
    ]  # fmt: skip
    steps = [(e["from"], e["to"], e["trigger"]) for e in events(logs, "transition")]
    assert steps == [(None, "IN_PROGRESS", "external"), ("IN_PROGRESS", "SUCCESS", "succeed")]
