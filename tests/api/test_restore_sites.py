"""Who a record shows as its initiator, and when a restore is a cross-deployment one."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from engine.core.versions import SUPPORTED, ApiVersion
from engine.simulator import Simulator
from tests.support.http import API, make_client
from tests.support.worlds import GROUPS, make_world

V = ApiVersion.parse


async def start_restore(
    client: httpx.AsyncClient, body: dict[str, object], version: ApiVersion | None = None
) -> httpx.Response:
    headers = {} if version is None else {"Version": str(version)}
    created = await client.post(f"{API}/restores", json={"backup_id": 1, "groups": GROUPS})
    assert created.status_code == 201, created.text
    assert created.json()["is_cross_deployment_restore"] is False
    rid = created.json()["id"]
    return await client.post(f"{API}/restores/{rid}", json=body, headers=headers)


@pytest.mark.parametrize("version", SUPPORTED, ids=str)
async def test_a_restore_site_makes_a_cross_deployment_restore(
    client: httpx.AsyncClient, version: ApiVersion
) -> None:
    """Naming a restore site (13.0+) restores onto another deployment; before 13.0 the site
    fields are ignored and the restore stays on this one."""
    resp = await start_restore(client, {"status": "REQUESTING", "restore_site_host_id": 53},
                               version)  # fmt: skip
    assert resp.status_code == 200, resp.text
    expected = version >= V("13.0")
    assert resp.json()["is_cross_deployment_restore"] is expected
    again = await client.get(f"{API}/restores/{resp.json()['id']}")
    assert again.json()["is_cross_deployment_restore"] is expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"status": "REQUESTING"}, False),
        ({"status": "REQUESTING", "restore_site_host_id": None}, False),
        ({"status": "REQUESTING", "restore_site_event_collector_id": 104}, True),
        ({"status": "REQUESTING", "restore_site_host_id": 53,
          "restore_site_event_collector_id": 104}, True),
    ],
)  # fmt: skip
async def test_cross_deployment_follows_the_site(
    client: httpx.AsyncClient, body: dict[str, object], expected: bool
) -> None:
    resp = await start_restore(client, body)
    assert resp.status_code == 200, resp.text
    assert resp.json()["is_cross_deployment_restore"] is expected


async def test_a_refused_site_changes_nothing(client: httpx.AsyncClient) -> None:
    resp = await start_restore(client, {"status": "REQUESTING", "restore_site_host_id": 999})
    assert resp.status_code == 422
    (restore,) = (await client.get(f"{API}/restores")).json()
    assert restore["is_cross_deployment_restore"] is False
    assert restore["status"] == "PENDING"


async def test_cross_deployment_survives_completion(sim: Simulator) -> None:
    console = sim.console()
    await console.set_rule("restore", {"mode": "immediate"})
    restore = await console.create_restore(1, GROUPS)
    started = await console.request_restore(restore.id, restore_site_host_id=53)
    assert started.is_cross_deployment_restore is True
    done = await console.wait_for_restore(restore.id)
    assert done.status.value == "SUCCESS"
    assert done.is_cross_deployment_restore is True


async def test_initiated_by_shows_the_service_label_or_the_user(
    sim: Simulator, app: Starlette
) -> None:
    await sim.add_token("default", "soar-token", name="SOAR integration")
    other = await sim.create_console(
        "other", tokens=("other-token",), basic=(("analyst", "pw"),), world=make_world(),
        token_names={"other-token": "DR runbook"},
    )  # fmt: skip
    for console in (sim.console(), other):  # each backup done before the next one starts
        await console.set_rule("backup", {"mode": "immediate"})
    shown = {}
    for label, headers in [
        ("default token", {"SEC": "bre-sim-token"}),
        ("named token", {"SEC": "soar-token"}),
        ("other console token", {"SEC": "other-token"}),
        ("basic user", {"Authorization": "Basic YW5hbHlzdDpwdw=="}),  # analyst:pw
    ]:
        async with make_client(app, headers) as c:
            backup = await c.post(
                f"{API}/backups", headers={"backup_type": "CONFIG"},
                json={"name": f"b_{len(shown)}", "configuration_id": 1},
            )  # fmt: skip
            assert backup.status_code == 201, backup.text
            restore = await c.post(f"{API}/restores", json={"backup_id": 1, "groups": GROUPS})
            assert restore.status_code == 201, restore.text
            assert backup.json()["initiated_by"] == restore.json()["initiated_by"]
            shown[label] = restore.json()["initiated_by"]
            await c.delete(f"{API}/restores/{restore.json()['id']}")
    assert shown == {
        "default token": "API_user: bre-sim",
        "named token": "API_user: SOAR integration",
        "other console token": "API_user: DR runbook",
        "basic user": "analyst",
    }
