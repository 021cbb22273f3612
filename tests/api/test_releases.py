"""A console runs one QRadar release: the versions it knows, deprecates and refuses, over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from engine.core.releases import RELEASES, Release, read_release
from engine.core.versions import ApiVersion
from engine.simulator import Simulator
from tests.support.http import API, error, framework, make_client
from tests.support.worlds import make_world

V = ApiVersion.parse
NOT_VALID = (
    "Version ({}) from header parameter (Version) is not a valid version. Please refer to "
    "documentation for list of valid versions."
)


async def console_on(sim: Simulator, app: Starlette, release: str) -> httpx.AsyncClient:
    token = "t-" + release.replace(" ", "-")
    await sim.create_console(token, tokens=(token,), world=make_world(), release=release)
    return make_client(app, {"SEC": token})


@pytest.fixture
async def up6(sim: Simulator, app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with await console_on(sim, app, "7.5.0 UP6") as c:
        yield c


async def test_up6_serves_20_0_as_the_latest(up6: httpx.AsyncClient) -> None:
    resp = await up6.get(f"{API}/backups")
    assert resp.status_code == 200
    assert "app_deployment_location" not in resp.json()[0]  # 26.0+ only
    assert "Deprecated" not in resp.headers
    # no haAction before 21.0: unknown in the version served by default
    framework(await up6.get(f"{API}/haAction/x"), 404, 4)


@pytest.mark.parametrize("header", ["28.0", "21.0", "27", "21", "9999.0", "20.5"])
async def test_up6_refuses_versions_above_its_own(up6: httpx.AsyncClient, header: str) -> None:
    framework(await up6.get(f"{API}/backups", headers={"Version": header}), 422, 13,
              NOT_VALID.format(header))  # fmt: skip


@pytest.mark.parametrize(("header", "deprecated"), [("20.0", False), ("18.0", False),
                                                    ("17.0", True), ("12.0", True)])  # fmt: skip
async def test_up6_deprecates_its_rows_versions(
    up6: httpx.AsyncClient, header: str, deprecated: bool
) -> None:
    resp = await up6.get(f"{API}/restores", headers={"Version": header})
    assert resp.status_code == 200
    assert ("Deprecated" in resp.headers) is deprecated


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r.name)
async def test_each_release_serves_up_to_its_newest(
    sim: Simulator, app: Starlette, release: Release
) -> None:
    async with await console_on(sim, app, release.name) as client:
        newest = release.newest
        for header in (None, str(newest), str(newest.major)):
            headers = {} if header is None else {"Version": header}
            resp = await client.get(f"{API}/restores/999", headers=headers)
            error(resp, 404, 1001)  # the endpoint exists in that version
            assert "Deprecated" not in resp.headers
        above = f"{newest.major + 1}.0"
        framework(await client.get(f"{API}/restores", headers={"Version": above}), 422, 13,
                  NOT_VALID.format(above))  # fmt: skip
        ha = await client.get(f"{API}/haAction/x")
        assert ha.json()["code"] == (1001 if newest >= V("21.0") else 4)
        older = await client.get(f"{API}/restores", headers={"Version": "12.0"})
        assert ("Deprecated" in older.headers) is release.deprecated(V("12.0"))


@pytest.mark.parametrize("header", ["8.1", "9.1", "9.2", "10.1", "8", "9", "10"])
async def test_real_older_versions_are_known(client: httpx.AsyncClient, header: str) -> None:
    """The ibm.qradar collection sends 9.1: a known version, where the family did not exist
    yet (404/4 on its paths), and the help endpoints answer."""
    framework(await client.get(f"{API}/backups", headers={"Version": header}), 404, 4)
    resp = await client.get("/api/help/versions", headers={"Version": header})
    assert resp.status_code == 200


async def test_default_console_runs_the_newest_release(sim: Simulator) -> None:
    assert sim.console().release is read_release("7.5.0 UP14")


async def test_create_console_refuses_an_unknown_release(sim: Simulator) -> None:
    with pytest.raises(ValueError, match=r"7\.5\.0 UP14"):
        await sim.create_console("bad", release="7.5.0 UP5")
    assert "bad" not in sim.consoles()


async def test_a_console_keeps_its_release(sim: Simulator) -> None:
    console = await sim.create_console("old", release="7.4.2")
    assert console.release.newest == V("15.0")
    await console.reset()
    assert (await console.refresh()).settings["release"] == "7.4.2"
    assert console.release.name == "7.4.2"
