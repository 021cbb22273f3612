"""The OpenAPI 3.0.3 document of the simulator, generated from the core tables.

Nothing here retypes a fact of the API: paths, methods, parameters and success codes come from
the endpoint table (`engine.core.endpoints`), record schemas from the field lists and the
record classes' annotations (`engine.core.records`), error responses from the code catalogue
(`engine.core.codes`), versions from `engine.core.versions`, the help and config routes from
`engine.api.help`, and the control surface from its table of operations, with the schemas of
its declared inputs (`engine.control`) as request bodies. `document()` is served at
`GET /openapi.json`.

Every operation documents each status it can answer: its success code, the catalogue's codes
for the endpoint and the framework codes any request can get, grouped by HTTP status, with the
unique codes of each status in the `x-qradar-unique-codes` extension.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from functools import cache
from typing import Any

from engine.api.help import (
    ABOUT_FIELDS,
    CONFIGURATION_FIELDS,
    DOCUMENTS,
    ENDPOINT_FIELDS,
    HOST_FIELDS,
    RESOURCE_FIELDS,
    VERSION_FIELDS,
    Document,
    endpoint_docs,
    resource_docs,
    version_docs,
)
from engine.core import codes, releases, rules, versions
from engine.core.codes import HTTP_MESSAGES, Code
from engine.core.endpoints import (
    BY_ID,
    ENDPOINTS,
    SUCCESS_MESSAGES,
    Endpoint,
    EndpointId,
    Parameter,
    Placement,
)
from engine.core.enums import BackupType, RestoreGroup, RestoreStatus
from engine.core.errors import ErrorBody, HttpResponseBody
from engine.core.records import (
    BACKUP_FIELDS,
    BACKUP_LIST_EXTRA_26,
    BACKUP_SAMPLE_KEYS,
    RESTORE_FIELDS,
    Backup,
    BackupConfiguration,
    DataBackupHost,
    Restore,
    demo_world,
)
from engine.core.releases import RELEASES

__all__ = ["API_PREFIX", "OPENAPI_VERSION", "document"]

OPENAPI_VERSION = "3.0.3"
API_PREFIX = "/api"
JSON = "application/json"
E = EndpointId

_REF = "#/components/schemas/"
_SECURITY: list[dict[str, list[str]]] = [{"SEC": []}, {"basic": []}]


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": _REF + name}


# --- schemas from Python types ---------------------------------------------------------------


def _schema_of_type(tp: Any) -> dict[str, Any]:
    """The OpenAPI schema of an annotation of a record class (int, str | None, an enum ...)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        schema = _schema_of_type(args[0]) if len(args) == 1 else {}
        if len(args) < len(typing.get_args(tp)):
            schema["nullable"] = True
        return schema
    if origin is dict:
        return {"type": "object"}
    if origin in (tuple, list):
        return {"type": "array", "items": _schema_of_type(typing.get_args(tp)[0])}
    if isinstance(tp, type) and issubclass(tp, Enum):
        return {"type": "string", "enum": [m.value for m in tp]}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer", "format": "int64"}
    if tp is float:
        return {"type": "number"}
    if tp is str:
        return {"type": "string"}
    return {}


def _typed_dict(shape: type, refs: Mapping[type, str] | None = None) -> dict[str, Any]:
    """The schema of a body declared as a TypedDict (QRadar's error body): every key required;
    a nested TypedDict by reference (`refs`)."""
    hints = typing.get_type_hints(shape)
    named = refs or {}
    return _object(
        {k: _ref(named[t]) if t in named else _schema_of_type(t) for k, t in hints.items()},
        required=tuple(hints),
    )


