"""Consoles are isolated; outage mode; DELETE semantics of restores and backups, over HTTP."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from engine.simulator import Simulator
from tests.support.http import API, CONTROL, control, error, framework, make_client
from tests.support.worlds import GROUPS


async def start_restore(client: httpx.AsyncClient, backup_id: int = 1) -> int:
    rid = (
        await client.post(f"{API}/restores", json={"backup_id": backup_id, "groups": GROUPS})
    ).json()["id"]
    resp = await client.post(f"{API}/restores/{rid}", json={"status": "REQUESTING"})
    assert resp.status_code == 200, resp.text
    return int(rid)


# --- isolation ---


@pytest.fixture
async def other(sim: Simulator, app: Starlette) -> httpx.AsyncClient:
    await sim.create_console("c2", tokens=("t2",), non_admin_tokens=("ro2",))
    return make_client(app, {"SEC": "t2"})


async def test_consoles_do_not_share_records(
    client: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    async with other:
        await client.post(f"{API}/restores", json={"backup_id": 1, "groups": GROUPS})
        await client.post(f"{API}/backups/1", json={"description": "mine"})
        assert (await other.get(f"{API}/restores")).json() == []
        error(await other.get(f"{API}/restores/1"), 404, 1001)
        assert (await other.get(f"{API}/backups/1")).json()["description"] == "nightly backup"
        # same ids on both: each console numbers its own records
        created = await other.post(f"{API}/restores", json={"backup_id": 1, "groups": GROUPS})
        assert created.json()["id"] == 1


async def test_consoles_do_not_share_gates_rules_or_clocks(
    sim: Simulator, client: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    async with other:
        await control(client, {"engine": {"restore": {"mode": "manual"}}, "rebalancing": False})
        await start_restore(client)
        # a running restore on default gives 1016 there ...
        rid = await client.post(f"{API}/restores", json={"backup_id": 2, "groups": GROUPS})
        error(rid, 409, 1011)
        error(
            await client.post(
                f"{API}/backups",
                json={"name": "b", "configuration_id": 1},
                headers={"backup_type": "CONFIG"},
            ),
            409,
            1016,
        )
        # ... and nothing on c2, whose rule is still auto
        c2_rid = await start_restore(other)
        before = sim.console("default").clock.now_ms()
        await control(other, {"advance": "1h"}, console="c2")
        assert sim.console("default").clock.now_ms() == before
        assert sim.console("c2").clock.now_ms() == before + 3_600_000
        await sim.console("c2").wait_for_restore(c2_rid)
        assert (await other.get(f"{API}/restores/{c2_rid}")).json()["status"] == "SUCCESS"
        assert (await client.get(f"{API}/restores/1")).json()["status"] == "REQUESTING"
        # rebalancing and faults stay on their console
        await control(
            other, {"rebalancing": True, "fault": {"path": f"{API}/backups", "status": 500}}, "c2"
        )
        error(await other.get(f"{API}/backups"), 500, 1000)
        assert (await client.get(f"{API}/backups")).status_code == 200
        rid2 = (
            await other.post(f"{API}/restores", json={"backup_id": 1, "groups": GROUPS})
        ).json()["id"]
        error(await other.post(f"{API}/restores/{rid2}", json={"status": "REQUESTING"}), 409, 1014)


async def test_tokens_belong_to_their_console(app: Starlette, other: httpx.AsyncClient) -> None:
    async with other, make_client(app, {"SEC": "ro2"}) as ro:
        framework(await ro.get(f"{API}/backups"), 403, 26)
        assert (await ro.get("/api/help/versions")).status_code == 200
        assert (await other.get(f"{CONTROL}/current")).json()["id"] == "c2"


# --- outage mode ---


async def test_outage_during_restore(sim: Simulator, client: httpx.AsyncClient) -> None:
    await control(
        client, {"outage_during_restore": True, "engine": {"restore": {"mode": "manual"}}}
    )
    rid = await start_restore(client)
    paths = [
        f"{API}/restores/{rid}",
        f"{API}/restores",
        f"{API}/backups",
        "/api/help/versions",
        "/api/help/endpoints",
        "/api/config/deployment/hosts",
        "/api/nowhere",
    ]
    for status in ("REQUESTING", "INITIALIZING", "IN_PROGRESS"):
        history = (await client.get(f"{CONTROL}/default/history")).json()
        assert [h["to"] for h in history if h["kind"] == "restore"][-1] == status
        for path in paths:
            framework(
                await client.get(path),
                503,
                20,
                "All services are stopped until the restore is completed.",
            )
        framework(
            await client.post(f"{API}/restores/{rid}", json={"status": "REQUESTING"}), 503, 20
        )
        framework(await client.get(f"{API}/restores", headers={"Version": "bogus"}), 503, 20)
        await control(client, {"step": "restore"})
    resp = await client.get(f"{API}/restores/{rid}")
    assert resp.status_code == 200
    done = resp.json()
    assert done["status"] == "SUCCESS"
    assert done["backup_id"] is None
    assert done["time_completed"] is not None


async def test_outage_mode_off_serves_during_restore(client: httpx.AsyncClient) -> None:
    await control(client, {"engine": {"restore": {"mode": "manual"}}})
    rid = await start_restore(client)
    assert (await client.get(f"{API}/restores/{rid}")).json()["status"] == "REQUESTING"


async def test_outage_needs_credentials_first(
    anonymous: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    await control(
        client, {"outage_during_restore": True, "engine": {"restore": {"mode": "manual"}}}
    )
    await start_restore(client)
    framework(await anonymous.get(f"{API}/backups"), 401, 18)


# --- DELETE semantics ---


async def test_delete_restore_is_204_without_body(client: httpx.AsyncClient) -> None:
    await client.post(f"{API}/restores", json={"backup_id": 1, "groups": GROUPS})
    resp = await client.delete(f"{API}/restores/1")
    assert resp.status_code == 204
    assert resp.content == b""
    error(await client.get(f"{API}/restores/1"), 404, 1001)
    error(await client.delete(f"{API}/restores/1"), 404, 1001)


async def test_deleted_running_restore_keeps_the_gate(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    await control(client, {"engine": {"restore": {"mode": "manual"}}})
    rid = await start_restore(client)
    resp = await client.delete(f"{API}/restores/{rid}")
    assert resp.status_code == 204
    assert resp.content == b""
    error(await client.get(f"{API}/restores/{rid}"), 404, 1001)
    assert (await client.get(f"{API}/restores")).json() == []
    created = await client.post(f"{API}/restores", json={"backup_id": 2, "groups": GROUPS})
    assert created.status_code == 201  # no 1011: the running record is gone
    new = created.json()["id"]
    assert new == rid + 1
    error(
        await client.post(f"{API}/restores/{new}", json={"status": "REQUESTING"}),
        409,
        1016,
        message="A restore is currently in progress. No new backup or restore processes can be "
        "initiated while the current process is running.",
    )
    # the hidden job runs to its end; then the gate opens
    for _ in range(3):
        await control(client, {"step": "restore"})
    assert (
        await client.post(f"{API}/restores/{new}", json={"status": "REQUESTING"})
    ).status_code == 200
    error(await client.get(f"{API}/restores/{rid}"), 404, 1001)


async def test_delete_backup_is_202_deleting(sim: Simulator, client: httpx.AsyncClient) -> None:
    await control(client, {"engine": {"backup": {"mode": "manual"}}})
    resp = await client.delete(f"{API}/backups/2")
    assert resp.status_code == 202
    body = resp.json()
    assert body["id"] == 2
    assert body["status"] == "DELETING"
    assert "app_deployment_location" not in body
    assert (await client.get(f"{API}/backups/2")).json()["status"] == "DELETING"
    await control(client, {"step": "backup"})
    error(await client.get(f"{API}/backups/2"), 404, 1001)


async def test_delete_running_backup_is_202_cancelling(client: httpx.AsyncClient) -> None:
    await control(client, {"engine": {"backup": {"mode": "manual"}}})
    created = await client.post(
        f"{API}/backups",
        json={"name": "run", "configuration_id": 1},
        headers={"backup_type": "CONFIG"},
    )
    bid = created.json()["id"]
    resp = await client.delete(f"{API}/backups/{bid}")
    assert resp.status_code == 202
    assert resp.json()["status"] == "CANCELLING"
    error(await client.delete(f"{API}/backups/{bid}"), 422, 1017)


async def test_restore_lifecycle_over_http(sim: Simulator, client: httpx.AsyncClient) -> None:
    rid = await start_restore(client)
    await sim.console().wait_for_restore(rid)
    done = (await client.get(f"{API}/restores/{rid}")).json()
    assert done["status"] == "SUCCESS"
    assert done["backup_id"] is None
    error(await client.delete(f"{API}/restores/{rid}"), 422, 1017)
    error(await client.post(f"{API}/restores/{rid}", json={"status": "REQUESTING"}), 422, 1012)
