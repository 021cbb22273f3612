"""Self-description and the world the validations refer to, generated from the core tables.

`/api/help/versions[/{id}]`, `/api/help/resources[/{id}]` and `/api/help/endpoints[/{id}]` are
built from the console's release (the versions it knows and deprecates), the endpoint table,
IBM's page texts (`engine.core.pages`) and the code catalogue, so that clients that discover
the API from a console (`/api/help/endpoints?filter=version=26.0&fields=http_method, path`)
find what is served, worded as IBM's pages word it. `/api/system/about` names the release.
`/api/config/deployment/hosts` and `/api/config/backup_and_restore/scheduled_backup_configurations`
show the world of the caller's console, read-only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

from engine.api.handlers import listing, path_id, select
from engine.api.qradar import Call, Handler, Route, compile_template
from engine.api.wire import Reply
from engine.core import codes, query, versions
from engine.core.codes import HTTP_MESSAGES, Code
from engine.core.endpoints import ENDPOINTS, SUCCESS_MESSAGES, Endpoint
from engine.core.errors import QRadarError
from engine.core.frozen import record
from engine.core.pages import NULL_TEXT
from engine.core.records import Host
from engine.core.releases import DEFAULT, Release
from engine.core.versions import ApiVersion

#: `mime_type` as the help endpoints name it ("The MIME type value, e.g. TEXT_PLAIN").
_MIME_NAMES = {"application/json": "APPLICATION_JSON", "text/plain": "TEXT_PLAIN"}

VERSION_FIELDS = ("id", "version", "deprecated", "removed", "root_resource_ids")
RESOURCE_FIELDS = (
    "id",
    "child_resource_ids",
    "endpoint_ids",
    "resource",
    "path",
    "parent_resource_id",
    "version",
)
ENDPOINT_FIELDS: dict[str, Any] = {
    "id": None,
    "version": None,
    "path": None,
    "http_method": None,
    "summary": None,
    "description": None,
    "deprecated": None,
    "last_modified_version": None,
    "resource_id": None,
    "caller_has_access": None,
    "response_description": None,
    "response_mime_types": {"mime_type": None, "media_type": None, "sample": None},
    "parameters": {
        "parameter_name": None,
        "type": None,
        "description": None,
        "default_value": None,
        "mime_types": {"mime_type": None, "data_type": None, "sample": None},
    },
    "success_responses": {
        "response_code": None,
        "description": None,
        "response_code_description": None,
    },
    "error_responses": {
        "response_code": None,
        "unique_code": None,
        "description": None,
        "response_code_description": None,
    },
}


def _field_tree(document: dict[str, Any]) -> dict[str, Any]:
    """What `fields` may select in a document: each key, with the sub-fields of an object."""
    return {k: _field_tree(v) if isinstance(v, dict) else None for k, v in document.items()}


#: IBM's documented host fields, in its order: the keys `Host.to_json` writes (the one list).
HOST_FIELDS: dict[str, Any] = _field_tree(Host(0, "").to_json())
CONFIGURATION_FIELDS: dict[str, Any] = {
    "configuration_id": None,
    "backup_directory_path": None,
    "backup_retention_period": None,
    "data_backup_host_configuration": {
        "host_id": None,
        "event_data_backup_enabled": None,
        "flow_data_backup_enabled": None,
    },
    "configuration_backup_enabled": None,
    "data_backup_priority": None,
    "configuration_backup_priority": None,
    "data_backup_time_limit": None,
    "configuration_backup_time_limit": None,
}
ABOUT_FIELDS = ("release_name", "build_version", "fips_enabled", "external_version")


def last_modified(endpoint: Endpoint, version: ApiVersion) -> ApiVersion:
    """The newest version, up to `version`, in which the endpoint's page changed."""
    changes = [endpoint.since, *endpoint.page.changes()]
    for code in codes.CATALOGUE:
        if endpoint.id in code.endpoints:
            changes.append(code.since)
            changes.extend(first for first, _ in code.texts)
    return max(v for v in changes if v <= version)


