"""The OpenAPI document: valid, complete against the core tables, and honoured by the app.

The schemathesis run drives the ASGI app in-process. Its ASGI transport runs applications on an
event loop of its own, and the simulator's store and workers belong to the loop that started
them, so the module's simulator lives on a loop of ours (a blocking portal) and a small bridge
hands each request across: the request body is read on schemathesis' loop, the app runs on the
simulator's loop, and the response messages are replayed back.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import anyio
import anyio.to_thread
import pytest
import schemathesis
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.routing import Route

from engine.api.app import OPENAPI_PATH, create_app
from engine.api.help import DOCUMENTS
from engine.api.openapi import API_PREFIX, document
from engine.api.sessions import LOGOUT_PATH
from engine.control.actions import NAMES
from engine.control.inputs import CONSOLE
from engine.core import codes, versions
from engine.core.endpoints import ENDPOINTS
from engine.core.records import BACKUP_FIELDS, BACKUP_LIST_EXTRA_26, RESTORE_FIELDS
from engine.simulator import DEFAULT_TOKEN, Settings, Simulator
from tests.support.worlds import make_world

Message = dict[str, Any]
METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
MAX_EXAMPLES = 30


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


# --- the document --------------------------------------------------------------------------


def test_document_is_valid_openapi() -> None:
    doc = document()
    assert doc["openapi"] == "3.0.3"
    validate(doc)


def test_every_endpoint_of_the_table_is_documented() -> None:
    paths = document()["paths"]
    for endpoint in ENDPOINTS:
        operation = paths[API_PREFIX + endpoint.path][endpoint.method.lower()]
        assert str(endpoint.success_status) in operation["responses"]
        assert operation["x-qradar-endpoint"] == endpoint.id.value
        assert operation["x-qradar-since"] == str(endpoint.since)
        documented = {(p["in"], p["name"]) for p in operation["parameters"]}
        for p in endpoint.parameters:
            if p.placement.value == "BODY":
                assert operation["requestBody"]["required"] is p.required
            else:
                assert (p.placement.value.lower(), p.name) in documented
        assert ("header", "Version") in documented


def test_the_shapes_the_endpoint_table_names_are_components() -> None:
    """The table names the request and answer shapes of each endpoint; each is a schema."""
    doc = document()
    schemas = doc["components"]["schemas"]
    for endpoint in ENDPOINTS:
        operation = doc["paths"][API_PREFIX + endpoint.path][endpoint.method.lower()]
        assert operation["tags"] == [endpoint.tag]
        for shape in (endpoint.body, endpoint.answer):
            assert shape is None or shape in schemas, (endpoint.id, shape)
        success = operation["responses"][str(endpoint.success_status)]
        assert ("content" in success) == (endpoint.answer is not None), endpoint.id


def test_every_catalogue_code_is_documented_on_its_endpoints() -> None:
    paths = document()["paths"]
    by_id = {e.id: e for e in ENDPOINTS}
    for code in codes.CATALOGUE:
        for endpoint_id in code.endpoints:
            endpoint = by_id[endpoint_id]
            response = paths[API_PREFIX + endpoint.path][endpoint.method.lower()]["responses"][
                str(code.http_status)
            ]
            entries = {e["code"]: e for e in response["x-qradar-unique-codes"]}
            assert code.unique in entries, (endpoint_id, code.unique)
            assert entries[code.unique]["description"] == code.description(versions.LATEST)
            assert entries[code.unique]["since"] == str(code.since)
            enum = response["content"]["application/json"]["schema"]["allOf"][1]
            assert code.unique in enum["properties"]["code"]["enum"]


#: The help and system documents any authenticated caller may read (no 403/26).
#: operations any credential may call (no admin capability: no 403/26)
OPEN_DOCUMENTS = {API_PREFIX + d.template for d in DOCUMENTS if not d.admin} | {
    API_PREFIX + LOGOUT_PATH
}


def test_every_framework_code_is_documented_on_every_qradar_operation() -> None:
    for path, method, operation in _operations(document()):
        if not path.startswith(API_PREFIX):
            continue
        responses = operation["responses"]
        for code in codes.FRAMEWORK:
            if code is codes.FORBIDDEN and path in OPEN_DOCUMENTS:
                continue  # help, about and logout need no capability
            listed = [e["code"] for e in responses[str(code.http_status)]["x-qradar-unique-codes"]]
            assert code.unique in listed, (path, method, code.unique)


def test_record_schemas_follow_the_field_lists() -> None:
    schemas = document()["components"]["schemas"]
    assert list(schemas["Restore"]["properties"]) == list(RESTORE_FIELDS)
    assert list(schemas["Backup"]["properties"])[: len(BACKUP_FIELDS)] == list(BACKUP_FIELDS)
    listed = list(schemas["BackupListItem"]["properties"])
    assert listed[: len(BACKUP_FIELDS) + 1] == [*BACKUP_FIELDS, *BACKUP_LIST_EXTRA_26]
    assert schemas["Restore"]["properties"]["backup_id"]["nullable"] is True
    assert schemas["QRadarError"]["required"] == [
        "message",
        "details",
        "description",
        "code",
        "http_response",
    ]
    assert schemas["QRadarError"]["properties"]["description"]["nullable"] is True


def test_request_bodies_and_headers() -> None:
    paths = document()["paths"]
    create = paths["/api/backup_and_restore/backups"]["post"]
    backup_type = next(p for p in create["parameters"] if p["name"] == "backup_type")
    assert backup_type["in"] == "header"
    assert backup_type["required"] is True
    assert backup_type["schema"]["enum"] == ["CONFIG", "DATA"]
    restore = paths["/api/backup_and_restore/restores"]["post"]["requestBody"]
    schema_name = restore["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    body = document()["components"]["schemas"][schema_name]
    assert body["required"] == ["backup_id", "groups"]
    assert "OFFENSES_DATA" in body["properties"]["groups"]["items"]["enum"]
    listing = paths["/api/backup_and_restore/restores"]["get"]
    names = {(p["in"], p["name"]) for p in listing["parameters"]}
    assert {("header", "Range"), ("query", "filter"), ("query", "sort")} <= names
    assert "Content-Range" in listing["responses"]["200"]["headers"]
    schemes = document()["components"]["securitySchemes"]
    assert schemes["SEC"] == {**schemes["SEC"], "type": "apiKey", "in": "header", "name": "SEC"}
    assert schemes["basic"]["scheme"] == "basic"


def test_every_served_route_is_documented() -> None:
    """Each route the app answers under /api and /simulator is an operation of the document."""
    paths = document()["paths"]
    with_placeholders = {re.sub(r"\{\w+\}", "{}", p): item for p, item in paths.items()}
    app = create_app(Simulator(Settings()))
    served = [(API_PREFIX + r.template, m) for r in app.state.api.routes for m in r.handlers]
    served += [
        (r.path, m)
        for r in app.routes
        if isinstance(r, Route) and r.include_in_schema  # the web page's routes are not
        for m in r.methods or ()
    ]
    assert len(served) > 30
    for path, method in served:
        if method == "HEAD" or path == OPENAPI_PATH:
            continue
        item = with_placeholders.get(re.sub(r"\{\w+\}", "{}", path), {})
        assert method.lower() in item, (method, path)


def test_help_config_and_system_documents_are_documented() -> None:
    paths = document()["paths"]
    for path in (
        "/api/help/versions",
        "/api/help/versions/{version_id}",
        "/api/help/resources",
        "/api/help/resources/{resource_id}",
        "/api/help/endpoints",
        "/api/help/endpoints/{endpoint_id}",
        "/api/system/about",
        "/api/config/deployment/hosts",
        "/api/config/backup_and_restore/scheduled_backup_configurations",
        "/api/config/backup_and_restore/scheduled_backup_configurations/{id}",
    ):
        assert "200" in paths[path]["get"]["responses"], path
    one = paths["/api/help/versions/{version_id}"]["get"]
    assert one["parameters"][0]["name"] == "version_id"
    assert 1002 in [e["code"] for e in one["responses"]["404"]["x-qradar-unique-codes"]]
    about = paths["/api/system/about"]["get"]["responses"]["200"]["content"]
    schema = document()["components"]["schemas"]["About"]
    assert about["application/json"]["schema"]["$ref"].endswith("/About")
    assert list(schema["properties"]) == [
        "release_name",
        "build_version",
        "fips_enabled",
        "external_version",
    ]


def test_operation_ids_are_unique() -> None:
    ids = [op["operationId"] for _, _, op in _operations(document())]
    assert len(ids) == len(set(ids))


async def test_the_app_serves_the_document() -> None:
    import httpx

    async with Simulator(Settings()) as sim:
        transport = httpx.ASGITransport(app=create_app(sim))
        async with httpx.AsyncClient(transport=transport, base_url="http://qradar.test") as client:
            response = await client.get(OPENAPI_PATH)
    assert response.status_code == 200
    assert response.json() == document()


async def test_newline_inside_an_api_path_answers_as_qradar() -> None:
    """Found by the schemathesis run: a Starlette `Mount` of /api let such paths escape to
    Starlette's text/plain 404 (fixed in d5a101b: /api paths bypass Starlette routing)."""
    import httpx

    async with Simulator(Settings()) as sim:
        transport = httpx.ASGITransport(app=create_app(sim))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://qradar.test", headers={"SEC": DEFAULT_TOKEN}
        ) as client:
            response = await client.get("/api/backup_and_restore/restores/%0Ax")
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["code"] == codes.UNREADABLE_PARAMETER.unique
    assert response.status_code == codes.UNREADABLE_PARAMETER.http_status