def _schema_of_values(values: Sequence[Any]) -> dict[str, Any]:
    """The schema that fits every one of some sample values (help documents, hosts ...):
    nullable when one of them is null, objects and arrays merged element by element."""
    present = [v for v in values if v is not None]
    nullable = len(present) < len(values)
    schema: dict[str, Any]
    if not present:
        schema = {"type": "string"}
    elif all(isinstance(v, bool) for v in present):
        schema = {"type": "boolean"}
    elif all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        schema = {"type": "integer", "format": "int64"}
    elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        schema = {"type": "number"}
    elif all(isinstance(v, str) for v in present):
        schema = {"type": "string"}
    elif all(isinstance(v, list) for v in present):
        elements = [e for v in present for e in v]
        schema = {"type": "array", "items": _schema_of_values(elements) if elements else {}}
    elif all(isinstance(v, Mapping) for v in present):
        keys = list(dict.fromkeys(k for v in present for k in v))
        schema = _object({k: _schema_of_values([v.get(k) for v in present]) for k in keys})
    else:
        schema = {}
    if nullable:
        schema["nullable"] = True
    return schema


def _object(
    properties: Mapping[str, dict[str, Any]], *, required: Sequence[str] = (), closed: bool = True
) -> dict[str, Any]:
    """An object schema. Records are closed (no undocumented keys); no key is required in a
    response record because `fields` may drop any of them."""
    schema: dict[str, Any] = {"type": "object", "properties": dict(properties)}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


def _record(cls: type, names: Iterable[str], extra: Mapping[str, str] = {}) -> dict[str, Any]:
    """A response record: the named fields, typed by the record class's annotations."""
    hints = typing.get_type_hints(cls)
    properties: dict[str, dict[str, Any]] = {}
    for name in names:
        schema = _schema_of_type(hints[name]) if name in hints else {"type": "string"}
        if name in extra:
            schema["description"] = extra[name]
        properties[name] = schema
    return _object(properties)


def _sample_shape(samples: Sequence[Mapping[str, Any]], tree: Iterable[str]) -> dict[str, Any]:
    """A record documented by its served values, restricted to the served field names (a `fields`
    tree: sub-fields of arrays of objects are restricted the same way)."""
    shape = _schema_of_values(samples)
    return _restrict(shape, tree)


def _restrict(schema: dict[str, Any], tree: Iterable[str]) -> dict[str, Any]:
    subtrees = tree if isinstance(tree, Mapping) else dict.fromkeys(tree)
    properties: dict[str, dict[str, Any]] = {}
    for name, sub in subtrees.items():
        prop = schema.get("properties", {}).get(name, {"type": "string", "nullable": True})
        if sub is not None and prop.get("type") == "array":
            prop = {**prop, "items": _restrict(prop.get("items", {}), sub)}
        properties[name] = prop
    return _object(properties)


def _schemas() -> dict[str, Any]:
    sample_note = "IBM's response samples carry this key; served only with `sample_keys` on."
    sample_keys = dict.fromkeys(BACKUP_SAMPLE_KEYS, sample_note)
    since_26 = dict.fromkeys(BACKUP_LIST_EXTRA_26, "26.0+, on the list endpoint only.")
    world = demo_world()
    configuration = dataclasses.replace(
        BackupConfiguration(), data_backup_host_configuration=(DataBackupHost(1),)
    )
    return {
        "Restore": _record(Restore, RESTORE_FIELDS),
        "Backup": _record(Backup, BACKUP_FIELDS + BACKUP_SAMPLE_KEYS, sample_keys),
        "BackupListItem": _record(
            Backup,
            BACKUP_FIELDS + BACKUP_LIST_EXTRA_26 + BACKUP_SAMPLE_KEYS,
            {**since_26, **sample_keys},
        ),
        "RestoreCreate": _object(
            {
                "backup_id": {"type": "integer", "format": "int64"},
                "groups": {"type": "array", "items": _schema_of_type(RestoreGroup)},
            },
            required=("backup_id", "groups"),
            closed=False,
        ),
        "RestoreUpdate": _object(
            {
                "status": {
                    **_schema_of_type(RestoreStatus),
                    "description": "Only REQUESTING is accepted (422/1013 otherwise).",
                },
                "restore_site_host_id": {
                    "type": "integer",
                    "format": "int64",
                    "nullable": True,
                    "description": "13.0+: a host with a qflow component (1030, 1031).",
                },
                "restore_site_event_collector_id": {
                    "type": "integer",
                    "format": "int64",
                    "nullable": True,
                    "description": "13.0+: an event collector host (1032, 1033).",
                },
            },
            required=("status",),
            closed=False,
        ),
        "BackupCreate": _object(
            {
                "name": {"type": "string", "minLength": 1, "maxLength": rules.NAME_MAX},
                "configuration_id": {"type": "integer", "format": "int64"},
                "description": {
                    "type": "string",
                    "nullable": True,
                    "maxLength": rules.DESCRIPTION_MAX,
                },
                "host_id": {
                    "type": "integer",
                    "format": "int64",
                    "nullable": True,
                    "description": "Defaults to the console host.",
                },
            },
            required=("name", "configuration_id"),
            closed=False,
        ),
        "BackupUpdate": _object(
            {
                "description": {
                    "type": "string",
                    "nullable": True,
                    "maxLength": rules.DESCRIPTION_MAX,
                },
            },
            closed=False,
        ),
        "HttpResponse": _typed_dict(HttpResponseBody),
        "ControlError": _object(
            {
                "error": {"type": "string"},
                "field": {"type": "string", "description": "The dotted path of the input."},
                "qradar": _ref("QRadarError"),
            },
            required=("error",),
        ),
        "QRadarError": _typed_dict(ErrorBody, {HttpResponseBody: "HttpResponse"}),
        "ApiVersionDoc": _sample_shape(version_docs(), VERSION_FIELDS),
        "ResourceDoc": _sample_shape(resource_docs(), RESOURCE_FIELDS),
        "About": _sample_shape([r.about() for r in RELEASES], ABOUT_FIELDS),
        "EndpointDoc": _sample_shape(endpoint_docs(), ENDPOINT_FIELDS),
        "Host": _sample_shape([h.to_json() for h in world.hosts], HOST_FIELDS),
        "BackupConfiguration": _sample_shape([configuration.to_json()], CONFIGURATION_FIELDS),
    }


