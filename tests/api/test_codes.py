"""Every (endpoint, code) of the catalogue over HTTP, for every supported version where it exists.

The code cases of tests/support/code_cases.py over HTTP: each case runs once per supported API
version in which its endpoint and code exist, and must answer the whole error body expected.
`test_cases_cover_catalogue` derives the expected pairs from the catalogue, so a code added
there without a case fails. Beside them, what only HTTP shows: the HA helpers, `fields` and
versions, faults, the framework codes of every endpoint, and each endpoint's success status.

One simulator serves the whole module; every test gets a console of its own (own token, world,
gate, rules, clock and faults), which is what the product promises for parallel tests.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from engine.api.app import create_app
from engine.core import codes
from engine.core.endpoints import BY_ID, Endpoint, EndpointId
from engine.core.versions import SUPPORTED, ApiVersion
from engine.runtime.console import Console
from engine.simulator import Settings, Simulator
from tests.support.code_cases import (
    ACCEPTED_RUNS,
    CASES,
    RUNS,
    Accepted,
    Answer,
    Case,
    bc,
    fault,
    rc,
    restore,
    start,
)
from tests.support.http import API, CONTROL, HTTP, UNAUTHORIZED, error, framework, make_client
from tests.support.worlds import GROUPS, make_world

pytestmark = pytest.mark.asyncio(loop_scope="module")

E = EndpointId
V = ApiVersion.parse
_ids = itertools.count(1)


# --- the shared simulator and a console per test ---


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared() -> AsyncIterator[tuple[Simulator, Starlette]]:
    async with Simulator(Settings(world=make_world())) as simulator:
        yield simulator, create_app(simulator)


@dataclass
class HttpDriver:
    """One test's console, its admin client, and the API version the test speaks: the HTTP
    driver of the code cases (`tests.support.code_cases.Driver`)."""

    client: httpx.AsyncClient
    console: Console
    version: ApiVersion
    last: httpx.Response | None = None

    async def req(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return await self.raw(method, API + path, **kw)

    async def raw(self, method: str, url: str, **kw: Any) -> httpx.Response:
        headers = {"Version": str(self.version), **kw.pop("headers", {})}
        return await self.client.request(method, url, headers=headers, **kw)

    async def call(
        self, endpoint: EndpointId, id: int | str | None = None, body: Any = None, *,
        backup_type: Any = "CONFIG", sort: str | None = None,
    ) -> Answer:  # fmt: skip
        ep = BY_ID[endpoint]
        headers = {"backup_type": backup_type} if _takes_backup_type(ep) else {}
        params = {"sort": sort} if sort is not None else None
        path = re.sub(r"\{\w+\}", str(id), ep.path)
        resp = await self.raw(ep.method, "/api" + path, headers=headers, params=params, json=body)
        self.last = resp
        return Answer(resp.status_code, resp.json() if resp.content else None, resp)

    async def control(self, actions: Mapping[str, Any]) -> Any:
        resp = await self.client.post(f"{CONTROL}/{self.console.id}/control", json=dict(actions))
        assert resp.status_code == 200, resp.text
        return resp.json()


def _takes_backup_type(endpoint: Endpoint) -> bool:
    return any(p.name == "backup_type" for p in endpoint.parameters)


@pytest_asyncio.fixture(loop_scope="module")
async def fresh(
    shared: tuple[Simulator, Starlette],
) -> AsyncIterator[Callable[[ApiVersion], Awaitable[HttpDriver]]]:
    simulator, app = shared
    clients: list[httpx.AsyncClient] = []
    consoles: list[str] = []

    async def make(version: ApiVersion) -> HttpDriver:
        n = next(_ids)
        console = await simulator.create_console(
            f"codes-{n}", tokens=(f"tok-{n}",), world=make_world()
        )
        client = make_client(app, {"SEC": f"tok-{n}"})
        clients.append(client)
        consoles.append(console.id)
        return HttpDriver(client, console, version)

    yield make
    for client in clients:
        await client.aclose()
    for id in consoles:
        await simulator.delete_console(id)


async def fault_response(
    c: HttpDriver, endpoint: EndpointId, status: int, code: int
) -> httpx.Response:
    return (await fault(endpoint, status, code)(c)).raw  # type: ignore[no-any-return]


@pytest.mark.parametrize(("case", "version"), RUNS, ids=[f"{c.id}@{v}" for c, v in RUNS])
async def test_code_over_http(
    fresh: Callable[[ApiVersion], Awaitable[HttpDriver]], case: Case, version: ApiVersion
) -> None:
    ctx = await fresh(version)
    answer = await case.provoke(ctx)
    expected = case.expected(version)
    error(answer.raw, case.status, case.code, description=expected["description"],
          message=expected["message"])  # fmt: skip
    assert answer.body == expected


@pytest.mark.parametrize(
    ("accepted", "version"), ACCEPTED_RUNS, ids=[f"{a.id}@{v}" for a, v in ACCEPTED_RUNS]
)
async def test_accepted_over_http(
    fresh: Callable[[ApiVersion], Awaitable[HttpDriver]], accepted: Accepted, version: ApiVersion
) -> None:
    answer = await accepted.provoke(await fresh(version))
    assert answer.status in (200, 201), answer.body
    assert answer.body["status"] == accepted.status


async def test_cases_cover_catalogue() -> None:
    """Every (endpoint, code) of the catalogue has a case, and no case names anything else."""
    wanted = {(ep, c.unique) for c in codes.CATALOGUE for ep in c.endpoints}
    covered = {(case.endpoint, case.code) for case in CASES}
    assert covered == wanted, {"missing": wanted - covered, "extra": covered - wanted}


async def test_every_version_runs_every_code_it_documents() -> None:
    """The parametrization reaches each code in each version whose help lists it."""
    ran = {(c.endpoint, c.code, v) for c, v in RUNS}
    for version in SUPPORTED:
        for ep in BY_ID.values():
            if not ep.exists_in(version):
                continue
            for entry in codes.for_endpoint(ep.id, version):
                assert (ep.id, entry.unique, version) in ran, (ep.id, entry.unique, version)


# --- where the version changes the answer ---

BEFORE_21 = [v for v in SUPPORTED if v < V("21.0")]
BEFORE_26 = [v for v in SUPPORTED if v < V("26.0")]


@pytest.mark.parametrize("version", BEFORE_21, ids=str)
@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/haAction/failover"), ("POST", "/updateiptablesprefile")]
)
async def test_ha_helpers_unknown_before_21_0(
    fresh: Callable[[ApiVersion], Awaitable[HttpDriver]],
    version: ApiVersion,
    method: str,
    path: str,
) -> None:
    c = await fresh(version)
    await restore(c)
    resp = await c.req(method, path, json={"status": "SUCCESS"})
    framework(
        resp,
        404,
        4,
        f"Relative path (/backup_and_restore{path}) is not a known endpoint "
        "resource. Please refer to documentation for list of endpoint resources.",
    )


async def test_ha_helpers_answer_the_latest_restore(
    fresh: Callable[[ApiVersion], Awaitable[HttpDriver]],
) -> None:
    c = await fresh(V("21.0"))
    rid = await restore(c)
    for method, path in (("GET", "/haAction/failover"), ("POST", "/updateiptablesprefile")):
        resp = await c.req(method, path, json={"status": "SUCCESS"})
        assert resp.status_code == 200, resp.text
        assert resp.json()["id"] == rid


@pytest.mark.parametrize("version", SUPPORTED, ids=str)
async def test_app_deployment_location_only_on_list_from_26_0(
    fresh: Callable[[ApiVersion], Awaitable[HttpDriver]], version: ApiVersion
) -> None:
    c = await fresh(version)
    listed = (await c.req("GET", "/backups")).json()
    one = (await c.req("GET", "/backups/1")).json()
    assert ("app_deployment_location" in listed[0]) == (version >= V("26.0"))
    assert "app_deployment_location" not in one
    if version >= V("26.0"):
        assert listed[0]["app_deployment_location"] == "CONSOLE"
    resp = await c.req("GET", "/backups", params={"fields": "id,app_deployment_location"})
    if version >= V("26.0"):
        assert resp.json()[0] == {"id": 1, "app_deployment_location": "CONSOLE"}
    else:
        framework(resp, 422, 30)
    framework(
        await c.req("GET", "/backups/1", params={"fields": "app_deployment_location"}), 422, 30
    )


@pytest.mark.parametrize("version", BEFORE_26, ids=str)
async def test_1021_is_undocumented_before_26_0(
    fresh: Callable[[ApiVersion], Awaitable[HttpDriver]], version: ApiVersion
) -> None:
    """A 1021 fault before 26.0 still answers as asked, without a documented description."""
    c = await fresh(version)
    resp = await fault_response(c, E.BACKUPS_LIST, 500, 1021)
    error(resp, 500, 1021, description="")


@pytest.mark.parametrize("version", [v for v in SUPPORTED if v < V("15.0")], ids=str)
async def test_1036_1037_are_undocumented_before_15_0(
    fresh: Callable[[ApiVersion], Awaitable[HttpDriver]], version: ApiVersion
) -> None:
    c = await fresh(version)
    error(await fault_response(c, E.RESTORE_UPDATE, 422, 1036), 422, 1036, description="")


async def test_fault_is_used_once_then_normal_service(
    fresh: Callable[[ApiVersion], Awaitable[HttpDriver]],
) -> None:
    c = await fresh(V("26.0"))
    error(await fault_response(c, E.BACKUPS_LIST, 500, 1021), 500, 1021)
    assert (await c.req("GET", "/backups")).status_code == 200


# --- framework codes on every endpoint ---

EDGE_VERSIONS = [V("12.0"), V("21.0"), V("27.0")]
ENDPOINT_RUNS = [(ep, v) for ep in BY_ID.values() for v in EDGE_VERSIONS if ep.exists_in(v)]


def concrete(path: str) -> str:
    return path.replace("{id}", "1").replace("{flag}", "x")


@pytest.mark.parametrize(
    ("ep", "version"), ENDPOINT_RUNS, ids=[f"{e.method}-{e.path}@{v}" for e, v in ENDPOINT_RUNS]
)
async def test_auth_codes_on_every_endpoint(
    shared: tuple[Simulator, Starlette],
    fresh: Callable[[ApiVersion], Awaitable[HttpDriver]],
    ep: Any,
    version: ApiVersion,
) -> None:
    c = await fresh(version)
    simulator, app = shared
    await simulator.add_token(c.console.id, f"ro-{c.console.id}", admin=False)
    url = "/api" + concrete(ep.path)
    async with make_client(app, {"Version": str(version)}) as anon:
        framework(await anon.request(ep.method, url), 401, 18, UNAUTHORIZED)
    async with make_client(app, {"SEC": "wrong", "Version": str(version)}) as bad:
        framework(await bad.request(ep.method, url), 401, 18, UNAUTHORIZED)
    async with make_client(app, {"SEC": f"ro-{c.console.id}", "Version": str(version)}) as ro:
        framework(
            await ro.request(ep.method, url),
            403,
            26,
            "User has insufficient capabilities to access this endpoint resource",
        )


async def test_http_texts_match_the_catalogue() -> None:
    for status, text in HTTP.items():
        assert codes.HTTP_MESSAGES[status] == text


# --- the success answer of every endpoint -----------------------------------------------------


@pytest.mark.parametrize("version", SUPPORTED, ids=str)
async def test_every_endpoint_succeeds_with_its_status(
    fresh: Callable[[ApiVersion], Awaitable[HttpDriver]], version: ApiVersion
) -> None:
    c = await fresh(version)
    await c.control({"engine": {"restore": {"mode": "manual"}, "backup": {"mode": "manual"}}})
    calls: dict[EndpointId, httpx.Response] = {
        E.BACKUPS_LIST: await c.req("GET", "/backups"),
        E.BACKUP_CREATE: (await bc("DATA", name="b104", host_id=104)(c)).raw,
        E.BACKUP_GET: await c.req("GET", "/backups/1"),
        E.BACKUP_UPDATE: await c.req("POST", "/backups/1", json={"description": "new"}),
        E.BACKUP_DELETE: await c.req("DELETE", "/backups/2"),
        E.RESTORE_CREATE: (await rc(GROUPS)(c)).raw,
        E.RESTORES_LIST: await c.req("GET", "/restores"),
        E.RESTORE_GET: await c.req("GET", "/restores/1"),
    }
    await c.req("DELETE", "/backups/4")  # cancel the DATA backup: it would block the restore
    await c.control({"step": {"kind": "backup", "id": 4}})
    calls[E.RESTORE_UPDATE] = (await start(c, 1)).raw
    if version >= V("21.0"):
        calls[E.HA_ACTION] = await c.req("GET", "/haAction/any")
        calls[E.IPTABLES_UPDATE] = await c.req("POST", "/updateiptablesprefile", json={})
    calls[E.RESTORE_DELETE] = await c.req("DELETE", "/restores/1")
    assert set(calls) == {e.id for e in BY_ID.values() if e.exists_in(version)}
    for endpoint, resp in calls.items():
        assert resp.status_code == BY_ID[endpoint].success_status, (endpoint, resp.text)
    assert calls[E.RESTORE_DELETE].content == b""
    assert calls[E.BACKUP_DELETE].json()["status"] == "DELETING"
    assert calls[E.RESTORE_UPDATE].json()["status"] == "REQUESTING"