# --- schemathesis against the app ------------------------------------------------------------


class Bridge:
    """An ASGI app that runs `app` on another event loop (the simulator's, via `portal`)."""

    def __init__(self, app: Any, portal: BlockingPortal) -> None:
        self.app = app
        self.portal = portal

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return  # no lifespan: the simulator is started by the fixture
        body = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        replies = await anyio.to_thread.run_sync(self.portal.call, self._run, dict(scope), body)
        for reply in replies:
            await send(reply)

    async def _run(self, scope: dict[str, Any], body: bytes) -> list[Message]:
        replies: list[Message] = []
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await anyio.sleep_forever()
            raise AssertionError("unreachable")

        async def send(message: Message) -> None:
            replies.append(message)

        await self.app(scope, receive, send)
        return replies


@contextlib.contextmanager
def _bridged(settings: Settings) -> Iterator[Bridge]:
    """A fresh in-memory simulator on its own loop, behind the bridge."""
    with start_blocking_portal() as portal:
        simulator = Simulator(settings)
        portal.call(simulator.start)
        try:
            yield Bridge(create_app(simulator), portal)
        finally:
            portal.call(simulator.stop)


@pytest.fixture(scope="module")
def contract_app() -> Iterator[Bridge]:
    """A simulator for this module."""
    with _bridged(Settings(world=make_world())) as bridge:
        yield bridge