# --- parameters ----------------------------------------------------------------------------

_IN = {Placement.QUERY: "query", Placement.HEADER: "header", Placement.PATH: "path"}


def _parameter_schema(p: Parameter) -> dict[str, Any]:
    if p.data_type.startswith("Number"):
        return {"type": "integer", "format": "int64"}
    if p.name == "backup_type":
        return _schema_of_type(BackupType)
    if p.name == "Range":
        return {"type": "string", "pattern": r"^items=\d+-\d+$", "example": "items=0-49"}
    return {"type": "string"}


def _parameter(p: Parameter) -> dict[str, Any]:
    return {
        "name": p.name,
        "in": _IN[p.placement],
        "required": p.required or p.placement is Placement.PATH,
        "description": p.description,
        "schema": _parameter_schema(p),
    }


def _version_parameter() -> dict[str, Any]:
    return {
        "name": "Version",
        "in": "header",
        "required": False,
        "description": (
            "The API version (`major.minor`, or a major alone for its latest minor); the latest "
            f"({versions.LATEST}) when absent. Versions before {releases.DEPRECATED_BELOW} answer "
            "with a `Deprecated` header."
        ),
        "schema": {"type": "string", "enum": [str(v) for v in versions.SUPPORTED]},
    }


def _list_parameters() -> tuple[Parameter, ...]:
    """Range, fields and filter as the list endpoints of the table spell them."""
    return tuple(
        p for p in BY_ID[E.BACKUPS_LIST].parameters if p.name in ("Range", "fields", "filter")
    )


def _fields_parameter() -> Parameter:
    return next(p for p in BY_ID[E.BACKUP_GET].parameters if p.name == "fields")


# --- responses -----------------------------------------------------------------------------


def _success_headers(listing: bool) -> dict[str, Any]:
    headers: dict[str, Any] = {
        "Deprecated": {
            "description": f"`true` when the request's version is before "
            f"{releases.DEPRECATED_BELOW}.",
            "schema": {"type": "string"},
        }
    }
    if listing:
        headers["Content-Range"] = {
            "description": "`items x-y/total`, or `items */total` when the range is empty.",
            "schema": {"type": "string"},
        }
    return headers


def _code_entry(code: Code) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "code": code.unique,
        "description": code.description(versions.LATEST),
        "framework": code.framework,
        "since": str(code.since),
    }
    if len(code.texts) > 1:
        entry["descriptions"] = {str(first): text for first, text in code.texts}
    if code.reason:
        entry["reason"] = code.reason
    return entry