# Ids are the simulator's (IBM: "not permanent"): a version's is its rank among all QRadar
# versions; a resource's or endpoint's is that rank times 1000 plus its rank in the version.
def _version_id(version: ApiVersion) -> int:
    return versions.ALL.index(version) + 1


def _resource_paths(version: ApiVersion) -> list[str]:
    """The family's resources in a version: every prefix of its endpoints' paths."""
    paths: list[str] = []
    for endpoint in ENDPOINTS:
        if endpoint.exists_in(version):
            parts = endpoint.path.strip("/").split("/")
            for n in range(1, len(parts) + 1):
                path = "/" + "/".join(parts[:n])
                if path not in paths:
                    paths.append(path)
    return paths


def _family_versions(release: Release) -> list[ApiVersion]:
    return [v for v in release.known if v >= versions.FIRST]


@cache
def resource_docs(release: Release = DEFAULT) -> tuple[dict[str, Any], ...]:
    docs: list[dict[str, Any]] = []
    for version in _family_versions(release):
        paths = _resource_paths(version)
        ids = {p: _version_id(version) * 1000 + i + 1 for i, p in enumerate(paths)}
        endpoint_ids = _endpoint_ids(version)
        for path in paths:
            parent = path.rsplit("/", 1)[0]
            docs.append(
                {
                    "id": ids[path],
                    "child_resource_ids": [ids[p] for p in paths if p.rsplit("/", 1)[0] == path],
                    "endpoint_ids": [i for e, i in endpoint_ids.items() if e.path == path],
                    "resource": path.rsplit("/", 1)[1],
                    "path": path,
                    "parent_resource_id": ids.get(parent),
                    "version": str(version),
                }
            )
    return tuple(docs)


def _endpoint_ids(version: ApiVersion) -> dict[Endpoint, int]:
    return {
        e: _version_id(version) * 1000 + i + 1
        for i, e in enumerate(ENDPOINTS)
        if e.exists_in(version)
    }


def _text(text: str | None) -> str | None:
    """A page's printed `null` is no text: JSON null, as codes 1034-1037 show."""
    return None if text == NULL_TEXT else text


@cache
def endpoint_docs(release: Release = DEFAULT, admin: bool = True) -> tuple[dict[str, Any], ...]:
    """The endpoint documents of the console's versions; `caller_has_access` is whether the
    caller has the family's admin capability."""
    docs: list[dict[str, Any]] = []
    for version in _family_versions(release):
        resource_ids = {
            d["path"]: d["id"] for d in resource_docs(release) if d["version"] == str(version)
        }
        for endpoint, id in _endpoint_ids(version).items():
            page = endpoint.page
            response_description, sample = page.response(version)
            errors = [
                {
                    "response_code": c.http_status,
                    "unique_code": c.unique,
                    "description": c.description(version),
                    "response_code_description": HTTP_MESSAGES.get(c.http_status, ""),
                }
                for c in codes.for_endpoint(endpoint.id, version)
            ]
            docs.append(
                {
                    "id": id,
                    "version": str(version),
                    "path": endpoint.path,
                    "http_method": endpoint.method,
                    "summary": page.summary,
                    "description": page.description(version),
                    "deprecated": release.deprecated(version),
                    "last_modified_version": str(last_modified(endpoint, version)),
                    "resource_id": resource_ids[endpoint.path],
                    "caller_has_access": admin,
                    "response_description": response_description,
                    "response_mime_types": [
                        {
                            "mime_type": _MIME_NAMES[endpoint.response_mime_type],
                            "media_type": endpoint.response_mime_type,
                            "sample": sample,
                        }
                    ],
                    "parameters": [
                        {
                            "parameter_name": p.name,
                            "type": p.placement.value,
                            "description": _text(p.description),
                            "default_value": None,
                            "mime_types": [
                                {
                                    "mime_type": _MIME_NAMES[p.mime_type],
                                    "data_type": p.data_type,
                                    "sample": p.sample,
                                }
                            ],
                        }
                        for p in endpoint.parameters
                    ],
                    "success_responses": [
                        {
                            "response_code": endpoint.success_status,
                            "description": endpoint.success_text,
                            "response_code_description": SUCCESS_MESSAGES[endpoint.success_status],
                        }
                    ],
                    "error_responses": errors,
                }
            )
    return tuple(docs)


