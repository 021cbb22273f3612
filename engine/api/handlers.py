"""Handlers of the backup_and_restore endpoints: wire in, domain operation, wire out.

Each handler reads its parameters (path id, body, `backup_type`), calls one `Console`
operation, and shapes the answer with the list conventions (`filter`, `sort`, `Range`) and
`fields`. The field lists, sortable lists and 1018 errors come from `engine.core`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.api.qradar import Call, Handler
from engine.api.wire import Reply
from engine.core import codes, query
from engine.core.endpoints import BY_ID, EndpointId
from engine.core.errors import QRadarError
from engine.core.records import (
    BACKUP_SORTABLE,
    RESTORE_FIELDS,
    RESTORE_SORTABLE,
    Backup,
    Restore,
    backup_fields,
    initiator,
)

E = EndpointId


def _initiator(call: Call) -> str:
    return initiator(call.credential.name, service=not call.credential.basic)


def path_id(call: Call, name: str = "id") -> int:
    raw = call.params.get(name, "")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:  # str.isdigit() takes "²"
        raise QRadarError.of(
            codes.UNREADABLE_PARAMETER, name=name, placement="path", content_type="TEXT_PLAIN"
        )
    return int(raw)


def select(call: Call, body: dict[str, Any], allowed: Sequence[str]) -> dict[str, Any]:
    """Apply `fields` to one object (a fresh one: it is returned as it is without `fields`)."""
    text = call.fields()
    if text is None:
        return body
    return query.parse_fields(text, allowed).apply(body)


def listing(
    call: Call, items: list[dict[str, Any]], allowed: Sequence[str] | Mapping[str, Any],
    sortable: Sequence[str] | None = None, sort_error: QRadarError | None = None,
) -> Reply:  # fmt: skip
    """filter, then sort, then Range, then fields: QRadar's list conventions.

    `allowed` names the fields; as a mapping it also names sub-fields (None: a scalar), which
    `fields` may select and `filter` may not."""
    selection = query.parse_fields(call.fields() or "", allowed)
    range_spec = query.parse_range(call.headers.get("range"))
    filter_text = call.query.get("filter")
    if filter_text:
        scalars = (
            [k for k, v in allowed.items() if v is None]
            if isinstance(allowed, Mapping)
            else allowed
        )
        condition = query.parse_filter(filter_text, scalars)
        condition.check_work(len(items))
        items = [i for i in items if condition.matches(i)]
    sort_text = call.query.get("sort")
    if sort_text and sortable is not None and sort_error is not None:
        keys = query.parse_sort(sort_text, sortable, sort_error)
        items = [dict(i) for i in query.sort_records(items, keys)]
    window, content_range = (
        range_spec.window(len(items)) if range_spec else query.full_window(len(items))
    )
    page = [selection.apply(i) for i in items[window]]
    return Reply(200, page, {"Content-Range": content_range})


def check_fields(call: Call, allowed: Sequence[str]) -> None:
    """Read `fields` before the operation: a bad selector (422/30, /31) must change nothing."""
    text = call.fields()
    if text is not None:
        query.parse_fields(text, allowed)


def _backup_fields(call: Call) -> None:
    check_fields(call, backup_fields(call.version, listing=False, sample_keys=call.sample_keys))


def _restore(call: Call, restore: Restore, status: int = 200) -> Reply:
    return Reply(status, select(call, restore.to_json(), RESTORE_FIELDS))


def _backup(call: Call, backup: Backup, status: int = 200, *, listing_shape: bool = False) -> Reply:
    sample = call.sample_keys
    body = backup.to_json(call.version, listing=listing_shape, sample_keys=sample)
    return Reply(
        status,
        select(call, body, backup_fields(call.version, listing=listing_shape, sample_keys=sample)),
    )


# --- backups ---------------------------------------------------------------------------------


async def list_backups(call: Call) -> Reply:
    sample = call.sample_keys
    items = [
        b.to_json(call.version, listing=True, sample_keys=sample)
        for b in await call.console.list_backups()
    ]
    allowed = backup_fields(call.version, listing=True, sample_keys=sample)
    return listing(call, items, allowed, BACKUP_SORTABLE, QRadarError.at(E.BACKUPS_LIST, 1018))


async def create_backup(call: Call) -> Reply:
    _backup_fields(call)
    backup = await call.console.create_backup_from(
        call.headers.get("backup_type"), call.json_body("backup"), initiated_by=_initiator(call)
    )
    return _backup(call, backup, 201)


async def get_backup(call: Call) -> Reply:
    _backup_fields(call)
    return _backup(call, await call.console.get_backup(path_id(call)))


async def update_backup(call: Call) -> Reply:
    _backup_fields(call)
    id = path_id(call)
    return _backup(call, await call.console.update_backup_from(id, call.json_body("backup")))


async def delete_backup(call: Call) -> Reply:
    _backup_fields(call)
    return _backup(call, await call.console.delete_backup(path_id(call)), 202)


# --- restores --------------------------------------------------------------------------------


async def list_restores(call: Call) -> Reply:
    items = [r.to_json() for r in await call.console.list_restores()]
    return listing(
        call, items, RESTORE_FIELDS, RESTORE_SORTABLE, QRadarError.at(E.RESTORES_LIST, 1018)
    )


async def create_restore(call: Call) -> Reply:
    check_fields(call, RESTORE_FIELDS)
    restore = await call.console.create_restore_from(
        call.json_body("restore"), version=call.version, initiated_by=_initiator(call)
    )
    return _restore(call, restore, 201)


async def get_restore(call: Call) -> Reply:
    check_fields(call, RESTORE_FIELDS)
    body = await call.console.get_restore_json(path_id(call))
    return Reply(200, select(call, body, RESTORE_FIELDS))


async def request_restore(call: Call) -> Reply:
    check_fields(call, RESTORE_FIELDS)
    id = path_id(call)
    restore = await call.console.request_restore_from(
        id, call.json_body("restore"), version=call.version
    )
    return _restore(call, restore)


async def delete_restore(call: Call) -> Reply:
    await call.console.delete_restore(path_id(call))
    return Reply(204, empty=True, media_type="text/plain")


# --- HA helpers (21.0+), documented only as copies of the restore pages ----------------------


async def ha_action(call: Call) -> Reply:
    """Decision: answers with the console's latest restore (404/1001 when there is none)."""
    restores = await call.console.list_restores()
    if not restores:
        raise QRadarError.at(E.HA_ACTION, 1001, id=call.params.get("flag", ""))
    return _restore(call, restores[-1])


