"""Request validation: what QRadar refuses before anything changes (pure functions).

Each function reads raw request values (as decoded from JSON or passed to the embedded API) and
the part of the world it needs, and raises the catalogue's typed error or returns clean values.
Conflicts (409) that depend on running jobs are decided by `engine.core.gate` inside the store
transaction; only the ones that depend on the world alone are here.

Order of checks (product decision): parameters that cannot be read (422/8, /10, /11), then
existence (404), then the endpoint's 422 codes in the order of its table, then conflicts (409).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from engine.core import codes
from engine.core.endpoints import V13, V15, V18, EndpointId
from engine.core.enums import BackupStatus, BackupType, RestoreGroup, RestoreStatus
from engine.core.errors import QRadarError
from engine.core.frozen import record
from engine.core.lifecycle import BACKUP_DELETABLE, RESTORE_DELETABLE
from engine.core.records import Backup, BackupConfiguration, Host, Restore
from engine.core.versions import LATEST, ApiVersion

E = EndpointId
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
NAME_MAX = 100
DESCRIPTION_MAX = 255


def _unreadable(
    name: str, placement: str = "body", content_type: str = "APPLICATION_JSON"
) -> QRadarError:
    return QRadarError.of(
        codes.UNREADABLE_PARAMETER, name=name, placement=placement, content_type=content_type
    )


LONG_MAX = 2**63 - 1


def _integer(value: Any, name: str) -> int | None:
    """An optional Long: None stays None; a bool, float, string or out-of-range number cannot
    be read (422/11), as a Java Long binding would refuse it."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not -LONG_MAX - 1 <= value <= LONG_MAX
    ):
        raise _unreadable(name)
    return value


