"""Crash safety: a process killed (SIGKILL) mid-restore loses nothing it acknowledged.

The child acknowledges five backups and a restore, requests the restore and reports once it is
IN_PROGRESS; the test then kills it. A new simulator on the same file finds every acknowledged
record, and the restore in flight is resumed (and finishes) or failed, by the stated policy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.core.enums import BackupStatus, RestoreStatus
from engine.simulator import Settings, Simulator

from .children import Child


def crash(tmp_path: Path) -> tuple[str, list[dict[str, Any]], int]:
    """Run the child until its restore is IN_PROGRESS, then SIGKILL it."""
    db = str(tmp_path / "crash.db")
    child = Child("crash_worker.py", db, log=tmp_path / "child.log")
    acked: list[dict[str, Any]] = []
    try:
        while True:
            line = child.read()
            if "in_progress" in line:
                restore_id = int(line["in_progress"])
                break
            acked.append(line)
        child.kill()
    finally:
        child.close()
    assert Path(db + "-wal").exists()  # killed with its write-ahead log in place
    return db, acked, restore_id


@pytest.mark.parametrize("policy", ["resume", "fail"])
async def test_restart_after_sigkill(tmp_path: Path, policy: str) -> None:
    db, acked, restore_id = crash(tmp_path)
    backups = {line["backup"]: line["name"] for line in acked if "backup" in line}
    assert len(backups) == 5
    assert [line["restore"] for line in acked if "restore" in line] == [restore_id]

    settings = Settings(db=db, clock="real", recovery=policy, scan_interval_s=0.05)  # type: ignore[arg-type]
    async with Simulator(settings) as sim:
        console = sim.console()
        # every acknowledged create is there
        for bid, name in backups.items():
            stored = await console.get_backup(bid)
            assert stored.name == name
            assert stored.status == BackupStatus.SUCCESS
        restore = await console.get_restore(restore_id)
        assert restore.time_initiated is not None
        if policy == "fail":
            assert restore.status == RestoreStatus.FAILED
            assert restore.time_completed is not None
            assert restore.backup_id is None
        else:
            assert restore.status == RestoreStatus.IN_PROGRESS  # resumed where it was
            assert restore.time_completed is None
            # shorten the hour-long phase: it is overdue at once and ends on the next pass
            await console.set_job_rule("restore", restore_id, {"in_progress": "100ms"})
            done = await console.wait_for_restore(restore_id, within_s=10)
            assert done.status == RestoreStatus.SUCCESS
            assert done.time_completed is not None
            assert done.backup_id is None
        # the gate is free again: a new restore can run
        fresh = await console.create_restore(2, ["CUSTOM_RULES_CONFIG"])
        assert (await console.request_restore(fresh.id)).status == RestoreStatus.REQUESTING
