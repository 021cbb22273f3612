"""Every (endpoint, code) of the catalogue over HTTP, for every supported version where it exists.

`CASES` says how to provoke each code with HTTP requests (plus control actions), and the exact
body expected; each case runs once per supported API version in which the endpoint and the code
exist. `test_cases_cover_catalogue` derives the expected pairs from the catalogue, so a code
added there without a case here fails. The descriptions are written out from the reference
(sections 2-4) in tests/reference_texts.py, not read from the catalogue; that module also holds
the messages this table shares with tests/runtime/test_console_codes.py.

One simulator serves the whole module; every test gets a console of its own (own token, world,
gate, rules, clock and faults), which is what the product promises for parallel tests.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from engine.api.app import create_app
from engine.core import codes
from engine.core.endpoints import BY_ID, EndpointId
from engine.core.versions import SUPPORTED, ApiVersion
from engine.runtime.console import Console
from engine.simulator import Settings, Simulator
from tests.support.http import API, CONTROL, HTTP, UNAUTHORIZED, error, framework, make_client
from tests.support.reference_texts import (
    BACKUP_1_DELETING_UNDELETABLE,
    HOST_53_BUSY,
    NAME_NIGHTLY_1_TAKEN,
    NO_BACKUP_999,
    NO_BACKUP_WITH_ID_999,
    NO_CONFIGURATION_99,
    NO_HOST_999,
    NO_RESTORE_WITH_ID_999,
    RESTORE_1_NOT_PENDING,
    RESTORE_1_SUCCESS_UNDELETABLE,
    description,
)
from tests.support.worlds import GROUPS, INACTIVE_HOST, NO_ARIEL_HOST, UNCONFIGURED_HOST, make_world

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
class Ctx:
    """One test's console, its admin client, and the API version the test speaks."""

    client: httpx.AsyncClient
    console: Console
    version: ApiVersion

    async def req(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Version": str(self.version), **kw.pop("headers", {})}
        return await self.client.request(method, API + path, headers=headers, **kw)

    async def raw(self, method: str, url: str, **kw: Any) -> httpx.Response:
        headers = {"Version": str(self.version), **kw.pop("headers", {})}
        return await self.client.request(method, url, headers=headers, **kw)

    async def control(self, actions: dict[str, Any]) -> Any:
        resp = await self.client.post(f"{CONTROL}/{self.console.id}/control", json=actions)
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def restore(self, backup_id: int = 1, groups: list[str] | None = None) -> int:
        resp = await self.req(
            "POST", "/restores", json={"backup_id": backup_id, "groups": groups or GROUPS}
        )
        assert resp.status_code == 201, resp.text
        return int(resp.json()["id"])

    async def start(self, id: int, **site: Any) -> httpx.Response:
        return await self.req("POST", f"/restores/{id}", json={"status": "REQUESTING", **site})

    async def backup(self, kind: str, body: dict[str, Any]) -> httpx.Response:
        return await self.req("POST", "/backups", json=body, headers={"backup_type": kind})

    async def seeded(self, **changes: Any) -> int:
        """A backup 10 added through the control surface (SUCCESS CONFIG unless changed)."""
        await self.control({"add_backup": {"id": 10, "name": "seeded_10", **changes}})
        return 10


@pytest_asyncio.fixture(loop_scope="module")
async def fresh(
    shared: tuple[Simulator, Starlette],
) -> AsyncIterator[Callable[[ApiVersion], Awaitable[Ctx]]]:
    simulator, app = shared
    clients: list[httpx.AsyncClient] = []
    consoles: list[str] = []

    async def make(version: ApiVersion) -> Ctx:
        n = next(_ids)
        console = await simulator.create_console(
            f"codes-{n}", tokens=(f"tok-{n}",), world=make_world()
        )
        client = make_client(app, {"SEC": f"tok-{n}"})
        clients.append(client)
        consoles.append(console.id)
        return Ctx(client, console, version)

    yield make
    for client in clients:
        await client.aclose()
    for id in consoles:
        await simulator.delete_console(id)


# --- provocations ---

Provoke = Callable[[Ctx], Awaitable[httpx.Response]]


async def running_restore(c: Ctx) -> int:
    """A restore held in REQUESTING (manual mode): it holds the gate."""
    await c.control({"engine": {"restore": {"mode": "manual"}}})
    rid = await c.restore()
    assert (await c.start(rid)).status_code == 200
    return rid


async def finished_restore(c: Ctx, outcome: str) -> int:
    await c.control({"engine": {"restore": {"mode": "immediate", "outcome": outcome}}})
    rid = await c.restore()
    assert (await c.start(rid)).status_code == 200
    assert (await c.console.wait_for_restore(rid)).status == outcome
    return rid


def rc(body: Any) -> Provoke:
    async def provoke(c: Ctx) -> httpx.Response:
        return await c.req("POST", "/restores", json=body)

    return provoke


def rc_seeded(**changes: Any) -> Provoke:
    async def provoke(c: Ctx) -> httpx.Response:
        return await c.req(
            "POST", "/restores", json={"backup_id": await c.seeded(**changes), "groups": GROUPS}
        )

    return provoke


async def rc_1011(c: Ctx) -> httpx.Response:
    await c.restore(1)
    return await rc({"backup_id": 2, "groups": GROUPS})(c)


async def ru_1012(c: Ctx) -> httpx.Response:
    return await c.start(await running_restore(c))


async def ru_1013(c: Ctx) -> httpx.Response:
    return await c.req("POST", f"/restores/{await c.restore()}", json={"status": "SUCCESS"})


async def ru_1014(c: Ctx) -> httpx.Response:
    rid = await c.restore()
    await c.control({"rebalancing": True})
    return await c.start(rid)


async def ru_1015(c: Ctx) -> httpx.Response:
    await c.control({"engine": {"backup": {"mode": "manual"}}})
    assert (
        await c.backup("DATA", {"name": "b104", "configuration_id": 1, "host_id": 104})
    ).status_code == 201
    return await c.start(await c.restore())


async def ru_1016(c: Ctx) -> httpx.Response:
    await c.control({"external_restore": "start"})
    return await c.start(await c.restore())


def ru_site(**site: Any) -> Provoke:
    async def provoke(c: Ctx) -> httpx.Response:
        return await c.start(await c.restore(), **site)

    return provoke


def bc(kind: str = "CONFIG", **body: Any) -> Provoke:
    async def provoke(c: Ctx) -> httpx.Response:
        return await c.backup(kind, {"name": "ok_name", "configuration_id": 1, **body})

    return provoke


async def bc_1011(c: Ctx) -> httpx.Response:
    world = make_world()
    undeployed = tuple(replace(x, undeployed_changes=True) for x in world.configurations)
    await c.console.seed_world(replace(world, configurations=undeployed))
    return await bc()(c)


async def bc_1015(c: Ctx) -> httpx.Response:
    await c.control({"engine": {"backup": {"mode": "manual"}}})
    assert (await bc("CONFIG", name="first")(c)).status_code == 201
    return await bc("DATA", name="second", host_id=53)(c)


async def bc_1016(c: Ctx) -> httpx.Response:
    await running_restore(c)
    return await bc("DATA", host_id=104)(c)


async def bd_1017(c: Ctx) -> httpx.Response:
    await c.control({"engine": {"backup": {"mode": "manual"}}})
    resp = await c.req("DELETE", "/backups/1")
    assert resp.status_code == 202
    assert resp.json()["status"] == "DELETING"
    return await c.req("DELETE", "/backups/1")


async def rd_1017(c: Ctx) -> httpx.Response:
    return await c.req("DELETE", f"/restores/{await finished_restore(c, 'SUCCESS')}")


def call(method: str, path: str, **kw: Any) -> Provoke:
    async def provoke(c: Ctx) -> httpx.Response:
        return await c.req(method, path, **kw)

    return provoke


def fault(endpoint: EndpointId, status: int, code: int) -> Provoke:
    """A fault rule on the endpoint's path template, then one request to it."""
    ep = BY_ID[endpoint]
    concrete = ep.path.replace("{id}", "1").replace("{flag}", "x")

    async def provoke(c: Ctx) -> httpx.Response:
        await c.control(
            {
                "fault": {
                    "method": ep.method,
                    "path": "/api" + ep.path,
                    "status": status,
                    "code": code,
                }
            }
        )
        kw: dict[str, Any] = {}
        if ep.method == "POST":
            kw = {"json": {"status": "REQUESTING"}, "headers": {"backup_type": "CONFIG"}}
        return await c.raw(ep.method, "/api" + concrete, **kw)

    return provoke


# --- the table (expected descriptions: reference_texts.DESCRIPTIONS) ---


@dataclass(frozen=True)
class Case:
    id: str
    endpoint: EndpointId
    code: int
    status: int
    provoke: Provoke
    message: str | None = None  # None: the message is the description
    since: ApiVersion = SUPPORTED[0]  # the case needs this version (beyond the code's own)

    def text(self, version: ApiVersion) -> str | None:
        return description(self.endpoint, self.code, version)


CASES: tuple[Case, ...] = (
    # POST /restores
    Case("Rc-1002", E.RESTORE_CREATE, 1002, 422, rc({"groups": GROUPS})),
    Case("Rc-1003", E.RESTORE_CREATE, 1003, 422, rc({"backup_id": 999, "groups": GROUPS}),
         NO_BACKUP_999),
    Case("Rc-1004", E.RESTORE_CREATE, 1004, 422, rc_seeded(type="DATA", host_id=104)),
    Case("Rc-1005", E.RESTORE_CREATE, 1005, 422, rc_seeded(status="FAILED")),
    Case("Rc-1006", E.RESTORE_CREATE, 1006, 422, rc_seeded(is_valid=False)),
    Case("Rc-1007", E.RESTORE_CREATE, 1007, 422, rc_seeded(is_version_compatible=False)),
    Case("Rc-1008", E.RESTORE_CREATE, 1008, 422, rc({"backup_id": 1, "groups": []})),
    Case("Rc-1009-apps", E.RESTORE_CREATE, 1009, 422,
         rc({"backup_id": 1, "groups": ["INSTALLED_APPS_CONFIG"]})),
    Case("Rc-1009-offenses", E.RESTORE_CREATE, 1009, 422,
         rc({"backup_id": 1, "groups": ["OFFENSES_DATA"]}), since=V("18.0")),
    Case("Rc-1010", E.RESTORE_CREATE, 1010, 422,
         rc({"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG", "NOPE"]}),
         "The group NOPE does not exist."),
    Case("Rc-1011", E.RESTORE_CREATE, 1011, 409, rc_1011),
    Case("Rc-1019", E.RESTORE_CREATE, 1019, 422, rc({"backup_id": 1, "groups": ["USERS_CONFIG"]})),
    # POST /restores/{id}
    Case("Ru-1001", E.RESTORE_UPDATE, 1001, 404,
         call("POST", "/restores/999", json={"status": "REQUESTING"}), NO_RESTORE_WITH_ID_999),
    Case("Ru-1012", E.RESTORE_UPDATE, 1012, 422, ru_1012, RESTORE_1_NOT_PENDING),
    Case("Ru-1013", E.RESTORE_UPDATE, 1013, 422, ru_1013),
    Case("Ru-1014", E.RESTORE_UPDATE, 1014, 409, ru_1014),
    Case("Ru-1015", E.RESTORE_UPDATE, 1015, 409, ru_1015),
    Case("Ru-1016", E.RESTORE_UPDATE, 1016, 409, ru_1016),
    Case("Ru-1030", E.RESTORE_UPDATE, 1030, 422, ru_site(restore_site_host_id=104)),
    Case("Ru-1031", E.RESTORE_UPDATE, 1031, 422, ru_site(restore_site_host_id=999)),
    Case("Ru-1032", E.RESTORE_UPDATE, 1032, 422,
         ru_site(restore_site_event_collector_id=NO_ARIEL_HOST)),
    Case("Ru-1033", E.RESTORE_UPDATE, 1033, 422, ru_site(restore_site_event_collector_id=999)),
    *(Case(f"Ru-{n}", E.RESTORE_UPDATE, n, 422, fault(E.RESTORE_UPDATE, 422, n), "")
      for n in (1034, 1035, 1036, 1037)),
    # DELETE, GET /restores/{id}, GET /restores
    Case("Rd-1001", E.RESTORE_DELETE, 1001, 404, call("DELETE", "/restores/999"),
         NO_RESTORE_WITH_ID_999),
    Case("Rd-1017", E.RESTORE_DELETE, 1017, 422, rd_1017, RESTORE_1_SUCCESS_UNDELETABLE),
    Case("Rg-1001", E.RESTORE_GET, 1001, 404, call("GET", "/restores/999"),
         NO_RESTORE_WITH_ID_999),
    Case("Rl-1018", E.RESTORES_LIST, 1018, 422,
         call("GET", "/restores", params={"sort": "backup_id"})),
    # HA helpers (21.0+)
    Case("Ha-1001", E.HA_ACTION, 1001, 404, call("GET", "/haAction/failover"),
         "The restore with id failover does not exist."),
    Case("Ip-1001", E.IPTABLES_UPDATE, 1001, 404,
         call("POST", "/updateiptablesprefile", json={"status": "SUCCESS"})),
    # POST /backups
    Case("Bc-1002", E.BACKUP_CREATE, 1002, 422, bc(name="")),
    Case("Bc-1003", E.BACKUP_CREATE, 1003, 422, bc(name="n" * 101)),
    Case("Bc-1004", E.BACKUP_CREATE, 1004, 422, bc(name="no spaces")),
    Case("Bc-1005", E.BACKUP_CREATE, 1005, 409, bc(name="nightly_1"), NAME_NIGHTLY_1_TAKEN),
    Case("Bc-1006", E.BACKUP_CREATE, 1006, 422, bc(configuration_id=None)),
    Case("Bc-1007", E.BACKUP_CREATE, 1007, 422, bc(configuration_id=99), NO_CONFIGURATION_99),
    Case("Bc-1008", E.BACKUP_CREATE, 1008, 422, bc(description="d" * 256)),
    Case("Bc-1009", E.BACKUP_CREATE, 1009, 422, bc(host_id=999), NO_HOST_999),
    Case("Bc-1010", E.BACKUP_CREATE, 1010, 422, bc("DATA", host_id=INACTIVE_HOST)),
    Case("Bc-1011", E.BACKUP_CREATE, 1011, 409, bc_1011),
    Case("Bc-1012", E.BACKUP_CREATE, 1012, 422, bc("CONFIG", host_id=104)),
    Case("Bc-1013", E.BACKUP_CREATE, 1013, 422, bc("DATA", host_id=NO_ARIEL_HOST)),
    Case("Bc-1014", E.BACKUP_CREATE, 1014, 422, bc("DATA", host_id=UNCONFIGURED_HOST)),
    Case("Bc-1015", E.BACKUP_CREATE, 1015, 409, bc_1015, HOST_53_BUSY),
    Case("Bc-1016", E.BACKUP_CREATE, 1016, 409, bc_1016),
    # POST, DELETE, GET /backups/{id}, GET /backups
    Case("Bu-1001", E.BACKUP_UPDATE, 1001, 404,
         call("POST", "/backups/999", json={"description": "x"}), NO_BACKUP_WITH_ID_999),
    Case("Bu-1008", E.BACKUP_UPDATE, 1008, 422,
         call("POST", "/backups/1", json={"description": "d" * 256})),
    Case("Bd-1001", E.BACKUP_DELETE, 1001, 404, call("DELETE", "/backups/999"),
         NO_BACKUP_WITH_ID_999),
    Case("Bd-1017", E.BACKUP_DELETE, 1017, 422, bd_1017, BACKUP_1_DELETING_UNDELETABLE),
    Case("Bg-1001", E.BACKUP_GET, 1001, 404, call("GET", "/backups/999"), NO_BACKUP_WITH_ID_999),
    Case("Bl-1018", E.BACKUPS_LIST, 1018, 422,
         call("GET", "/backups", params={"sort": "is_valid"})),
    Case("Bl-1021", E.BACKUPS_LIST, 1021, 500, fault(E.BACKUPS_LIST, 500, 1021)),
    # 500/1000 on all twelve, through fault injection
    *(Case(f"{ep.value}-1000", ep, 1000, 500, fault(ep, 500, 1000)) for ep in EndpointId),
)  # fmt: skip