@cache
def version_docs(release: Release = DEFAULT) -> tuple[dict[str, Any], ...]:
    """Every version the release knows, removed ones too, with its flags."""
    roots = {
        d["version"]: d["id"] for d in resource_docs(release) if d["parent_resource_id"] is None
    }
    return tuple(
        {
            "id": _version_id(v),
            "version": str(v),
            "deprecated": release.deprecated(v),
            "removed": release.removed(v),
            "root_resource_ids": [roots[str(v)]] if str(v) in roots else [],
        }
        for v in release.known
    )


def _versions(call: Call) -> tuple[dict[str, Any], ...]:
    return version_docs(call.console.release)


def _resources(call: Call) -> tuple[dict[str, Any], ...]:
    return resource_docs(call.console.release)


def _endpoints(call: Call) -> tuple[dict[str, Any], ...]:
    return endpoint_docs(call.console.release, call.credential.admin)


def _one_of(
    docs_of: Callable[[Call], tuple[dict[str, Any], ...]],
    name: str,
    missing: Code,
    allowed: Sequence[str] | Mapping[str, Any],
) -> Handler:
    """The handler of one document by its id (the path's `name`): 422/11 for an id that is no
    integer, `missing` for an id that names no document."""

    async def one(call: Call) -> Reply:
        id = path_id(call, name)
        for doc in docs_of(call):
            if doc["id"] == id:
                return Reply(200, query.parse_fields(call.fields() or "", allowed).apply(dict(doc)))
        raise QRadarError.of(missing)

    return one


async def system_about(call: Call) -> Reply:
    """What `GET /api/system/about` shows: the console's release, as QRadar names it."""
    return Reply(200, select(call, call.console.release.about(), ABOUT_FIELDS))


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


@record
class Document:
    """One GET route of the help, config and system families, with what the OpenAPI document
    says of it: the shape of one document (a list of them when `listing`), whether it needs
    the family's admin capability, and the 404 of an id that names no document."""

    template: str
    handler: Handler
    shape: str
    listing: bool
    admin: bool
    missing: Code | None = None

    @property
    def tag(self) -> str:
        """The family: `help`, `config` or `system`."""
        return self.template.split("/")[1]


def _help(
    family: str,
    docs_of: Callable[[Call], tuple[dict[str, Any], ...]],
    shape: str,
    missing: Code,
    allowed: Sequence[str] | Mapping[str, Any],
) -> tuple[Document, Document]:
    """`/help/{family}` (the list) and `/help/{family}/{<family>_id}` (one by its id)."""

    async def every(call: Call) -> Reply:
        return listing(call, [dict(d) for d in docs_of(call)], allowed)

    name = f"{family.removesuffix('s')}_id"
    return (
        Document(f"/help/{family}", every, shape, True, False),
        Document(
            f"/help/{family}/{{{name}}}",
            _one_of(docs_of, name, missing, allowed),
            shape,
            False,
            False,
            missing,
        ),
    )


_CONFIGURATIONS = "/config/backup_and_restore/scheduled_backup_configurations"
DOCUMENTS: tuple[Document, ...] = (
    *_help("versions", _versions, "ApiVersionDoc", codes.NO_VERSION_DOC, VERSION_FIELDS),
    *_help("resources", _resources, "ResourceDoc", codes.NO_RESOURCE_DOC, RESOURCE_FIELDS),
    *_help("endpoints", _endpoints, "EndpointDoc", codes.NO_ENDPOINT_DOC, ENDPOINT_FIELDS),
    Document("/system/about", system_about, "About", False, False),
    Document("/config/deployment/hosts", deployment_hosts, "Host", True, True),
    Document(_CONFIGURATIONS, backup_configurations, "BackupConfiguration", True, True),
    Document(_CONFIGURATIONS + "/{id}", backup_configuration, "BackupConfiguration", False, True),
)


def help_routes() -> list[Route]:
    """Routes of the help, config and system families served beside backup_and_restore."""
    return [
        Route(compile_template(d.template), d.template, {"GET": (d.handler, None)}, d.admin)
        for d in DOCUMENTS
    ]
