"""Worlds and records written as mappings (scenario files, control requests, console creation).

Each input is declared once with the schema vocabulary (`engine.control.schema`): the keys and
types of hosts and backups come from the record classes themselves, with bounds where a record
field feeds the store (ids, instants). Every error names the key path and the value, so a
scenario author can fix the line at once.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from engine.control.schema import (
    MAX_INSTANT_MS,
    MAX_RECORD_ID,
    Boolean,
    ControlError,
    Field,
    Integer,
    ListOf,
    Nullable,
    Obj,
    OneOf,
    Text,
    child,
)
from engine.core.enums import AppDeploymentLocation, BackupStatus, BackupType
from engine.core.lifecycle import BACKUP as BACKUP_LIFECYCLE
from engine.core.records import (
    COMPONENTS,
    Backup,
    BackupConfiguration,
    DataBackupHost,
    Host,
    World,
    demo_world,
)
from engine.core.validation import LONG_MAX
from engine.runtime.clock import VIRTUAL_EPOCH_MS

#: Seeded backups without times started one minute apart by id, within the day before the
#: virtual epoch.
_MINUTES_A_DAY = 1440


def _of_type(annotation: Any) -> Field:
    """The field of a record attribute's annotation (int, str, bool, an enum, `X | None`)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(inner) == 1:
            return Nullable(_of_type(inner[0]))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return OneOf(tuple(str(m.value) for m in annotation))
    if annotation is bool:
        return Boolean()
    if annotation is int:
        return Integer()
    if annotation is str:
        return Text()
    raise TypeError(f"no control field for {annotation!r}: declare it")


def record_fields(cls: type, **declared: Field) -> dict[str, Field]:
    """The fields of a record class, in its order: typed by its annotations, or as declared."""
    hints = typing.get_type_hints(cls)
    return {
        f.name: declared[f.name] if f.name in declared else _of_type(hints[f.name])
        for f in dataclasses.fields(cls)
    }


INSTANT = Integer(0, MAX_INSTANT_MS, description="Milliseconds since the epoch.")
BACKUP_ID = Integer(1, MAX_RECORD_ID, description="A backup record id.")


# --- hosts -----------------------------------------------------------------------------------


def _host(data: dict[str, Any], path: str) -> Host:
    host_id = data["id"]
    values = {**data, "components": tuple(data.get("components", ()))}
    values.setdefault("hostname", f"host-{host_id}")
    return Host(**values)


HOST = Obj(
    record_fields(
        Host,
        components=ListOf(OneOf(COMPONENTS), max_items=len(COMPONENTS)),
    ),
    required=("id",),
    build=_host,
    description="A managed host of the deployment.",
)


# --- backups ---------------------------------------------------------------------------------

BACKUP = Obj(
    record_fields(
        Backup,
        id=BACKUP_ID,
        time_initiated=Nullable(INSTANT),
        time_completed=Nullable(INSTANT),
        size_on_disk=Integer(0, LONG_MAX),
    ),
    required=("id", "name"),
    description="A backup record in any status; unset keys get a finished backup's values.",
)


def backup_record(data: Mapping[str, Any], default_host: int) -> Backup:
    """A backup record from checked values (`BACKUP.read`); the rest as a seeded backup has it."""
    backup_id: int = data["id"]
    name: str = data["name"]
    kind = BackupType(data.get("type", BackupType.CONFIG.value))
    status = BackupStatus(data.get("status", BackupStatus.SUCCESS.value))
    finished = status in BACKUP_LIFECYCLE.settled
    started = VIRTUAL_EPOCH_MS - 86_400_000 + (backup_id % _MINUTES_A_DAY) * 60_000
    host_id = data.get("host_id", default_host)
    location = (
        AppDeploymentLocation.CONSOLE if kind is BackupType.CONFIG else AppDeploymentLocation.NA
    )
    return Backup(
        id=backup_id,
        configuration_id=data.get("configuration_id", 1),
        host_id=host_id,
        name=name,
        description=data.get("description"),
        type=kind,
        version=data.get("version", "7.5.0"),
        time_initiated=data.get("time_initiated", started),
        time_completed=data.get("time_completed", started + 600_000 if finished else None),
        initiated_by=data.get("initiated_by", "admin"),
        status=status,
        size_on_disk=data.get("size_on_disk", 52_428_800 if finished else 0),
        content_file_path=data.get(
            "content_file_path", f"/store/backup/backup.{name}.{host_id}.{kind.value.lower()}.tgz"
        ),
        is_valid=data.get("is_valid", True),
        is_version_compatible=data.get("is_version_compatible", True),
        app_deployment_location=AppDeploymentLocation(
            data.get("app_deployment_location", location.value)
        ),
        build_version=data.get("build_version", "7.5.0.20260101"),
    )