def applies(case: Case, version: ApiVersion) -> bool:
    entry = codes.lookup(case.endpoint, case.code)
    return (
        BY_ID[case.endpoint].exists_in(version)
        and entry.exists_in(version, case.endpoint)
        and version >= case.since
    )


RUNS = [(case, v) for case in CASES for v in SUPPORTED if applies(case, v)]


@pytest.mark.parametrize(("case", "version"), RUNS, ids=[f"{c.id}@{v}" for c, v in RUNS])
async def test_code_over_http(
    fresh: Callable[[ApiVersion], Awaitable[Ctx]], case: Case, version: ApiVersion
) -> None:
    ctx = await fresh(version)
    resp = await case.provoke(ctx)
    text = case.text(version)
    error(
        resp,
        case.status,
        case.code,
        description=text,
        message=case.message if case.message is not None else text,
    )


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

BEFORE_13 = [v for v in SUPPORTED if v < V("13.0")]
BEFORE_15 = [v for v in SUPPORTED if v < V("15.0")]
BEFORE_18 = [v for v in SUPPORTED if v < V("18.0")]
BEFORE_21 = [v for v in SUPPORTED if v < V("21.0")]
BEFORE_26 = [v for v in SUPPORTED if v < V("26.0")]


@pytest.mark.parametrize("version", BEFORE_15, ids=str)
async def test_no_1019_before_15_0(
    fresh: Callable[[ApiVersion], Awaitable[Ctx]], version: ApiVersion
) -> None:
    c = await fresh(version)
    resp = await rc({"backup_id": 1, "groups": ["USERS_CONFIG", "ASSETS_DATA"]})(c)
    assert resp.status_code == 201, resp.text


