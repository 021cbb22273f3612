"""The simulator's own control surface under /simulator (not QRadar's: plain JSON errors)."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from engine.api.app import create_app
from engine.simulator import Simulator

from .conftest import API, CONTROL, GROUPS, control, error, make_client


async def test_health_and_ready(anonymous: httpx.AsyncClient) -> None:
    assert (await anonymous.get("/simulator/health")).json() == {"status": "ok"}
    resp = await anonymous.get("/simulator/ready")
    assert resp.status_code == 200
    assert resp.json() == {"ready": True}


async def test_consoles_create_use_delete(app: Starlette, client: httpx.AsyncClient) -> None:
    resp = await client.post(CONTROL, json={"id": "c9", "tokens": ["t9"]})
    assert resp.status_code == 201, resp.text
    assert resp.json()["id"] == "c9"
    assert resp.json()["tokens"] == ["t9"]
    assert "c9" in (await client.get(CONTROL)).json()["consoles"]
    assert (await client.get(f"{CONTROL}/c9")).json()["id"] == "c9"
    async with make_client(app, {"SEC": "t9"}) as c9:
        assert (await c9.get(f"{API}/backups")).status_code == 200
        assert (await client.delete(f"{CONTROL}/c9")).status_code == 204
        error(await c9.get(f"{API}/backups"), 401, 18)
    assert (await client.get(f"{CONTROL}/c9")).status_code == 404
    assert (await client.post(CONTROL, json={"bogus": 1})).status_code == 400
    assert (await client.post(CONTROL, json=[1])).status_code == 400
    assert (await client.post(CONTROL, json={"id": "default"})).status_code == 400


async def test_control_errors_are_400(client: httpx.AsyncClient) -> None:
    for body in (
        {"nope": 1},
        {"rebalancing": "yes"},
        {},
        [1],
        {"advance": "soon"},
        {"fault": {"path": "x"}},
        {"step": "nothing"},
    ):
        resp = await client.post(f"{CONTROL}/default/control", json=body)
        assert resp.status_code == 400, (body, resp.text)
        assert "error" in resp.json()
    assert (
        await client.post(f"{CONTROL}/nobody/control", json={"rebalancing": True})
    ).status_code == 404


async def test_clock(client: httpx.AsyncClient) -> None:
    start = (await client.get(f"{CONTROL}/default/clock")).json()
    assert start["virtual"] is True
    now = start["now_ms"]
    assert (await client.post(f"{CONTROL}/default/clock", json={"advance": "90s"})).json()[
        "now_ms"
    ] == now + 90_000
    assert (await client.post(f"{CONTROL}/default/clock", json={"set": now + 10**7})).json()[
        "now_ms"
    ] == now + 10**7
    assert (await client.post(f"{CONTROL}/default/clock", json={"bogus": 1})).status_code == 400
    assert (await client.post(f"{CONTROL}/default/clock", json={"advance": "x"})).status_code == 400
    # next: jump to the engine's next deadline (a requested restore in auto mode has one)
    rid = (await client.post(f"{API}/restores", json={"backup_id": 1, "groups": GROUPS})).json()[
        "id"
    ]
    await client.post(f"{API}/restores/{rid}", json={"status": "REQUESTING"})
    before = (await client.get(f"{CONTROL}/default/clock")).json()
    jumped = (await client.post(f"{CONTROL}/default/clock", json={"next": True})).json()
    assert jumped["jumped"] is True
    assert jumped["now_ms"] > before["now_ms"]


async def test_control_advance_moves_restores(sim: Simulator, client: httpx.AsyncClient) -> None:
    rid = (await client.post(f"{API}/restores", json={"backup_id": 1, "groups": GROUPS})).json()[
        "id"
    ]
    await client.post(f"{API}/restores/{rid}", json={"status": "REQUESTING"})
    for _ in range(20):
        await control(client, {"advance": "1m"})
        if (await client.get(f"{API}/restores/{rid}")).json()["status"] == "SUCCESS":
            break
    assert (await client.get(f"{API}/restores/{rid}")).json()["status"] == "SUCCESS"


async def test_journal_is_bounded_and_records_requests(sim: Simulator) -> None:
    app = create_app(sim, journal_limit=5)
    async with make_client(app) as c:
        for i in range(8):
            await c.get(f"{API}/backups/{i}")
        journal = (await c.get(f"{CONTROL}/default/journal")).json()
        assert journal["total"] == 8
        entries = journal["entries"]
        assert len(entries) == 5
        assert [e["path"] for e in entries] == [f"{API}/backups/{i}" for i in range(3, 8)]
        assert all(e["method"] == "GET" for e in entries)
        assert [e["status"] for e in entries] == [200, 404, 404, 404, 404]  # 1-3 exist
        assert entries[-1]["response"]["code"] == 1001
        since = (
            await c.get(f"{CONTROL}/default/journal", params={"since": entries[-2]["seq"]})
        ).json()
        assert len(since["entries"]) == 1
        assert (await c.delete(f"{CONTROL}/default/journal")).status_code == 204
        assert (await c.get(f"{CONTROL}/default/journal")).json()["entries"] == []


async def test_history_lists_transitions(client: httpx.AsyncClient) -> None:
    await control(client, {"engine": {"restore": {"mode": "manual"}}})
    rid = (await client.post(f"{API}/restores", json={"backup_id": 1, "groups": GROUPS})).json()[
        "id"
    ]
    await client.post(f"{API}/restores/{rid}", json={"status": "REQUESTING"})
    await control(client, {"step": "restore"})
    history = [
        h for h in (await client.get(f"{CONTROL}/default/history")).json() if h["kind"] == "restore"
    ]
    assert [(h["from"], h["to"]) for h in history] == [
        ("PENDING", "REQUESTING"),
        ("REQUESTING", "INITIALIZING"),
    ]
    assert all(h["id"] == rid and isinstance(h["at_ms"], int) for h in history)


async def test_faults_list_clear_and_latency(client: httpx.AsyncClient) -> None:
    await control(
        client,
        {
            "fault": {
                "method": "GET",
                "path": f"{API}/backups",
                "status": 500,
                "code": 1021,
                "times": 2,
            }
        },
    )
    faults = (await client.get(f"{CONTROL}/default/faults")).json()
    assert faults[0]["code"] == 1021
    assert faults[0]["times"] == 2
    assert faults[0]["hits"] == 0
    error(await client.get(f"{API}/backups"), 500, 1021)
    assert (await client.get(f"{CONTROL}/default/faults")).json()[0]["hits"] == 1
    assert (await client.delete(f"{CONTROL}/default/faults")).status_code == 204
    assert (await client.get(f"{CONTROL}/default/faults")).json() == []
    assert (await client.get(f"{API}/backups")).status_code == 200
    await control(
        client, {"fault": {"path": f"{API}/restores/{{id}}", "status": 503, "message": "down"}}
    )
    resp = await client.get(f"{API}/restores/7")
    error(resp, 503, 0, description="", message="down")
    await control(client, {"fault": {"path": f"{API}/restores", "latency": "5ms"}})
    assert (await client.get(f"{API}/restores")).status_code == 200


async def test_reset(client: httpx.AsyncClient) -> None:
    await control(
        client,
        {"rebalancing": True, "fault": {"path": f"{API}/restores", "status": 500, "times": None}},
    )
    await client.post(f"{API}/backups/1", json={"description": "changed"})
    await client.get(f"{API}/backups/1")
    resp = await client.post(f"{CONTROL}/default/reset")
    assert resp.status_code == 200
    assert resp.json() == {"reset": True}
    assert (await client.get(f"{API}/restores")).json() == []
    assert (await client.get(f"{API}/backups/1")).json()["description"] == "nightly backup"
    assert (await client.get(f"{CONTROL}/default")).json()["rebalancing"] is False
    journal = (await client.get(f"{CONTROL}/default/journal")).json()
    assert [e["path"] for e in journal["entries"]] == [f"{API}/restores", f"{API}/backups/1"]


async def test_current_console_and_tokens(app: Starlette, client: httpx.AsyncClient) -> None:
    assert (await client.get(f"{CONTROL}/current")).json()["id"] == "default"
    resp = await client.post(f"{CONTROL}/default/tokens", json={"token": "extra", "admin": False})
    assert resp.status_code == 201
    async with make_client(app, {"SEC": "extra"}) as extra:
        error(await extra.get(f"{API}/backups"), 403, 26)
    assert (await client.post(f"{CONTROL}/default/tokens", json={})).status_code == 400
