"""Handlers of the backup_and_restore endpoints: wire in, domain operation, wire out.

Each handler reads its parameters (path id, body, `backup_type`), calls one `Console`
operation, and shapes the answer with the list conventions (`filter`, `sort`, `Range`) and
`fields`. The field lists, sortable lists and 1018 errors come from `engine.core`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from engine.api.qradar import Call, Handler, path_number
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
from engine.store.base import EncodedPage

E = EndpointId


def _initiator(call: Call) -> str:
    return initiator(call.credential.name, service=not call.credential.basic)


def path_id(call: Call, name: str = "id") -> int:
    number = path_number(call.params.get(name, ""))
    if number is None:
        raise QRadarError.of(
            codes.UNREADABLE_PARAMETER, name=name, placement="path", content_type="TEXT_PLAIN"
        )
    return number


def select(call: Call, body: dict[str, Any], allowed: Sequence[str]) -> dict[str, Any]:
    """Apply `fields` to one object (a fresh one: it is returned as it is without `fields`)."""
    text = call.fields()
    if text is None:
        return body
    return query.parse_fields(text, allowed).apply(body)


def listing(
    call: Call,
    items: list[dict[str, Any]],
    allowed: Sequence[str] | Mapping[str, Any],
    sortable: Sequence[str] | None = None,
    sort_error: QRadarError | None = None,
) -> Reply:
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


#: Lists that may answer more records than this are built by the store as the JSON it sends
#: (no Python object per field), on its own thread: no list holds the event loop for long.
LARGE_PAGE = 500


def list_request(
    call: Call, filterable: Sequence[str], sortable: Sequence[str], sort_error: QRadarError
) -> query.ListRequest:
    """The list parameters of a call, parsed (422/12, /36, /37, 1018 on bad input)."""
    range_spec = query.parse_range(call.headers.get("range"))
    filter_text = call.query.get("filter")
    condition = query.parse_filter(filter_text, filterable) if filter_text else None
    sort_text = call.query.get("sort")
    keys = query.parse_sort(sort_text, sortable, sort_error) if sort_text else ()
    return query.ListRequest(condition, keys, range_spec)


def large(request: query.ListRequest) -> bool:
    spec = request.range
    return spec is None or spec.end - spec.start + 1 > LARGE_PAGE


def shown_keys(selection: query.FieldSelection, allowed: Sequence[str]) -> tuple[str, ...]:
    """The keys each listed record shows, in the record's own order (`fields` applied)."""
    if selection.selects_all:
        return tuple(allowed)
    return tuple(k for k in allowed if k in selection.names)


def page_reply(
    records: Sequence[Any],
    total: int,
    request: query.ListRequest,
    selection: query.FieldSelection,
    shape: Callable[[Any], dict[str, Any]],
) -> Reply:
    """The 200 of a (small) list page: each record shaped, `fields` applied, `Content-Range`
    from the total."""
    _, content_range = request.window(total)
    if selection.selects_all:
        items = [shape(r) for r in records]
    else:
        items = [selection.apply(shape(r)) for r in records]
    return Reply(200, items, {"Content-Range": content_range})


def encoded_reply(page: EncodedPage, request: query.ListRequest) -> Reply:
    _, content_range = request.window(page.total)
    return Reply(200, headers={"Content-Range": content_range}, parts=page.parts)


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
    sample, version = call.sample_keys, call.version
    allowed = backup_fields(version, listing=True, sample_keys=sample)
    selection = query.parse_fields(call.fields() or "", allowed)  # 422/30 before the filter's
    request = list_request(call, allowed, BACKUP_SORTABLE, QRadarError.at(E.BACKUPS_LIST, 1018))
    if large(request):
        encoded = await call.console.encode_backups(request, shown_keys(selection, allowed))
        return encoded_reply(encoded, request)
    page = await call.console.page_backups(request)

    def shape(b: Backup) -> dict[str, Any]:
        return b.to_json(version, listing=True, sample_keys=sample)

    return page_reply(page.records, page.total, request, selection, shape)


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
    selection = query.parse_fields(call.fields() or "", RESTORE_FIELDS)  # 422/30 first
    sort_error = QRadarError.at(E.RESTORES_LIST, 1018)
    request = list_request(call, RESTORE_FIELDS, RESTORE_SORTABLE, sort_error)
    if large(request):
        encoded = await call.console.encode_restores(request, shown_keys(selection, RESTORE_FIELDS))
        return encoded_reply(encoded, request)
    page = await call.console.page_restores(request)
    return page_reply(page.records, page.total, request, selection, _to_json)


def _to_json(restore: Restore) -> dict[str, Any]:
    return restore.to_json()


async def _latest_restore(call: Call) -> Restore | None:
    """The console's newest restore record: one row, whatever the console holds."""
    latest = query.ListRequest(
        sort=(query.SortKey("id", descending=True),), range=query.RangeSpec(0, 0)
    )
    page = await call.console.page_restores(latest, read=False)
    return page.records[0] if page.records else None


async def create_restore(call: Call) -> Reply:
    check_fields(call, RESTORE_FIELDS)
    restore = await call.console.create_restore_from(
        call.json_body("restore"), version=call.version, initiated_by=_initiator(call)
    )
    return _restore(call, restore, 201)


async def get_restore(call: Call) -> Reply:
    text = call.fields()
    selector = None if text is None else query.parse_fields(text, RESTORE_FIELDS)  # 422 first
    id = path_id(call)
    if selector is None:  # polling's path: the body as the store encodes it
        return Reply(200, parts=(await call.console.get_restore_encoded(id, call.restore_read),))
    return Reply(200, selector.apply(await call.console.get_restore_json(id)))


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
    latest = await _latest_restore(call)
    if latest is None:
        raise QRadarError.at(E.HA_ACTION, 1001, id=call.params.get("flag", ""))
    return _restore(call, latest)


async def update_iptables(call: Call) -> Reply:
    """Decision: accepts any JSON object body and answers like `haAction`."""
    body = call.json_body("restore")
    if body is not None and not isinstance(body, dict):
        raise QRadarError.of(
            codes.UNREADABLE_PARAMETER,
            name="restore",
            placement="body",
            content_type="APPLICATION_JSON",
        )
    latest = await _latest_restore(call)
    if latest is None:
        raise QRadarError.at(E.IPTABLES_UPDATE, 1001, "The restore does not exist.")
    return _restore(call, latest)


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
