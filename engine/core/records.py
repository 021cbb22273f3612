"""The records of the family and of the world they refer to, with their documented fields.

Each record's dataclass is its one declaration: the order of its fields is IBM's, their types
say how each is written, and `Column` metadata says which are documented and which change after
creation. From it are derived the field tuples (serialisation, `fields` validation, the OpenAPI
schemas), the JSON of `to_json`, and the store's columns, rows and updates
(`engine.store.rows`).
"""

from __future__ import annotations

import enum
import functools
import types
import typing
from collections.abc import Callable
from dataclasses import field, fields
from typing import Any

from engine.core.enums import (
    AppDeploymentLocation,
    BackupStatus,
    BackupType,
    RestoreGroup,
    RestoreStatus,
)
from engine.core.frozen import record
from engine.core.lifecycle import RESTORE
from engine.core.versions import V26, ApiVersion


class Kind(enum.Enum):
    """How a field's value is written: in JSON, and by the store."""

    INT = "int"
    TEXT = "text"
    BOOL = "bool"
    ENUM = "enum"  # a StrEnum, written as its value
    ENUMS = "enums"  # a tuple of StrEnum, written as a list of values


@record
class Column:
    """One field of a record, read from its declaration."""

    name: str
    kind: Kind
    nullable: bool
    #: the StrEnum of an ENUM or ENUMS field
    enum: type[enum.Enum] | None
    #: in the API's documented field list (`to_json`, `fields`, `filter`)
    documented: bool
    #: written again by the store's compare-and-set update (the others are fixed at creation)
    updatable: bool


#: Field metadata of the declarations (see `Column`); a field without metadata is documented
#: and fixed at creation.
UPDATABLE: dict[str, bool] = {"updatable": True}
UNDOCUMENTED: dict[str, bool] = {"documented": False}


def _kind(annotation: Any) -> tuple[Kind, bool, type[enum.Enum] | None]:
    args = typing.get_args(annotation)
    nullable = isinstance(annotation, types.UnionType) and type(None) in args
    if nullable:
        (annotation,) = (a for a in args if a is not type(None))
    if typing.get_origin(annotation) is tuple:
        return Kind.ENUMS, nullable, typing.get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return Kind.ENUM, nullable, annotation
    simple = {bool: Kind.BOOL, int: Kind.INT, str: Kind.TEXT}
    return simple[annotation], nullable, None


@functools.cache
def columns(record: type) -> tuple[Column, ...]:
    """The columns of a declared record, in its (IBM's) order."""
    hints = typing.get_type_hints(record)
    result = []
    for f in fields(record):
        kind, nullable, enum_type = _kind(hints[f.name])
        documented = f.metadata.get("documented", True)
        updatable = f.metadata.get("updatable", False)
        result.append(Column(f.name, kind, nullable, enum_type, documented, updatable))
    return tuple(result)


def json_encoder(record: type, names: tuple[str, ...]) -> Callable[[Any], dict[str, Any]]:
    """`record -> {name: JSON value}` for `names`, compiled once from the declaration: as fast
    as a hand-written `to_json` (the polling path), without restating the fields."""
    by_name = {c.name: c for c in columns(record)}
    parts = []
    for name in names:
        column, value = by_name[name], f"r.{name}"
        if column.kind is Kind.ENUM:
            value = (
                f"{value}.value"
                if not column.nullable
                else f"(None if {value} is None else {value}.value)"
            )
        elif column.kind is Kind.ENUMS:
            value = f"[g.value for g in {value}]"
        parts.append(f"{name!r}: {value}")
    source = "lambda r: {" + ", ".join(parts) + "}"
    encoder: Callable[[Any], dict[str, Any]] = eval(source, {})  # the declaration's names only
    return encoder


def initiator(name: str, *, service: bool) -> str:
    """What `initiated_by` shows for a caller: a user (Basic) by its user name; an authorized
    service (a SEC token) by its label as consoles were observed to show it, `API_user: <label>`
    (docs/decisions.md, "initiated_by")."""
    return f"API_user: {name}" if service else name


