"""The simulator's own control surface under /simulator (not QRadar's: plain JSON errors)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from engine.api.app import create_app
from engine.api.control import OPERATIONS, Operation
from engine.simulator import Settings, Simulator
from tests.support.http import API, CONTROL, TOKEN, control, error, make_client
from tests.support.worlds import GROUPS


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


async def test_journal_is_bounded_and_records_requests() -> None:
    async with Simulator(Settings(journal_entries=5)) as sim, make_client(create_app(sim)) as c:
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


# --- issue 9.4: every control input is checked, named, and never stored when bad ------------


async def refused(resp: httpx.Response, field: str) -> dict[str, Any]:
    """A 400 of the control surface naming `field`."""
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["field"] == field, body
    assert body["error"].startswith(field + ": "), body
    return dict(body)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": [1]}, "id"),
        ({"id": {"a": 1}}, "id"),
        ({"id": 5}, "id"),
        ({"id": "current"}, "id"),
        ({"rules": [1]}, "rules"),
        ({"rules": "abc"}, "rules"),
        ({"rules": {"restore": {"mode": "bogus"}}}, "rules.restore.mode"),
        ({"rules": {"restore": {"in_progress": "99999999999999999999h"}}},
         "rules.restore.in_progress"),
        ({"seed": "abc"}, "seed"),
        ({"seed": 2**63}, "seed"),
        ({"tokens": ["a b"]}, "tokens[0]"),
        ({"tokens": ["t", "t"]}, "tokens[1]"),
        ({"basic": [["user:x", "pw"]]}, "basic[0][0]"),
        ({"world": {"hosts": [{"id": 2**63}]}}, "world.hosts[0].id"),
        ({"world": {"backups": [{"id": 1, "name": "a"}, {"id": 2, "name": "a"}]}},
         "world.backups[1].name"),
        ({"clock": "sundial"}, "clock"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)  # fmt: skip
async def test_console_creation_refuses_bad_values_and_stores_nothing(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    before = (await client.get(CONTROL)).json()
    await refused(await client.post(CONTROL, json=body), field)
    assert (await client.get(CONTROL)).json() == before  # and the list still answers


async def test_a_seed_too_large_for_json_numbers_is_refused(client: httpx.AsyncClient) -> None:
    """`1e309` decodes as infinity: it was stored, and the console's describe answered 500."""
    resp = await client.post(CONTROL, content=b'{"id": "inf", "seed": 1e309}')
    await refused(resp, "seed")
    assert (await client.get(f"{CONTROL}/inf")).status_code == 404