@pytest.mark.parametrize("version", BEFORE_18, ids=str)
async def test_offenses_need_no_deployment_before_18_0(
    fresh: Callable[[ApiVersion], Awaitable[Ctx]], version: ApiVersion
) -> None:
    c = await fresh(version)
    resp = await rc({"backup_id": 1, "groups": ["OFFENSES_DATA"]})(c)
    assert resp.status_code == 201, resp.text


@pytest.mark.parametrize("version", BEFORE_13, ids=str)
async def test_restore_site_ignored_before_13_0(
    fresh: Callable[[ApiVersion], Awaitable[Ctx]], version: ApiVersion
) -> None:
    c = await fresh(version)
    resp = await ru_site(restore_site_host_id=999, restore_site_event_collector_id=999)(c)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "REQUESTING"


@pytest.mark.parametrize("version", BEFORE_21, ids=str)
@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/haAction/failover"), ("POST", "/updateiptablesprefile")]
)
async def test_ha_helpers_unknown_before_21_0(
    fresh: Callable[[ApiVersion], Awaitable[Ctx]], version: ApiVersion, method: str, path: str
) -> None:
    c = await fresh(version)
    await c.restore()
    resp = await c.req(method, path, json={"status": "SUCCESS"})
    framework(
        resp,
        404,
        4,
        f"Relative path (/backup_and_restore{path}) is not a known endpoint "
        "resource. Please refer to documentation for list of endpoint resources.",
    )


