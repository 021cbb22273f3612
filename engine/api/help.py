"""Self-description and the world the validations refer to, generated from the core tables.

`/api/help/versions` and `/api/help/endpoints` are built from the version list, the endpoint
table and the code catalogue, so that clients that discover the API from a console
(`/api/help/endpoints?filter=version=26.0&fields=http_method, path`) find what is served.
`/api/config/deployment/hosts` and `/api/config/backup_and_restore/scheduled_backup_configurations`
show the world of the caller's console, read-only.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from engine.api.handlers import listing, path_id, select
from engine.api.qradar import Call, Route, compile_template
from engine.api.wire import Reply
from engine.core import codes
from engine.core.codes import HTTP_MESSAGES
from engine.core.endpoints import ENDPOINTS, Endpoint
from engine.core.errors import QRadarError
from engine.core.versions import SUPPORTED, ApiVersion

_SUCCESS_DESCRIPTIONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content"}

VERSION_FIELDS = ("id", "version", "deprecated", "removed", "root_resource_ids")
ENDPOINT_FIELDS: dict[str, Any] = {
    "id": None, "version": None, "path": None, "http_method": None, "summary": None,
    "description": None, "deprecated": None, "last_modified_version": None,
    "resource_id": None, "caller_has_access": None, "response_description": None,
    "response_mime_types": {"mime_type": None, "media_type": None, "sample": None},
    "parameters": {"parameter_name": None, "type": None, "description": None,
                   "default_value": None,
                   "mime_types": {"mime_type": None, "data_type": None, "sample": None}},
    "success_responses": {"response_code": None, "description": None,
                          "response_code_description": None},
    "error_responses": {"response_code": None, "unique_code": None, "description": None,
                        "response_code_description": None},
}  # fmt: skip
HOST_FIELDS = ("id", "hostname", "private_ip", "status", "is_console", "components",
               "stores_ariel_data", "version")  # fmt: skip
CONFIGURATION_FIELDS: dict[str, Any] = {
    "configuration_id": None, "backup_directory_path": None, "backup_retention_period": None,
    "data_backup_host_configuration": {"host_id": None, "event_data_backup_enabled": None,
                                       "flow_data_backup_enabled": None},
    "configuration_backup_enabled": None, "data_backup_priority": None,
    "configuration_backup_priority": None, "data_backup_time_limit": None,
    "configuration_backup_time_limit": None,
}  # fmt: skip


def last_modified(endpoint: Endpoint, version: ApiVersion) -> ApiVersion:
    """The newest version, up to `version`, in which the endpoint's page changed."""
    changes = [endpoint.since]
    for code in codes.CATALOGUE:
        if endpoint.id in code.endpoints:
            changes.append(code.since)
            changes.extend(first for first, _ in code.texts)
    if endpoint.is_list and endpoint.resource == "backup":
        changes.append(ApiVersion(26, 0))  # app_deployment_location
    return max(v for v in changes if v <= version)


@cache
def endpoint_docs() -> tuple[dict[str, Any], ...]:
    docs: list[dict[str, Any]] = []
    for vi, version in enumerate(SUPPORTED):
        for ei, endpoint in enumerate(ENDPOINTS):
            if not endpoint.exists_in(version):
                continue
            errors = [
                {"response_code": c.http_status, "unique_code": c.unique,
                 "description": c.description(version),
                 "response_code_description": HTTP_MESSAGES.get(c.http_status, "")}
                for c in codes.for_endpoint(endpoint.id, version)
            ]  # fmt: skip
            docs.append({
                "id": (vi + 1) * 1000 + ei + 1,
                "version": str(version),
                "path": endpoint.path,
                "http_method": endpoint.method,
                "summary": endpoint.summary,
                "description": endpoint.summary,
                "deprecated": False,
                "last_modified_version": str(last_modified(endpoint, version)),
                "resource_id": ei + 1,
                "caller_has_access": True,
                "response_description": endpoint.success_text,
                "response_mime_types": [
                    {"mime_type": endpoint.response_mime_type,
                     "media_type": endpoint.response_mime_type, "sample": None}
                ],
                "parameters": [
                    {"parameter_name": p.name, "type": p.placement.value,
                     "description": p.description, "default_value": None,
                     "mime_types": [{"mime_type": p.mime_type, "data_type": p.data_type,
                                     "sample": None}]}
                    for p in endpoint.parameters
                ],
                "success_responses": [
                    {"response_code": endpoint.success_status, "description": endpoint.success_text,
                     "response_code_description": _SUCCESS_DESCRIPTIONS[endpoint.success_status]}
                ],
                "error_responses": errors,
            })  # fmt: skip
    return tuple(docs)


def version_docs() -> list[dict[str, Any]]:
    return [
        {"id": i + 1, "version": str(v), "deprecated": v < ApiVersion(25, 0), "removed": False,
         "root_resource_ids": [1]}
        for i, v in enumerate(SUPPORTED)
    ]  # fmt: skip


async def help_versions(call: Call) -> Reply:
    return listing(call, version_docs(), VERSION_FIELDS)


async def help_endpoints(call: Call) -> Reply:
    return listing(call, [dict(d) for d in endpoint_docs()], ENDPOINT_FIELDS)


async def deployment_hosts(call: Call) -> Reply:
    hosts = [h.to_json() for h in await call.console.hosts()]
    return listing(call, hosts, HOST_FIELDS)


async def backup_configurations(call: Call) -> Reply:
    items = [c.to_json() for c in await call.console.configurations()]
    return listing(call, items, CONFIGURATION_FIELDS)


async def backup_configuration(call: Call) -> Reply:
    id = path_id(call)
    for configuration in await call.console.configurations():
        if configuration.configuration_id == id:
            return Reply(200, select(call, configuration.to_json(), tuple(CONFIGURATION_FIELDS)))
    raise QRadarError.of(
        codes.UNKNOWN_PATH, "The backup configuration does not exist.", path=call.path
    )


def help_routes() -> list[Route]:
    """Routes of the help and config families served beside backup_and_restore."""
    table = [
        ("/help/versions", help_versions, False),
        ("/help/endpoints", help_endpoints, False),
        ("/config/deployment/hosts", deployment_hosts, True),
        ("/config/backup_and_restore/scheduled_backup_configurations", backup_configurations, True),
        (
            "/config/backup_and_restore/scheduled_backup_configurations/{id}",
            backup_configuration,
            True,
        ),
    ]
    return [Route(compile_template(t), t, {"GET": (h, None)}, admin) for t, h, admin in table]