@pytest.mark.parametrize(
    ("actions", "field"),
    [
        ({"add_backup": {"id": 2**63, "name": "big"}}, "add_backup.id"),
        ({"add_backup": {"id": 9, "name": "nightly_1"}}, "add_backup"),  # the name is taken
        ({"add_backup": {"id": 9, "name": "x", "description": {"a": 1}}},
         "add_backup.description"),
        ({"backup_missing": 2**63}, "backup_missing"),
        ({"job_rule": {"kind": "restore", "id": 2**63, "rule": {}}}, "job_rule.id"),
        ({"job_rule": {"kind": "backup", "id": 1, "rule": {"requesting": "1s"}}},
         "job_rule.rule.requesting"),
        ({"world": {"hosts": [{"id": 2**63}]}}, "world.hosts[0].id"),
        ({"engine": {"restore": {"in_progress": "99999999999999999999h"}}},
         "engine.restore.in_progress"),
        ({"advance": "99999999999999999999h"}, "advance"),
        ({"advance": 1e308}, "advance"),
        ({"set_clock": -1}, "set_clock"),
        ({"seed": 1.5}, "seed"),
        ({"fault": {"path": "/api/x", "status": 500, "times": 0}}, "fault.times"),
        ({"step": {"kind": "restore", "id": "1"}}, "step.id"),
        ({"rebalancing": True, "seed": "x"}, "seed"),  # checked before the first one applies
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)  # fmt: skip
async def test_control_refuses_bad_values_and_changes_nothing(
    client: httpx.AsyncClient, actions: dict[str, Any], field: str
) -> None:
    backups = (await client.get(f"{API}/backups")).json()
    before = (await client.get(f"{CONTROL}/default")).json()
    await refused(await client.post(f"{CONTROL}/default/control", json=actions), field)
    assert (await client.get(f"{CONTROL}/default")).json() == before
    assert (await client.get(f"{API}/backups")).json() == backups


async def test_a_backup_that_cannot_go_missing_is_a_400(client: httpx.AsyncClient) -> None:
    created = await client.post(
        f"{API}/backups", headers={"backup_type": "CONFIG"},
        json={"name": "running", "configuration_id": 1},
    )  # fmt: skip
    assert created.json()["status"] == "INITIALIZING"
    resp = await client.post(
        f"{CONTROL}/default/control", json={"backup_missing": created.json()["id"]}
    )
    await refused(resp, "backup_missing")


async def test_rules_given_at_creation_keep_their_units(app: Starlette) -> None:
    """Rules are stored as written: `2s` stays two seconds (not 2000, read as seconds)."""
    async with make_client(app) as client:
        created = await client.post(CONTROL, json={
            "id": "fast", "tokens": ["fast"], "rules": {"restore": {"requesting": "2s"}},
        })  # fmt: skip
        assert created.status_code == 201, created.text
        assert created.json()["settings"]["rules"] == {"restore": {"requesting": "2s"}}
        sec = {"SEC": "fast"}
        rid = (await client.post(f"{API}/restores", headers=sec,
                                 json={"backup_id": 1, "groups": GROUPS})).json()["id"]  # fmt: skip
        await client.post(f"{API}/restores/{rid}", headers=sec, json={"status": "REQUESTING"})
        await client.post(f"{CONTROL}/fast/clock", json={"advance": "2s"})
        restore = (await client.get(f"{API}/restores/{rid}", headers=sec)).json()
        assert restore["status"] == "INITIALIZING"


async def test_later_requests_work_on_a_console_made_with_checked_values(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """What 9.4 broke: a console stored with `mode: bogus` or `seed: "abc"` answered 500/1000
    to every REQUESTING or POST /backups; such a console is now never made."""
    for body in ({"rules": {"restore": {"mode": "bogus"}}}, {"seed": "abc"}):
        resp = await client.post(CONTROL, json={"id": "b", "tokens": ["b"], **body})
        assert resp.status_code == 400
    valid = {"id": "b", "tokens": ["b"], "seed": 3, "rules": {"restore": {"mode": "manual"}}}
    created = await client.post(CONTROL, json=valid)
    assert created.status_code == 201, created.text
    async with make_client(app, {"SEC": "b"}) as b:
        rid = (await b.post(f"{API}/restores", json={"backup_id": 1, "groups": GROUPS})).json()
        requested = await b.post(f"{API}/restores/{rid['id']}", json={"status": "REQUESTING"})
        assert requested.status_code == 200, requested.text
        backup = await b.post(f"{API}/backups", headers={"backup_type": "DATA"},
                              json={"name": "d", "configuration_id": 1})  # fmt: skip
        assert backup.status_code in (201, 409), backup.text


async def test_clock_and_journal_inputs_are_checked(client: httpx.AsyncClient) -> None:
    clock = f"{CONTROL}/default/clock"
    await refused(await client.post(clock, json={"next": True, "limit_ms": True}), "limit_ms")
    await refused(await client.post(clock, json={"advance": "1s", "set": 5}), "body")
    await refused(await client.post(clock, json={"set": 2**63}), "set")
    await refused(await client.get(f"{CONTROL}/default/journal?since=%C2%B2"), "since")
    await refused(await client.post(f"{CONTROL}/default/tokens", json={"token": 7}), "token")
    await refused(await client.post(f"{CONTROL}/default/reset", json=[1]), "reset")


async def test_a_malformed_body_is_a_400_naming_the_body(client: httpx.AsyncClient) -> None:
    for raw in (b"{", b'{"rebalancing": NaN}', b"[" * 100_000, b"\xff"):
        resp = await client.post(f"{CONTROL}/default/control", content=raw)
        await refused(resp, "body")


# --- issue 9.2: an admin credential, and tokens that stay with their console ---------------

GUARDED = [op for op in OPERATIONS if not op.open]


@pytest.mark.parametrize("operation", GUARDED, ids=[f"{op.method} {op.path}" for op in GUARDED])
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", "Basic YWRtaW46YWRtaW4=", "Bearer"],
    ids=["none", "wrong", "basic", "empty"],
)
async def test_the_control_surface_needs_the_admin_credential(
    app: Starlette, operation: Operation, authorization: str | None
) -> None:
    """A console's SEC token (or Basic) is no admin credential: 401 before anything happens."""
    headers = {"SEC": TOKEN} if authorization is None else {"Authorization": authorization}
    async with make_client(app, headers, admin=False) as c:
        path = operation.path.replace("{console}", "default")
        resp = await c.request(operation.method, path, json={"rebalancing": True})
        assert resp.status_code == 401, resp.text
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert "error" in resp.json()
    async with make_client(app) as admin:
        assert (await admin.get(f"{CONTROL}/default")).json()["rebalancing"] is False
        assert (await admin.get(CONTROL)).json()["consoles"] == ["default"]


async def test_health_and_readiness_stay_open(anonymous: httpx.AsyncClient) -> None:
    for op in OPERATIONS:
        if op.open:
            assert (await anonymous.request(op.method, op.path)).status_code == 200


async def test_an_explicit_admin_token_is_the_one_accepted() -> None:
    async with Simulator(Settings(admin_token="s3cret-admin")) as sim:
        assert sim.admin_token == "s3cret-admin"
        app = create_app(sim)
        async with make_client(app, {"Authorization": "Bearer s3cret-admin"}) as c:
            assert (await c.get(CONTROL)).status_code == 200


async def test_each_simulator_makes_its_own_admin_token() -> None:
    async with Simulator() as one, Simulator() as two:
        assert len(one.admin_token) >= 32
        assert one.admin_token != two.admin_token


async def test_control_auth_off_answers_anyone() -> None:
    sim = Simulator(Settings(control_auth=False))
    async with sim, make_client(create_app(sim), {}, admin=False) as c:
        assert (await c.get(CONTROL)).status_code == 200
        # with no admin credential to send, Basic can name the current console
        basic = {"Authorization": "Basic YWRtaW46YWRtaW4="}
        assert (await c.get(f"{CONTROL}/current", headers=basic)).json()["id"] == "default"


async def test_a_token_of_another_console_is_refused_not_moved(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """`INSERT OR REPLACE` moved a token to whichever console named it last (9.2)."""
    assert (await client.post(CONTROL, json={"id": "c1", "tokens": ["t1"]})).status_code == 201
    resp = await client.post(f"{CONTROL}/default/tokens", json={"token": "t1"})
    await refused(resp, "token")
    await refused(await client.post(CONTROL, json={"tokens": [TOKEN]}), "tokens[0]")
    await refused(await client.post(CONTROL, json={"non_admin_tokens": ["t1"]}),
                  "non_admin_tokens[0]")  # fmt: skip
    await refused(await client.post(CONTROL, json={"basic": [["admin", "admin"]]}), "basic[0]")
    async with make_client(app, {"SEC": "t1"}) as t1:
        assert (await t1.get(f"{CONTROL}/current")).json()["id"] == "c1"
    assert (await client.get(f"{CONTROL}/current")).json()["id"] == "default"
    assert (await client.get(CONTROL)).json()["consoles"] == ["c1", "default"]


async def test_a_token_of_its_own_console_may_change_capability(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    resp = await client.post(f"{CONTROL}/default/tokens", json={"token": "op", "admin": True})
    assert resp.status_code == 201
    async with make_client(app, {"SEC": "op"}) as op:
        assert (await op.get(f"{API}/backups")).status_code == 200
        await client.post(f"{CONTROL}/default/tokens", json={"token": "op", "admin": False})
        error(await op.get(f"{API}/backups"), 403, 26)  # not a stale cached capability


# --- issue 9.6: bounded journal and control bodies -----------------------------------------


async def test_the_journal_keeps_bounded_headers_and_bytes() -> None:
    """Three 1 MB headers on 300 requests grew the journal to a gigabyte (9.6)."""
    settings = Settings(journal_header_bytes=1000, journal_bytes=100_000)
    async with Simulator(settings) as sim, make_client(create_app(sim)) as c:
        big = "x" * 200_000
        for i in range(40):
            resp = await c.get(f"{API}/backups/{i}",
                               headers={"Range": big, "fields": big, "Version": big})  # fmt: skip
            assert resp.status_code < 500
        journal = (await c.get(f"{CONTROL}/default/journal")).json()
        entries = journal["entries"]
        assert journal["total"] == 40
        assert 0 < len(entries) < 40  # the oldest went first
        assert entries[-1]["path"] == f"{API}/backups/39"
        for entry in entries:
            assert sum(len(k) + len(v) for k, v in entry["headers"].items()) <= 1000
        kept = sim_journal_bytes(entries)
        assert kept <= 100_000


def sim_journal_bytes(entries: list[dict[str, Any]]) -> int:
    return sum(
        len(e["path"]) + len(e["query"]) + len(e["body"] or "") + len(json.dumps(e["response"]))
        + sum(len(k) + len(v) for k, v in e["headers"].items())
        for e in entries
    )  # fmt: skip


async def test_a_control_body_over_the_limit_is_refused_before_it_is_read() -> None:
    sim = Simulator(Settings(control_body_bytes=1000))
    async with sim, make_client(create_app(sim)) as c:
        padded = {"rebalancing": True, "world": {"hosts": [{"id": 1, "hostname": "x" * 2000}]}}
        resp = await c.post(f"{CONTROL}/default/control", json=padded)
        assert resp.status_code == 413, resp.text
        assert resp.json()["field"] == "body"

        async def chunks() -> Any:  # no Content-Length: counted while it streams
            for _ in range(10):
                yield b" " * 200

        resp = await c.post(f"{CONTROL}/default/control", content=chunks())
        assert resp.status_code == 413
        assert (await c.get(f"{CONTROL}/default")).json()["rebalancing"] is False
        small = await c.post(f"{CONTROL}/default/control", json={"rebalancing": True})
        assert small.status_code == 200


async def test_an_unknown_route_under_simulator_answers_json(client: httpx.AsyncClient) -> None:
    missing = await client.get("/simulator/nothing/here")
    assert missing.status_code == 404
    assert "error" in missing.json()
    wrong = await client.put(f"{CONTROL}/default")
    assert wrong.status_code == 405
    assert "error" in wrong.json()


async def test_a_console_runs_the_release_it_is_created_on(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    made = await client.post(CONTROL, json={"id": "up6", "tokens": ["up6-token"],
                                            "release": "7.5.0 UpdatePackage 6"})  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.json()["settings"]["release"] == "7.5.0 UP6"
    async with make_client(app, {"SEC": "up6-token"}) as up6:
        about = (await up6.get("/api/system/about")).json()
        assert about["release_name"].startswith("7.5.0 UpdatePackage 6")
        newest = await up6.get(f"{API}/backups", headers={"Version": "20.0"})
        assert newest.status_code == 200
        error(await up6.get(f"{API}/backups", headers={"Version": "21.0"}), 422, 13)


@pytest.mark.parametrize("release", ["7.5.0 UP99", "", 7.5, ["7.5.0 UP6"]])
async def test_an_unknown_release_is_a_400_and_stores_nothing(
    client: httpx.AsyncClient, release: Any
) -> None:
    before = (await client.get(CONTROL)).json()
    answer = await client.post(CONTROL, json={"id": "bad-release", "release": release})
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == "release"
    assert (await client.get(CONTROL)).json() == before


async def test_a_token_added_with_a_name_labels_what_it_makes(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    added = await client.post(f"{CONTROL}/default/tokens",
                              json={"token": "soar-token", "name": "SOAR"})  # fmt: skip
    assert added.status_code == 201, added.text
    async with make_client(app, {"SEC": "soar-token"}) as soar:
        made = await soar.post(f"{API}/restores", json={"backup_id": 1, "groups": GROUPS})
    assert made.json()["initiated_by"] == "API_user: SOAR"
