"""Records: what a restore record looks like after each transition."""

from __future__ import annotations

import json
from dataclasses import fields, replace

import pytest

from engine.core.enums import BackupType, RestoreGroup, RestoreStatus
from engine.core.lifecycle import RESTORE
from engine.core.records import (
    BACKUP_FIELDS,
    RESTORE_FIELDS,
    RESTORE_UPDATABLE,
    Backup,
    Kind,
    Restore,
    columns,
    demo_world,
)

PENDING = Restore(
    id=7, initiated_by="operator", host_id=104, time_initiated=None, time_completed=None,
    status=RestoreStatus.PENDING, is_cross_deployment_restore=True, backup_id=3,
    backup_name="nightly_3", backup_version="7.5.0", backup_type=BackupType.CONFIG,
    backup_filename="backup.nightly_3.tgz",
    groups=(RestoreGroup.USERS_CONFIG, RestoreGroup.LICENSE_CONFIG),
)  # fmt: skip
NOW = 1_767_225_600_123


@pytest.mark.parametrize("status", [RestoreStatus(s) for s in RESTORE.states])
def test_reached_changes_only_what_section_3_1_says(status: RestoreStatus) -> None:
    started = replace(PENDING, time_initiated=NOW - 5_000)
    final = status.value in RESTORE.final
    expected = replace(
        started,
        status=status,
        time_initiated=NOW if status is RestoreStatus.INITIALIZING else started.time_initiated,
        time_completed=NOW if final else None,
        backup_id=None if final else started.backup_id,
    )
    assert started.reached(status, NOW) == expected


def test_reached_carries_every_field() -> None:
    moved = PENDING.reached(RestoreStatus.REQUESTING, NOW)
    for field in fields(Restore):
        if field.name != "status":
            assert getattr(moved, field.name) == getattr(PENDING, field.name), field.name


def test_the_declarations_give_the_documented_fields_and_what_may_change() -> None:
    assert [c.name for c in columns(Restore)] == list(RESTORE_FIELDS)
    assert [c.name for c in columns(Backup)][: len(BACKUP_FIELDS)] == list(BACKUP_FIELDS)
    assert {c.name for c in columns(Backup) if not c.documented} == {
        "app_deployment_location", "build_version",
    }  # fmt: skip
    kinds = {c.name: (c.kind, c.nullable) for c in columns(Restore)}
    assert kinds["groups"] == (Kind.ENUMS, False)
    assert kinds["backup_id"] == (Kind.INT, True)
    assert kinds["status"] == (Kind.ENUM, False)
    assert "status" in RESTORE_UPDATABLE
    assert "backup_name" not in RESTORE_UPDATABLE  # fixed at creation


def test_to_json_writes_the_declared_fields_in_order_as_json_values() -> None:
    backup = demo_world().backups[0]
    body = backup.to_json()
    assert list(body) == list(BACKUP_FIELDS)
    assert json.loads(json.dumps(body)) == body
    assert body["type"] == "CONFIG"
    assert type(body["type"]) is str
    restore = Restore(1, "admin", 53, None, None, RestoreStatus.PENDING, True, None, "n",
                      "7.5.0", BackupType.CONFIG, "f", (RestoreGroup.ASSETS_DATA,))  # fmt: skip
    assert restore.to_json()["groups"] == ["ASSETS_DATA"]
    assert restore.to_json()["is_cross_deployment_restore"] is True