def read_backup(value: Any, path: str = "backup", default_host: int = 53) -> Backup:
    return backup_record(BACKUP.read(value, path), default_host)


# --- configurations --------------------------------------------------------------------------

CONFIGURATION = Obj(
    {
        "configuration_id": Integer(),
        "backup_directory_path": Text(),
        "data_backup_hosts": ListOf(Integer(), description="Host ids with data backups."),
        "undeployed_changes": Boolean(description="Staged changes not deployed (409/1011)."),
        "configuration_backup_enabled": Boolean(),
    },
    description="A deployed scheduled-backup configuration.",
)


def configuration_record(data: Mapping[str, Any], hosts: tuple[Host, ...]) -> BackupConfiguration:
    data_hosts = data.get("data_backup_hosts", [h.id for h in hosts if h.ariel_data])
    return BackupConfiguration(
        configuration_id=data.get("configuration_id", 1),
        backup_directory_path=data.get("backup_directory_path", "/store/backup"),
        data_backup_host_configuration=tuple(DataBackupHost(h) for h in data_hosts),
        configuration_backup_enabled=data.get("configuration_backup_enabled", True),
        undeployed_changes=data.get("undeployed_changes", False),
    )


# --- the world -------------------------------------------------------------------------------


def _unique(items: Sequence[Mapping[str, Any]], key: str, path: str, what: str) -> None:
    seen: set[Any] = set()
    for i, item in enumerate(items):
        value = item.get(key)
        if value is not None and value in seen:
            raise ControlError(child(f"{path}[{i}]", key), f"two {what} have the {key} {value!r}")
        seen.add(value)


def _world(data: dict[str, Any], path: str) -> World:
    demo = demo_world()
    hosts: tuple[Host, ...] = tuple(data.get("hosts", demo.hosts))
    _unique([{"id": h.id} for h in hosts], "id", child(path, "hosts"), "hosts")
    console = next((h.id for h in hosts if h.console), hosts[0].id if hosts else 53)
    if "backups" in data:
        raw: list[dict[str, Any]] = data["backups"]
        _unique(raw, "id", child(path, "backups"), "backups")
        _unique(raw, "name", child(path, "backups"), "backups")
        backups = tuple(backup_record(b, console) for b in raw)
    else:
        backups = demo.backups
    raw_configurations: list[dict[str, Any]] = data.get("configurations", [{}])
    _unique(
        [{"configuration_id": c.get("configuration_id", 1)} for c in raw_configurations],
        "configuration_id",
        child(path, "configurations"),
        "configurations",
    )
    return World(
        hosts=hosts,
        configurations=tuple(configuration_record(c, hosts) for c in raw_configurations),
        backups=backups,
        rebalancing=data.get("rebalancing", False),
        outage_during_restore=data.get("outage_during_restore", False),
    )


WORLD = Obj(
    {
        "hosts": ListOf(HOST),
        "backups": ListOf(BACKUP),
        "configurations": ListOf(CONFIGURATION),
        "rebalancing": Boolean(),
        "outage_during_restore": Boolean(),
    },
    build=_world,
    description="A console's world; the parts not given come from the demo console.",
)
WORLD_KEYS = tuple(WORLD.fields)


def read_world(value: Any, path: str = "world") -> World:
    """A world as the scenario format writes it; missing parts come from the demo console."""
    if value is None:
        return demo_world()
    world: World = WORLD.read(value, path)
    return world
