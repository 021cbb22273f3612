"""The records of the family and of the world they refer to, with their documented fields.

The field tuples are the one place the JSON shape of each record is written: serialisation,
`fields` validation, sortable lists (1018) and the OpenAPI schemas read them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from engine.core.enums import (
    AppDeploymentLocation,
    BackupStatus,
    BackupType,
    RestoreGroup,
    RestoreStatus,
)
from engine.core.lifecycle import RESTORE
from engine.core.versions import ApiVersion

#: The documented restore fields, in the order IBM's samples print them.
RESTORE_FIELDS: tuple[str, ...] = (
    "id", "initiated_by", "host_id", "time_initiated", "time_completed", "status",
    "is_cross_deployment_restore", "backup_id", "backup_name", "backup_version", "backup_type",
    "backup_filename", "groups",
)  # fmt: skip
#: Sortable restore fields (the 1018 text of GET /restores).
RESTORE_SORTABLE: tuple[str, ...] = (
    "id", "initiated_by", "time_initiated", "time_completed", "is_cross_deployment_restore",
    "backup_name", "backup_type", "backup_version", "backup_filename",
)  # fmt: skip

#: The documented backup fields (section 2.1); `app_deployment_location` is added on the list
#: endpoint from 26.0.
BACKUP_FIELDS: tuple[str, ...] = (
    "id", "configuration_id", "host_id", "name", "description", "type", "version",
    "time_initiated", "time_completed", "initiated_by", "status", "size_on_disk",
    "content_file_path", "is_valid", "is_version_compatible",
)  # fmt: skip
BACKUP_LIST_EXTRA_26: tuple[str, ...] = ("app_deployment_location",)
#: The keys of IBM's response samples that the field list does not document; emitted only with
#: the `sample_keys` compatibility switch.
BACKUP_SAMPLE_KEYS: tuple[str, ...] = ("intiated_by", "build_version")
#: Sortable backup fields (the 1018 text of GET /backups).
BACKUP_SORTABLE: tuple[str, ...] = (
    "id", "host_id", "name", "description", "type", "version", "time_initiated",
    "time_completed", "initiated_by", "status", "size_on_disk", "content_file_path",
)  # fmt: skip

V26 = ApiVersion(26, 0)


def initiator(name: str, *, service: bool) -> str:
    """What `initiated_by` shows for a caller: a user (Basic) by its user name; an authorized
    service (a SEC token) by its label as consoles were observed to show it, `API_user: <label>`
    (docs/decisions.md, "initiated_by")."""
    return f"API_user: {name}" if service else name


@dataclass(frozen=True, slots=True)
class Restore:
    """A restore record (section 3.1)."""

    id: int
    initiated_by: str
    host_id: int
    time_initiated: int | None
    time_completed: int | None
    status: RestoreStatus
    is_cross_deployment_restore: bool
    backup_id: int | None
    backup_name: str
    backup_version: str
    backup_type: BackupType
    backup_filename: str
    groups: tuple[RestoreGroup, ...]

    def reached(self, status: RestoreStatus, now_ms: int) -> Restore:
        """The record once the engine moves it to `status` at `now_ms`: INITIALIZING sets
        `time_initiated`; a final status sets `time_completed` and nulls `backup_id` (section
        3.1). Built field by field: `dataclasses.replace` costs twice as much, on every
        transition."""
        final = status in RESTORE.final
        return Restore(
            self.id, self.initiated_by, self.host_id,
            now_ms if status is RestoreStatus.INITIALIZING else self.time_initiated,
            now_ms if final else self.time_completed,
            status, self.is_cross_deployment_restore,
            None if final else self.backup_id,
            self.backup_name, self.backup_version, self.backup_type, self.backup_filename,
            self.groups,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "initiated_by": self.initiated_by,
            "host_id": self.host_id,
            "time_initiated": self.time_initiated,
            "time_completed": self.time_completed,
            "status": self.status.value,
            "is_cross_deployment_restore": self.is_cross_deployment_restore,
            "backup_id": self.backup_id,
            "backup_name": self.backup_name,
            "backup_version": self.backup_version,
            "backup_type": self.backup_type.value,
            "backup_filename": self.backup_filename,
            "groups": [g.value for g in self.groups],
        }


@dataclass(frozen=True, slots=True)
class Backup:
    """A backup record (section 2.1); `build_version` exists only in IBM's samples."""

    id: int
    configuration_id: int
    host_id: int
    name: str
    description: str | None
    type: BackupType
    version: str
    time_initiated: int | None
    time_completed: int | None
    initiated_by: str
    status: BackupStatus
    size_on_disk: int
    content_file_path: str
    is_valid: bool
    is_version_compatible: bool
    app_deployment_location: AppDeploymentLocation
    build_version: str = ""

    def to_json(
        self, version: ApiVersion | None = None, *, listing: bool = False, sample_keys: bool = False
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "configuration_id": self.configuration_id,
            "host_id": self.host_id,
            "name": self.name,
            "description": self.description,
            "type": self.type.value,
            "version": self.version,
            "time_initiated": self.time_initiated,
            "time_completed": self.time_completed,
            "initiated_by": self.initiated_by,
            "status": self.status.value,
            "size_on_disk": self.size_on_disk,
            "content_file_path": self.content_file_path,
            "is_valid": self.is_valid,
            "is_version_compatible": self.is_version_compatible,
        }
        if listing and (version is None or version >= V26):
            body["app_deployment_location"] = self.app_deployment_location.value
        if sample_keys:
            body["intiated_by"] = self.initiated_by
            body["build_version"] = self.build_version
        return body