def _text(value: Any, name: str) -> str | None:
    """An optional string that a Java String (and the store) holds: a lone surrogate such as
    `"\\ud800"` is no text in UTF-8 and cannot be read (422/11), where storing it failed."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _unreadable(name)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _unreadable(name) from None
    return value


def require_object(body: Any, name: str) -> Mapping[str, Any]:
    """A JSON body must be an object; absent is 422/10, anything else 422/11."""
    if body is None:
        raise QRadarError.of(codes.MISSING_BODY, name=name)
    if not isinstance(body, Mapping):
        raise _unreadable(name)
    return body


# --- restores --------------------------------------------------------------------------------


@record
class RestoreRequest:
    """A read POST /restores body: `groups` as sent (strings), checked with the backup."""

    backup_id: int
    groups: tuple[str, ...] | None


def read_restore_create(body: Mapping[str, Any]) -> RestoreRequest:
    """Reads POST /restores: wrong types are 422/11, a missing backup_id 1002."""
    backup_id = _integer(body.get("backup_id"), "backup_id")
    if backup_id is None:
        raise QRadarError.at(E.RESTORE_CREATE, 1002)
    raw_groups = body.get("groups")
    if raw_groups is None:
        return RestoreRequest(backup_id, None)
    if not isinstance(raw_groups, list) or not all(isinstance(g, str) for g in raw_groups):
        raise _unreadable("groups")
    return RestoreRequest(backup_id, tuple(raw_groups))


def check_restorable(
    request: RestoreRequest, backup: Backup | None, version: ApiVersion = LATEST
) -> tuple[RestoreGroup, ...]:
    """Checks of POST /restores in the order of its table: the backup (1003-1007), the groups
    (1008, 1010), the group rules (1009, 1019 from 15.0). Returns the groups, deduplicated."""
    if backup is None:
        raise QRadarError.at(E.RESTORE_CREATE, 1003, backup_id=request.backup_id)
    if backup.type is not BackupType.CONFIG:
        raise QRadarError.at(E.RESTORE_CREATE, 1004)
    if backup.status is not BackupStatus.SUCCESS:
        raise QRadarError.at(E.RESTORE_CREATE, 1005)
    if not backup.is_valid:
        raise QRadarError.at(E.RESTORE_CREATE, 1006)
    if not backup.is_version_compatible:
        raise QRadarError.at(E.RESTORE_CREATE, 1007)
    if not request.groups:
        raise QRadarError.at(E.RESTORE_CREATE, 1008)
    chosen: dict[RestoreGroup, None] = {}  # in the order sent, once each
    for raw in request.groups:
        group = _RESTORE_GROUPS.get(raw)
        if group is None:
            raise QRadarError.at(E.RESTORE_CREATE, 1010, group=raw)
        chosen[group] = None
    if RestoreGroup.DEPLOYMENT_CONFIG not in chosen:
        needs_deployment = _NEEDS_DEPLOYMENT_V18 if version >= V18 else _NEEDS_DEPLOYMENT
        if not needs_deployment.isdisjoint(chosen):
            raise QRadarError.at(E.RESTORE_CREATE, 1009)
        if version >= V15 and not _NEEDS_DOMAINS.isdisjoint(chosen):
            raise QRadarError.at(E.RESTORE_CREATE, 1019)
    return tuple(chosen)


_RESTORE_GROUPS: dict[str, RestoreGroup] = {g.value: g for g in RestoreGroup}
#: groups that need DEPLOYMENT_CONFIG beside them (1009): before 18.0, and from 18.0
_NEEDS_DEPLOYMENT = frozenset({RestoreGroup.INSTALLED_APPS_CONFIG})
_NEEDS_DEPLOYMENT_V18 = _NEEDS_DEPLOYMENT | {RestoreGroup.OFFENSES_DATA}
# [inference] 1019 names a DOMAINS group that the enum lacks; DEPLOYMENT_CONFIG is the group
# documented to carry domains, so that is the group required here (from 15.0).
_NEEDS_DOMAINS = frozenset({RestoreGroup.ASSETS_DATA, RestoreGroup.USERS_CONFIG})


@record
class RestoreSite:
    """A read POST /restores/{id} body: the status asked for, and the optional cross-deployment
    targets (13.0+)."""

    status: str | None = RestoreStatus.REQUESTING.value
    host_id: int | None = None
    event_collector_id: int | None = None

    @property
    def elsewhere(self) -> bool:
        """Whether the request names a restore site: the backup is restored onto another
        deployment, so the restore is a cross-deployment one (docs/decisions.md)."""
        return self.host_id is not None or self.event_collector_id is not None


def read_restore_request(body: Mapping[str, Any], version: ApiVersion = LATEST) -> RestoreSite:
    """Reads POST /restores/{id}: values of the wrong type are 422/11; the rest is checked
    once the restore is known (404 comes first)."""
    status = body.get("status")
    if status is not None and not isinstance(status, str):
        raise _unreadable("status")
    if version < V13:
        return RestoreSite(status)  # other fields are ignored before 13.0
    return RestoreSite(
        status,
        _integer(body.get("restore_site_host_id"), "restore_site_host_id"),
        _integer(body.get("restore_site_event_collector_id"), "restore_site_event_collector_id"),
    )


def check_requestable(restore: Restore, site: RestoreSite, hosts: Iterable[Host]) -> None:
    """Checks of POST /restores/{id} on a known restore: 1013 (only REQUESTING may be asked),
    1012 (only a PENDING restore changes), then 1031/1030 and 1033/1032 (13.0+)."""
    if site.status != RestoreStatus.REQUESTING.value:
        raise QRadarError.at(E.RESTORE_UPDATE, 1013)
    if restore.status is not RestoreStatus.PENDING:
        raise QRadarError.at(E.RESTORE_UPDATE, 1012, id=restore.id, status=restore.status.value)
    if site.host_id is None and site.event_collector_id is None:
        return  # no restore site to check (nearly every request)
    by_id = {h.id: h for h in hosts}
    for host_id, component, missing, lacking in (
        (site.host_id, "qflow", 1031, 1030),
        (site.event_collector_id, "eventcollector", 1033, 1032),
    ):
        if host_id is None:
            continue
        host = by_id.get(host_id)
        if host is None:
            raise QRadarError.at(E.RESTORE_UPDATE, missing)
        if component not in host.components:
            raise QRadarError.at(E.RESTORE_UPDATE, lacking)


def check_restore_deletable(restore: Restore) -> None:
    if restore.status.value not in RESTORE_DELETABLE:
        raise QRadarError.at(E.RESTORE_DELETE, 1017, id=restore.id, status=restore.status.value)


# --- backups ---------------------------------------------------------------------------------


@record
class BackupRequest:
    """A validated POST /backups request, host resolved."""

    type: BackupType
    name: str
    configuration_id: int
    description: str | None
    host_id: int


def read_backup_type(header: Any) -> BackupType:
    """The required `backup_type` header: absent 422/8, not CONFIG or DATA 422/11."""
    if header is None:
        raise QRadarError.of(codes.MISSING_PARAMETER, name="backup_type", placement="header")
    try:
        return BackupType(header)
    except ValueError:
        raise _unreadable("backup_type", "header", "TEXT_PLAIN") from None


def read_backup_create(
    backup_type: Any,
    body: Mapping[str, Any],
    hosts: Iterable[Host],
    configurations: Iterable[BackupConfiguration],
) -> BackupRequest:
    """Checks of POST /backups against the world: 1002-1004, 1006-1010, 1012-1014."""
    kind = read_backup_type(backup_type)
    name = _text(body.get("name"), "name")
    configuration_id = _integer(body.get("configuration_id"), "configuration_id")
    description = _text(body.get("description"), "description")
    host_id = _integer(body.get("host_id"), "host_id")
    if name is None or name == "":
        raise QRadarError.at(E.BACKUP_CREATE, 1002)
    if len(name) > NAME_MAX:
        raise QRadarError.at(E.BACKUP_CREATE, 1003)
    if not _NAME.fullmatch(name):
        raise QRadarError.at(E.BACKUP_CREATE, 1004)
    if configuration_id is None:
        raise QRadarError.at(E.BACKUP_CREATE, 1006)
    configuration = next(
        (c for c in configurations if c.configuration_id == configuration_id), None
    )
    if configuration is None:
        raise QRadarError.at(E.BACKUP_CREATE, 1007, configuration_id=configuration_id)
    check_description(description, E.BACKUP_CREATE)
    hosts = tuple(hosts)
    if host_id is None:
        console = next((h for h in hosts if h.console), None)
        if console is None:
            raise QRadarError.at(E.BACKUP_CREATE, 1009, host_id="(console)")
        host_id = console.id
    host = next((h for h in hosts if h.id == host_id), None)
    if host is None:
        raise QRadarError.at(E.BACKUP_CREATE, 1009, host_id=host_id)
    if not host.active:
        raise QRadarError.at(E.BACKUP_CREATE, 1010)
    if kind is BackupType.CONFIG and not host.console:
        raise QRadarError.at(E.BACKUP_CREATE, 1012)
    if kind is BackupType.DATA and not host.ariel_data:
        raise QRadarError.at(E.BACKUP_CREATE, 1013)
    if kind is BackupType.DATA and not configuration.data_backup_enabled(host.id):
        raise QRadarError.at(E.BACKUP_CREATE, 1014)
    return BackupRequest(kind, name, configuration_id, description, host.id)


def check_backup_world_conflicts(
    request: BackupRequest, configurations: Iterable[BackupConfiguration], name_taken: bool
) -> None:
    """The 409s of POST /backups that do not involve the gate: 1005 (name), 1011 (undeployed)."""
    if name_taken:
        raise QRadarError.at(E.BACKUP_CREATE, 1005, name=request.name)
    if any(c.undeployed_changes for c in configurations):
        raise QRadarError.at(E.BACKUP_CREATE, 1011)


def check_description(description: str | None, endpoint: EndpointId) -> None:
    if description is not None and len(description) > DESCRIPTION_MAX:
        raise QRadarError.at(endpoint, 1008)


def read_backup_update(body: Mapping[str, Any]) -> tuple[bool, str | None]:
    """POST /backups/{id}: only `description` changes; (present, value). 1008 past 255 chars."""
    if "description" not in body:
        return False, None
    description = _text(body.get("description"), "description")
    check_description(description, E.BACKUP_UPDATE)
    return True, description


def check_backup_deletable(backup: Backup) -> None:
    if backup.status.value not in BACKUP_DELETABLE:
        raise QRadarError.at(E.BACKUP_DELETE, 1017, id=backup.id, status=backup.status.value)