@record
class Restore:
    """A restore record (section 3.1)."""

    id: int
    initiated_by: str
    host_id: int
    time_initiated: int | None = field(metadata=UPDATABLE)
    time_completed: int | None = field(metadata=UPDATABLE)
    status: RestoreStatus = field(metadata=UPDATABLE)
    is_cross_deployment_restore: bool = field(metadata=UPDATABLE)
    backup_id: int | None = field(metadata=UPDATABLE)
    backup_name: str
    backup_version: str
    backup_type: BackupType
    backup_filename: str
    groups: tuple[RestoreGroup, ...]

    def reached(self, status: RestoreStatus, now_ms: int, *, initiated: bool = False) -> Restore:
        """The record once the engine moves it to `status` at `now_ms`: INITIALIZING sets
        `time_initiated` (so does `initiated`: the record went through INITIALIZING on its way
        to `status` at that instant, in a chain of phases that take no time); a final status
        sets `time_completed` and nulls `backup_id` (section 3.1). Built field by field:
        `dataclasses.replace` costs twice as much, on every transition."""
        final = status in RESTORE.final
        return Restore(
            self.id, self.initiated_by, self.host_id,
            now_ms if initiated or status is RestoreStatus.INITIALIZING else self.time_initiated,
            now_ms if final else self.time_completed,
            status, self.is_cross_deployment_restore,
            None if final else self.backup_id,
            self.backup_name, self.backup_version, self.backup_type, self.backup_filename,
            self.groups,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return _RESTORE_JSON(self)


#: The documented restore fields, in the order IBM's samples print them.
RESTORE_FIELDS: tuple[str, ...] = tuple(c.name for c in columns(Restore) if c.documented)
#: The fields the store's compare-and-set update writes.
RESTORE_UPDATABLE: tuple[str, ...] = tuple(c.name for c in columns(Restore) if c.updatable)
#: Sortable restore fields, in the order the 1018 text of GET /restores lists them.
RESTORE_SORTABLE: tuple[str, ...] = (
    "id", "initiated_by", "time_initiated", "time_completed", "is_cross_deployment_restore",
    "backup_name", "backup_type", "backup_version", "backup_filename",
)  # fmt: skip
_RESTORE_JSON = json_encoder(Restore, RESTORE_FIELDS)


@record
class Backup:
    """A backup record (section 2.1); `build_version` exists only in IBM's samples."""

    id: int
    configuration_id: int
    host_id: int
    name: str
    description: str | None = field(metadata=UPDATABLE)
    type: BackupType
    version: str
    time_initiated: int | None = field(metadata=UPDATABLE)
    time_completed: int | None = field(metadata=UPDATABLE)
    initiated_by: str
    status: BackupStatus = field(metadata=UPDATABLE)
    size_on_disk: int = field(metadata=UPDATABLE)
    content_file_path: str
    is_valid: bool = field(metadata=UPDATABLE)
    is_version_compatible: bool = field(metadata=UPDATABLE)
    #: documented on the list endpoint from 26.0 only (`backup_fields`)
    app_deployment_location: AppDeploymentLocation = field(metadata=UNDOCUMENTED)
    #: in IBM's samples only (`sample_keys`)
    build_version: str = field(default="", metadata=UNDOCUMENTED)

    def to_json(
        self, version: ApiVersion | None = None, *, listing: bool = False, sample_keys: bool = False
    ) -> dict[str, Any]:
        body = _BACKUP_JSON(self)
        if listing and (version is None or version >= V26):
            body["app_deployment_location"] = self.app_deployment_location.value
        if sample_keys:
            body["intiated_by"] = self.initiated_by
            body["build_version"] = self.build_version
        return body


#: The documented backup fields (section 2.1).
BACKUP_FIELDS: tuple[str, ...] = tuple(c.name for c in columns(Backup) if c.documented)
BACKUP_LIST_EXTRA_26: tuple[str, ...] = ("app_deployment_location",)
#: The keys of IBM's response samples that the field list does not document; emitted only with
#: the `sample_keys` compatibility switch.
BACKUP_SAMPLE_KEYS: tuple[str, ...] = ("intiated_by", "build_version")
#: The fields the store's compare-and-set update writes.
BACKUP_UPDATABLE: tuple[str, ...] = tuple(c.name for c in columns(Backup) if c.updatable)
#: Sortable backup fields, in the order the 1018 text of GET /backups lists them.
BACKUP_SORTABLE: tuple[str, ...] = (
    "id", "host_id", "name", "description", "type", "version", "time_initiated",
    "time_completed", "initiated_by", "status", "size_on_disk", "content_file_path",
)  # fmt: skip
_BACKUP_JSON = json_encoder(Backup, BACKUP_FIELDS)


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


@record
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


@record
class DataBackupHost:
    """A managed host's data backup settings in a backup configuration."""

    host_id: int
    event_data_backup_enabled: bool = True
    flow_data_backup_enabled: bool = True


@record
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


@record
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