async def test_ha_helpers_answer_the_latest_restore(
    fresh: Callable[[ApiVersion], Awaitable[Ctx]],
) -> None:
    c = await fresh(V("21.0"))
    rid = await c.restore()
    for method, path in (("GET", "/haAction/failover"), ("POST", "/updateiptablesprefile")):
        resp = await c.req(method, path, json={"status": "SUCCESS"})
        assert resp.status_code == 200, resp.text
        assert resp.json()["id"] == rid


@pytest.mark.parametrize("version", SUPPORTED, ids=str)
async def test_app_deployment_location_only_on_list_from_26_0(
    fresh: Callable[[ApiVersion], Awaitable[Ctx]], version: ApiVersion
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
    fresh: Callable[[ApiVersion], Awaitable[Ctx]], version: ApiVersion
) -> None:
    """A 1021 fault before 26.0 still answers as asked, without a documented description."""
    c = await fresh(version)
    resp = await fault(E.BACKUPS_LIST, 500, 1021)(c)
    error(resp, 500, 1021, description="")


@pytest.mark.parametrize("version", [v for v in SUPPORTED if v < V("15.0")], ids=str)
async def test_1036_1037_are_undocumented_before_15_0(
    fresh: Callable[[ApiVersion], Awaitable[Ctx]], version: ApiVersion
) -> None:
    c = await fresh(version)
    error(await fault(E.RESTORE_UPDATE, 422, 1036)(c), 422, 1036, description="")