def _error_responses(endpoint_codes: Iterable[Code], *, admin: bool) -> dict[str, Any]:
    by_status: dict[int, list[Code]] = {}
    for code in (*endpoint_codes, *codes.FRAMEWORK):
        if code is codes.FORBIDDEN and not admin:
            continue
        by_status.setdefault(code.http_status, []).append(code)
    responses: dict[str, Any] = {}
    for status in sorted(by_status):
        entries = by_status[status]
        uniques = sorted({c.unique for c in entries})
        schema = {
            "allOf": [
                _ref("QRadarError"),
                {
                    "type": "object",
                    "properties": {
                        "code": {"type": "integer", "enum": uniques},
                        "http_response": {
                            "type": "object",
                            "properties": {"code": {"type": "integer", "enum": [status]}},
                        },
                    },
                },
            ]
        }
        responses[str(status)] = {
            "description": f"{HTTP_MESSAGES.get(status, '')} (unique codes: "
            f"{', '.join(str(u) for u in uniques)})",
            "content": {JSON: {"schema": schema}},
            "x-qradar-unique-codes": [_code_entry(c) for c in entries],
        }
    return responses


def _family_operation(endpoint: Endpoint) -> dict[str, Any]:
    parameters = [_parameter(p) for p in endpoint.parameters if p.placement in _IN]
    parameters.append(_version_parameter())
    success: dict[str, Any] = {
        "description": endpoint.success_text or SUCCESS_MESSAGES[endpoint.success_status],
        "headers": _success_headers(endpoint.is_list),
    }
    if endpoint.answer is not None:
        success["content"] = {
            endpoint.response_mime_type: {"schema": _shape(endpoint.answer, endpoint.is_list)}
        }
    operation: dict[str, Any] = {
        "operationId": endpoint.id.name.lower(),
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "parameters": parameters,
        "responses": {
            str(endpoint.success_status): success,
            **_error_responses(
                (c for c in codes.CATALOGUE if endpoint.id in c.endpoints), admin=True
            ),
        },
        "x-qradar-endpoint": endpoint.id.value,
        "x-qradar-since": str(endpoint.since),
    }
    body = endpoint.body_parameter
    if body is not None:
        shape = _ref(endpoint.body) if endpoint.body else {"type": "object"}
        operation["requestBody"] = {
            "required": body.required,
            "description": body.description,
            "content": {body.mime_type: {"schema": shape}},
        }
    return operation


def _shape(name: str, listing: bool) -> dict[str, Any]:
    """A record shape of the components, or a list of them."""
    return {"type": "array", "items": _ref(name)} if listing else _ref(name)


def _path_parameter(template: str) -> Parameter | None:
    """The id of a help or config document, named as its template names it."""
    head, brace, rest = template.partition("/{")
    if not brace:
        return None
    noun = head.rsplit("/", 1)[1].removesuffix("s").replace("_", " ")
    return Parameter(rest.rstrip("}"), Placement.PATH, "Number (Integer)", True,
                     f"Required. The ID of the {noun} to retrieve.")  # fmt: skip


def _document_operation(doc: Document) -> dict[str, Any]:
    parameters: list[Parameter] = list(_list_parameters()) if doc.listing else [_fields_parameter()]
    path_parameter = _path_parameter(doc.template)
    if path_parameter is not None:
        parameters.insert(0, path_parameter)
    return {
        "operationId": "get_" + re.sub(r"\W+", "_", doc.template.replace("{", "by_")).strip("_"),
        "summary": f"GET {API_PREFIX}{doc.template}",
        "tags": [doc.tag],
        "parameters": [*(_parameter(p) for p in parameters), _version_parameter()],
        "responses": {
            "200": {
                "description": SUCCESS_MESSAGES[200],
                "headers": _success_headers(doc.listing),
                "content": {JSON: {"schema": _shape(doc.shape, doc.listing)}},
            },
            **_error_responses(() if doc.missing is None else (doc.missing,), admin=doc.admin),
        },
    }