async def update_iptables(call: Call) -> Reply:
    """Decision: accepts any JSON object body and answers like `haAction`."""
    body = call.json_body("restore")
    if body is not None and not isinstance(body, dict):
        raise QRadarError.of(codes.UNREADABLE_PARAMETER, name="restore", placement="body",
                             content_type="APPLICATION_JSON")  # fmt: skip
    restores = await call.console.list_restores()
    if not restores:
        raise QRadarError.at(E.IPTABLES_UPDATE, 1001, "The restore does not exist.")
    return _restore(call, restores[-1])


HANDLERS: dict[EndpointId, Handler] = {
    E.BACKUPS_LIST: list_backups,
    E.BACKUP_CREATE: create_backup,
    E.BACKUP_GET: get_backup,
    E.BACKUP_UPDATE: update_backup,
    E.BACKUP_DELETE: delete_backup,
    E.RESTORES_LIST: list_restores,
    E.RESTORE_CREATE: create_restore,
    E.RESTORE_GET: get_restore,
    E.RESTORE_UPDATE: request_restore,
    E.RESTORE_DELETE: delete_restore,
    E.HA_ACTION: ha_action,
    E.IPTABLES_UPDATE: update_iptables,
}
assert set(HANDLERS) == set(BY_ID), "every endpoint of the table has a handler"
