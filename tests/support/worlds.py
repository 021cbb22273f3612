"""The worlds the tests start from: the demo world plus hosts that provoke the host-related
validation codes (an inactive host, a host without Ariel data, an unconfigured data host, a host
without an event collector), and seeded backups."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from engine.core.enums import AppDeploymentLocation, BackupStatus, BackupType
from engine.core.records import Backup, Host, World, demo_world

#: Hosts added to the demo world (ids chosen far from the demo's 53 and 104).
INACTIVE_HOST = 201  # not active: 422/1010 on POST /backups
NO_ARIEL_HOST = 202  # stores no Ariel data: 422/1013 for DATA backups; no qflow, no collector
UNCONFIGURED_HOST = 203  # stores Ariel data but has no data backup configuration: 422/1014

#: Groups a restore accepts with no group rule involved.
GROUPS = ["CUSTOM_RULES_CONFIG"]


def make_world(**changes: Any) -> World:
    """The demo world plus hosts that provoke the host-related validation codes."""
    base = demo_world()
    extra = (
        Host(INACTIVE_HOST, "qradar-down", "10.0.0.201", active=False,
             components=("eventprocessor",), ariel_data=True),
        Host(NO_ARIEL_HOST, "qradar-dn", "10.0.0.202", components=("dataNode",)),
        Host(UNCONFIGURED_HOST, "qradar-ep2", "10.0.0.203",
             components=("eventcollector", "eventprocessor"), ariel_data=True),
    )  # fmt: skip
    return replace(base, hosts=base.hosts + extra, **changes)


def backup_record(id: int, **changes: Any) -> Backup:
    """A finished CONFIG backup of the console host; override any field."""
    values: dict[str, Any] = {
        "id": id, "configuration_id": 1, "host_id": 53, "name": f"seeded_{id}",
        "description": None, "type": BackupType.CONFIG, "version": "7.5.0",
        "time_initiated": 1_767_225_600_000, "time_completed": 1_767_225_660_000,
        "initiated_by": "admin", "status": BackupStatus.SUCCESS, "size_on_disk": 1024,
        "content_file_path": f"/store/backup/backup.seeded_{id}.tgz", "is_valid": True,
        "is_version_compatible": True, "app_deployment_location": AppDeploymentLocation.CONSOLE,
    }  # fmt: skip
    values.update(changes)
    return Backup(**values)
