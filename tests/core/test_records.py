"""Records: what a restore record looks like after each transition."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest

from engine.core.enums import BackupType, RestoreGroup, RestoreStatus
from engine.core.lifecycle import RESTORE
from engine.core.records import Restore

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