async def test_fault_is_used_once_then_normal_service(
    fresh: Callable[[ApiVersion], Awaitable[Ctx]],
) -> None:
    c = await fresh(V("26.0"))
    error(await fault(E.BACKUPS_LIST, 500, 1021)(c), 500, 1021)
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
    fresh: Callable[[ApiVersion], Awaitable[Ctx]],
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
    fresh: Callable[[ApiVersion], Awaitable[Ctx]], version: ApiVersion
) -> None:
    c = await fresh(version)
    await c.control({"engine": {"restore": {"mode": "manual"}, "backup": {"mode": "manual"}}})
    calls: dict[EndpointId, httpx.Response] = {
        E.BACKUPS_LIST: await c.req("GET", "/backups"),
        E.BACKUP_CREATE: await bc("DATA", name="b104", host_id=104)(c),
        E.BACKUP_GET: await c.req("GET", "/backups/1"),
        E.BACKUP_UPDATE: await c.req("POST", "/backups/1", json={"description": "new"}),
        E.BACKUP_DELETE: await c.req("DELETE", "/backups/2"),
        E.RESTORE_CREATE: await rc({"backup_id": 1, "groups": GROUPS})(c),
        E.RESTORES_LIST: await c.req("GET", "/restores"),
        E.RESTORE_GET: await c.req("GET", "/restores/1"),
    }
    await c.req("DELETE", "/backups/4")  # cancel the DATA backup: it would block the restore
    await c.control({"step": {"kind": "backup", "id": 4}})
    calls[E.RESTORE_UPDATE] = await c.start(1)
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