def backup_fields(
    version: ApiVersion | None, *, listing: bool, sample_keys: bool
) -> tuple[str, ...]:
    """The keys a backup has in a response of that version and endpoint."""
    names = BACKUP_FIELDS
    if listing and (version is None or version >= V26):
        names = names + BACKUP_LIST_EXTRA_26
    if sample_keys:
        names = names + BACKUP_SAMPLE_KEYS
    return names


#: Component names a host can carry (the scenario format's spelling).
COMPONENTS: tuple[str, ...] = ("console", "eventcollector", "eventprocessor", "qflow", "dataNode")


@dataclass(frozen=True, slots=True)
class Host:
    """A managed host of the deployment, as the validations see it."""

    id: int
    hostname: str
    private_ip: str = "127.0.0.1"
    console: bool = False
    active: bool = True
    components: tuple[str, ...] = ()
    ariel_data: bool = False
    version: str = "7.5.0"

    @property
    def appliance(self) -> tuple[str, str]:
        """The appliance (type id, type) the host's role suggests: the simulator's choice, as
        IBM documents only `{"id": String, "type": String}` (docs/decisions.md, "Hosts")."""
        if self.console:
            return APPLIANCES["console"]
        for component in ("dataNode", "eventprocessor", "eventcollector", "qflow"):
            if component in self.components:
                return APPLIANCES[component]
        return APPLIANCES["eventprocessor"]

    def to_json(self) -> dict[str, Any]:
        """The host as `/api/config/deployment/hosts` shows it: IBM's documented fields, in its
        order (26.0--config-deployment-hosts-GET). Being the console and storing Ariel data
        are facts the validations use, not fields of the API; what the simulator does not
        model (rates, memory, servers, licence) is null; there is no NAT, so the public IP is
        the private one."""
        appliance_id, appliance_type = self.appliance
        return {
            "id": self.id,
            "hostname": self.hostname,
            "private_ip": self.private_ip,
            "public_ip": self.private_ip,
            "appliance": {"id": appliance_id, "type": appliance_type},
            "version": self.version,
            "status": "Active" if self.active else "New",
            "email_server_id": None,
            "eps_rate_hardware_limit": None,
            "eps_allocation": None,
            "average_eps": None,
            "peak_eps": None,
            "proxy_server_id": None,
            "fpm_rate_hardware_limit": None,
            "fpm_allocation": None,
            "average_fpm": None,
            "peak_fpm": None,
            "primary_server_id": None,
            "secondary_server_id": None,
            "license_serial_number": None,
            "components": list(self.components),
            "compression_enabled": False,
            "encryption_enabled": False,
            "cpus": None,
            "total_memory": None,
            "app_memory": None,
        }