@pytest.fixture(scope="module")
def contract_schema(contract_app: Bridge) -> Any:
    return schemathesis.openapi.from_asgi(OPENAPI_PATH, contract_app)


CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: The QRadar operations of the document (the control surface is the simulator's own).
QRADAR_OPERATIONS = [
    pytest.param(path, method, id=f"{method.upper()} {path}")
    for path, method, _ in _operations(document())
    if path.startswith(API_PREFIX)
]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize(("path", "method"), QRADAR_OPERATIONS)
def test_api_conforms_to_the_document(
    contract_schema: Any, path: str, method: str, mode: GenerationMode
) -> None:
    """No 5xx; every status, content type and body as documented (schemathesis' checks).

    Driven through hypothesis directly: schemathesis' own pytest integration does not run under
    this pytest version (it reads `Function._nodeid`, which pytest 9 no longer has).
    """
    operation = contract_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,  # the same examples on every run: a contract suite must not flake
    )
    def run(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(headers={"SEC": DEFAULT_TOKEN}, checks=CHECKS)

    run()


# --- the control surface -----------------------------------------------------------------------

ADMIN = "contract-admin-token"
#: The control surface's operations, each with the modes it can be driven in (negative data
#: needs an input to make invalid: health and readiness have none).
CONTROL_OPERATIONS = [
    pytest.param(path, method, mode, id=f"{method.upper()} {path}-{mode}")
    for path, method, operation in _operations(document())
    if path.startswith("/simulator")
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or "parameters" in operation or "requestBody" in operation
]


def test_control_request_bodies_are_the_declared_inputs() -> None:
    """Real body schemas (not `{type: object}`), generated from the inputs the surface reads."""
    paths = document()["paths"]
    bodies = {
        (path, method): operation["requestBody"]["content"]["application/json"]["schema"]
        for path, method, operation in _operations(document())
        if path.startswith("/simulator") and "requestBody" in operation
    }
    assert set(bodies) == {
        ("/simulator/consoles", "post"),
        ("/simulator/consoles/{console}/control", "post"),
        ("/simulator/consoles/{console}/clock", "post"),
        ("/simulator/consoles/{console}/reset", "post"),
        ("/simulator/consoles/{console}/tokens", "post"),
    }
    control = bodies[("/simulator/consoles/{console}/control", "post")]
    assert list(control["properties"]) == list(NAMES)
    assert control["additionalProperties"] is False
    assert control["properties"]["seed"]["maximum"] == 2**63 - 1
    fault = control["properties"]["fault"]
    assert fault["properties"]["status"] == {
        **fault["properties"]["status"],
        "minimum": 400,
        "maximum": 599,
    }
    console = bodies[("/simulator/consoles", "post")]
    assert list(console["properties"]) == list(CONSOLE.fields)
    rules = console["properties"]["rules"]["properties"]
    assert set(rules["restore"]["properties"]) == {
        "mode",
        "requesting",
        "initializing",
        "in_progress",
        "outcome",
        "reads_per_phase",
    }
    for schema in bodies.values():
        assert schema.get("properties"), schema
    consoles = paths["/simulator/consoles"]
    assert consoles["get"]["security"] == [{"admin": []}]
    assert paths["/simulator/health"]["get"]["security"] == []
    assert document()["components"]["securitySchemes"]["admin"]["scheme"] == "bearer"


@pytest.fixture(scope="module")
def control_app() -> Iterator[Bridge]:
    """A simulator of its own (the run changes consoles, clocks and faults)."""
    with _bridged(Settings(world=make_world(), admin_token=ADMIN)) as bridge:
        yield bridge


@pytest.fixture(scope="module")
def control_schema(control_app: Bridge) -> Any:
    return schemathesis.openapi.from_asgi(OPENAPI_PATH, control_app)


@pytest.mark.parametrize(("path", "method", "mode"), CONTROL_OPERATIONS)
def test_the_control_surface_conforms_to_the_document(
    control_schema: Any, path: str, method: str, mode: GenerationMode
) -> None:
    """No 5xx; every status, content type and body as documented. Half the cases aim at a
    console that exists (random names mostly find none), except its deletion."""
    operation = control_schema[path][method]
    aim = "{console}" in path and not (method == "delete" and path.endswith("{console}"))

    @given(case=operation.as_strategy(generation_mode=mode), existing=st.booleans())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,
    )
    def run(case: schemathesis.Case[Any], existing: bool) -> None:
        if aim and existing:
            case.path_parameters = {**(case.path_parameters or {}), "console": "default"}
        case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN}"}, checks=CHECKS)

    run()