def _control_paths() -> dict[str, Any]:
    """The control surface: the simulator's own API (no QRadar conventions), from its table of
    operations; request bodies are the schemas of its declared inputs (`engine.control`)."""
    from engine.api.control import OPERATIONS

    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        answer: dict[str, Any] = {"description": SUCCESS_MESSAGES.get(op.status, "OK")}
        if op.answer is not None:
            answer["content"] = {JSON: {"schema": op.answer}}
        responses: dict[str, Any] = {str(op.status): answer}
        if op.probe:
            responses["503"] = {**answer, "description": "Not ready yet"}
        refusals = {
            400: op.body is not None or bool(op.query),
            401: not op.open,
            404: "{console}" in op.path,
            409: op.refusable,  # the engine's own refusal, e.g. 1016
            413: op.body is not None,
        }
        for status, applies in refusals.items():
            if applies:
                responses[str(status)] = {
                    "description": _CONTROL_ERRORS[status],
                    "content": {JSON: {"schema": _ref("ControlError")}},
                }
        if not op.open:
            responses["401"]["headers"] = {
                "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}
            }
        operation: dict[str, Any] = {
            "operationId": f"simulator_{op.name}",
            "summary": op.summary,
            "tags": ["simulator"],
            "security": [] if op.open else [{"admin": []}],
            "responses": responses,
        }
        parameters = [
            {"name": name, "in": "query", "required": False,
             "schema": {"type": "integer", "format": "int64", "minimum": 0}}
            for name in op.query
        ]  # fmt: skip
        if "{console}" in op.path:
            parameters.insert(0, {
                "name": "console", "in": "path", "required": True,
                "description": "A console id, or `current` for the console of the request's "
                "SEC token.", "schema": {"type": "string"},
            })  # fmt: skip
        if parameters:
            operation["parameters"] = parameters
        if op.body is not None:
            operation["requestBody"] = {
                "required": op.body_required,
                "content": {JSON: {"schema": op.body.schema()}},
            }
        paths.setdefault(op.path, {})[op.method.lower()] = operation
    return paths


_CONTROL_ERRORS = {
    400: "An input that cannot be used: `field` names it; nothing changed.",
    401: "No admin credential (`Authorization: Bearer <token>`), or not the right one.",
    404: "No such console.",
    409: "The engine refused the action (`qradar` is the error QRadar would give).",
    413: "The body is larger than `control_body_bytes`.",
}


@cache
def _document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in ENDPOINTS:
        item = paths.setdefault(API_PREFIX + endpoint.path, {})
        item[endpoint.method.lower()] = _family_operation(endpoint)
    for doc in DOCUMENTS:
        paths.setdefault(API_PREFIX + doc.template, {})["get"] = _document_operation(doc)
    paths.update(_control_paths())
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "QRadar Backup and Restore Engine simulator",
            "version": str(versions.LATEST),
            "description": (
                "The /api/backup_and_restore family of IBM QRadar's REST API as the simulator "
                "serves it, with the help and config endpoints its clients use, and the "
                "simulator's control surface (tag `simulator`). Generated from the endpoint "
                "table, the record field lists and the code catalogue."
            ),
            "x-qradar-api-versions": [str(v) for v in versions.SUPPORTED],
        },
        "servers": [{"url": "/"}],
        "security": _SECURITY,
        "tags": [
            {"name": "backups", "description": "Backups: list, create, read, update, delete."},
            {"name": "restores", "description": "Restores: list, create, read, start, delete."},
            {"name": "ha", "description": "HA helpers (21.0+), barely documented by IBM."},
            {"name": "help", "description": "Self-description: versions and endpoints."},
            {"name": "config", "description": "The read-only world the validations refer to."},
            {"name": "system", "description": "The console's release (`/api/system/about`)."},
            {"name": "simulator", "description": "The simulator's control surface."},
        ],
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "SEC": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "SEC",
                    "description": "An authorized service token.",
                },
                "basic": {"type": "http", "scheme": "basic", "description": "A QRadar user."},
                "admin": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The simulator's admin credential (the control surface): "
                    "`--admin-token`, or the `admin=` of `bre serve`'s ready line.",
                },
            },
        },
    }


def document() -> dict[str, Any]:
    """The OpenAPI document (a fresh copy: callers may change it)."""
    import copy

    return copy.deepcopy(_document())
