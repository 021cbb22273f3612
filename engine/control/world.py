"""Reading worlds and records written as mappings (scenario files, control requests).

Every error names the key and the value, so a scenario author can fix the line at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from engine.core.enums import AppDeploymentLocation, BackupStatus, BackupType
from engine.core.records import (
    COMPONENTS,
    Backup,
    BackupConfiguration,
    DataBackupHost,
    Host,
    World,
    demo_world,
)
from engine.runtime.clock import VIRTUAL_EPOCH_MS

T = TypeVar("T")


class WorldError(ValueError):
    """A world that cannot be read; `path` is the key path (e.g. `world.hosts[0].id`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise WorldError(path, f"expected a mapping, got {type(value).__name__}")
    return value


def _keys(value: Mapping[str, Any], path: str, allowed: Sequence[str]) -> None:
    for key in value:
        if key not in allowed:
            raise WorldError(f"{path}.{key}", f"unknown key (allowed: {', '.join(allowed)})")


def _int(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise WorldError(path, f"expected an integer, got {value!r}")
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise WorldError(path, f"expected true or false, got {value!r}")
    return value


def _str(value: Any, path: str) -> str:
    if isinstance(value, bool) or value is None:
        raise WorldError(path, f"expected a string, got {value!r}")
    return str(value)


_HOST_KEYS = tuple(f.name for f in dataclasses.fields(Host))


def read_host(value: Any, path: str = "host") -> Host:
    data = _mapping(value, path)
    _keys(data, path, _HOST_KEYS)
    if "id" not in data:
        raise WorldError(f"{path}.id", "required")
    components = data.get("components", [])
    if not isinstance(components, list):
        raise WorldError(f"{path}.components", "expected a list")
    for i, c in enumerate(components):
        if c not in COMPONENTS:
            raise WorldError(
                f"{path}.components[{i}]", f"{c!r} is not one of {', '.join(COMPONENTS)}"
            )
    host_id = _int(data["id"], f"{path}.id")
    return Host(
        id=host_id,
        hostname=_str(data.get("hostname", f"host-{host_id}"), f"{path}.hostname"),
        private_ip=_str(data.get("private_ip", "127.0.0.1"), f"{path}.private_ip"),
        console=_bool(data.get("console", False), f"{path}.console"),
        active=_bool(data.get("active", True), f"{path}.active"),
        components=tuple(components),
        ariel_data=_bool(data.get("ariel_data", False), f"{path}.ariel_data"),
        version=_str(data.get("version", "7.5.0"), f"{path}.version"),
    )


_BACKUP_KEYS = tuple(f.name for f in dataclasses.fields(Backup))


def read_backup(value: Any, path: str = "backup", default_host: int = 53) -> Backup:
    data = _mapping(value, path)
    _keys(data, path, _BACKUP_KEYS)
    for key in ("id", "name"):
        if key not in data:
            raise WorldError(f"{path}.{key}", "required")
    try:
        kind = BackupType(data.get("type", "CONFIG"))
    except ValueError:
        raise WorldError(f"{path}.type", f"{data.get('type')!r} is not CONFIG or DATA") from None
    try:
        status = BackupStatus(data.get("status", "SUCCESS"))
    except ValueError:
        allowed = ", ".join(s.value for s in BackupStatus)
        raise WorldError(
            f"{path}.status", f"{data.get('status')!r} is not one of {allowed}"
        ) from None
    backup_id = _int(data["id"], f"{path}.id")
    name = _str(data["name"], f"{path}.name")
    finished = status in (BackupStatus.SUCCESS, BackupStatus.FAILED, BackupStatus.MISSING)
    started = VIRTUAL_EPOCH_MS - 86_400_000 + backup_id * 60_000
    location = data.get(
        "app_deployment_location",
        AppDeploymentLocation.CONSOLE.value
        if kind is BackupType.CONFIG
        else AppDeploymentLocation.NA.value,
    )
    try:
        deployment = AppDeploymentLocation(location)
    except ValueError:
        raise WorldError(
            f"{path}.app_deployment_location", f"{location!r} is not CONSOLE, APPHOST or NA"
        ) from None
    host_id = _int(data.get("host_id", default_host), f"{path}.host_id")
    return Backup(
        id=backup_id,
        configuration_id=_int(data.get("configuration_id", 1), f"{path}.configuration_id"),
        host_id=host_id,
        name=name,
        description=data.get("description"),
        type=kind,
        version=_str(data.get("version", "7.5.0"), f"{path}.version"),
        time_initiated=data.get("time_initiated", started),
        time_completed=data.get("time_completed", started + 600_000 if finished else None),
        initiated_by=_str(data.get("initiated_by", "admin"), f"{path}.initiated_by"),
        status=status,
        size_on_disk=_int(
            data.get("size_on_disk", 52_428_800 if finished else 0), f"{path}.size_on_disk"
        ),
        content_file_path=_str(
            data.get(
                "content_file_path",
                f"/store/backup/backup.{name}.{host_id}.{kind.value.lower()}.tgz",
            ),
            f"{path}.content_file_path",
        ),
        is_valid=_bool(data.get("is_valid", True), f"{path}.is_valid"),
        is_version_compatible=_bool(
            data.get("is_version_compatible", True), f"{path}.is_version_compatible"
        ),
        app_deployment_location=deployment,
        build_version=_str(data.get("build_version", "7.5.0.20260101"), f"{path}.build_version"),
    )


_CONFIGURATION_KEYS = ("configuration_id", "backup_directory_path", "data_backup_hosts",
                       "undeployed_changes", "configuration_backup_enabled")  # fmt: skip


def read_configuration(value: Any, path: str, hosts: Sequence[Host]) -> BackupConfiguration:
    data = _mapping(value, path)
    _keys(data, path, _CONFIGURATION_KEYS)
    data_hosts = data.get("data_backup_hosts", [h.id for h in hosts if h.ariel_data])
    if not isinstance(data_hosts, list):
        raise WorldError(f"{path}.data_backup_hosts", "expected a list of host ids")
    return BackupConfiguration(
        configuration_id=_int(data.get("configuration_id", 1), f"{path}.configuration_id"),
        backup_directory_path=_str(data.get("backup_directory_path", "/store/backup"),
                                   f"{path}.backup_directory_path"),
        data_backup_host_configuration=tuple(
            DataBackupHost(_int(h, f"{path}.data_backup_hosts[{i}]"))
            for i, h in enumerate(data_hosts)
        ),
        configuration_backup_enabled=_bool(data.get("configuration_backup_enabled", True),
                                           f"{path}.configuration_backup_enabled"),
        undeployed_changes=_bool(data.get("undeployed_changes", False),
                                 f"{path}.undeployed_changes"),
    )  # fmt: skip


def _items(
    data: Mapping[str, Any], key: str, path: str, read: Callable[[Any, str], T],
    default: tuple[T, ...],
) -> tuple[T, ...]:  # fmt: skip
    """A list of the world read item by item (errors name `path.key[i]`), or the default."""
    if key not in data:
        return default
    raw = data[key]
    if not isinstance(raw, list):
        raise WorldError(f"{path}.{key}", "expected a list")
    return tuple(read(item, f"{path}.{key}[{i}]") for i, item in enumerate(raw))


WORLD_KEYS = ("hosts", "backups", "configurations", "rebalancing", "outage_during_restore")


def read_world(value: Any, path: str = "world") -> World:
    """A world as the scenario format writes it; missing parts come from the demo console."""
    if value is None:
        return demo_world()
    data = _mapping(value, path)
    _keys(data, path, WORLD_KEYS)
    demo = demo_world()
    hosts = _items(data, "hosts", path, read_host, demo.hosts)
    console = next((h.id for h in hosts if h.console), hosts[0].id if hosts else 53)
    backups = _items(data, "backups", path, lambda b, at: read_backup(b, at, console), demo.backups)
    ids = [b.id for b in backups]
    if len(set(ids)) != len(ids):
        raise WorldError(f"{path}.backups", "two backups have the same id")
    configurations = _items(
        data, "configurations", path, lambda c, at: read_configuration(c, at, hosts),
        (read_configuration({}, f"{path}.configurations[0]", hosts),),
    )  # fmt: skip
    return World(
        hosts=hosts,
        configurations=configurations,
        backups=backups,
        rebalancing=_bool(data.get("rebalancing", False), f"{path}.rebalancing"),
        outage_during_restore=_bool(data.get("outage_during_restore", False),
                                    f"{path}.outage_during_restore"),
    )  # fmt: skip