#: Appliance (type id, type) by host role, for `/api/config/deployment/hosts`: QRadar's
#: software appliance types (the simulator's choice, docs/decisions.md "Hosts").
APPLIANCES: dict[str, tuple[str, str]] = {
    "console": ("3199", "Console"),
    "eventprocessor": ("1699", "Event Processor"),
    "eventcollector": ("1599", "Event Collector"),
    "qflow": ("1299", "QFlow Collector"),
    "dataNode": ("1400", "Data Node"),
}


@dataclass(frozen=True, slots=True)
class DataBackupHost:
    host_id: int
    event_data_backup_enabled: bool = True
    flow_data_backup_enabled: bool = True


@dataclass(frozen=True, slots=True)
class BackupConfiguration:
    """A deployed scheduled-backup configuration (section 2.7).

    `undeployed_changes` is the simulator's switch for 409/1011 on POST /backups: staged changes
    that have not been deployed.
    """

    configuration_id: int = 1
    backup_directory_path: str = "/store/backup"
    backup_retention_period: int = 7 * 86_400_000
    data_backup_host_configuration: tuple[DataBackupHost, ...] = ()
    configuration_backup_enabled: bool = True
    data_backup_priority: str = "MEDIUM"
    configuration_backup_priority: str = "MEDIUM"
    data_backup_time_limit: int = 6 * 3_600_000
    configuration_backup_time_limit: int = 3_600_000
    undeployed_changes: bool = False

    def data_backup_enabled(self, host_id: int) -> bool:
        return any(
            h.host_id == host_id and (h.event_data_backup_enabled or h.flow_data_backup_enabled)
            for h in self.data_backup_host_configuration
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "configuration_id": self.configuration_id,
            "backup_directory_path": self.backup_directory_path,
            "backup_retention_period": self.backup_retention_period,
            "data_backup_host_configuration": [
                {
                    "host_id": h.host_id,
                    "event_data_backup_enabled": h.event_data_backup_enabled,
                    "flow_data_backup_enabled": h.flow_data_backup_enabled,
                }
                for h in self.data_backup_host_configuration
            ],
            "configuration_backup_enabled": self.configuration_backup_enabled,
            "data_backup_priority": self.data_backup_priority,
            "configuration_backup_priority": self.configuration_backup_priority,
            "data_backup_time_limit": self.data_backup_time_limit,
            "configuration_backup_time_limit": self.configuration_backup_time_limit,
        }


@dataclass(frozen=True, slots=True)
class World:
    """What a console holds before any request: its deployment, configurations and backups."""

    hosts: tuple[Host, ...] = ()
    configurations: tuple[BackupConfiguration, ...] = ()
    backups: tuple[Backup, ...] = ()
    rebalancing: bool = False
    outage_during_restore: bool = False
    qradar_version: str = "7.5.0"

    @property
    def console_host(self) -> Host | None:
        return next((h for h in self.hosts if h.console), None)


@functools.cache
def demo_world() -> World:
    """The demo console: a console host, a data node, and SUCCESS CONFIG backups to restore.
    One immutable instance, shared by every console that starts from it."""
    console = Host(
        53, "qradar-console", "10.0.0.53", console=True, active=True,
        components=("console", "eventcollector", "eventprocessor", "qflow"), ariel_data=True,
    )  # fmt: skip
    processor = Host(
        104, "qradar-ep1", "10.0.0.104", console=False, active=True,
        components=("eventcollector", "eventprocessor"), ariel_data=True,
    )  # fmt: skip
    configuration = BackupConfiguration(
        data_backup_host_configuration=(DataBackupHost(53), DataBackupHost(104)),
    )
    day = 86_400_000
    base = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    backups = tuple(
        Backup(
            id=i, configuration_id=1, host_id=53, name=f"nightly_{i}", description="nightly backup",
            type=BackupType.CONFIG, version="7.5.0", time_initiated=base + i * day,
            time_completed=base + i * day + 600_000, initiated_by="admin",
            status=BackupStatus.SUCCESS, size_on_disk=52_428_800 + i,
            content_file_path=f"/store/backup/backup.nightly_{i}.tgz", is_valid=True,
            is_version_compatible=True, app_deployment_location=AppDeploymentLocation.CONSOLE,
            build_version="7.5.0.20240101",
        )
        for i in (1, 2, 3)
    )  # fmt: skip
    return World(hosts=(console, processor), configurations=(configuration,), backups=backups)
