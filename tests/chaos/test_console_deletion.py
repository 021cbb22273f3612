"""A console deleted through one process is gone in every process sharing the database, at its
next request: 401 for its tokens, 404 on its control paths, not listed, its worker stopped.

Regression (issue 9, point 5): the other process kept it half alive from its caches: its token
still worked (GET answered `200 []`, POST /restores 422/1003), and `/simulator/consoles/{id}`
answered 500 (`ConsoleMissing`) while the console was still listed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from engine.api.app import create_app
from engine.runtime.console import Console
from engine.simulator import Settings, Simulator
from engine.store.base import Credential
from tests.support.chaos import Served, assert_no_traceback, eventually
from tests.support.http import API

pytestmark = pytest.mark.chaos

DOOMED = "doomed"
DOOMED_TOKEN = "doomed-token"
RESTORE = {"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"]}


def test_a_console_deleted_by_another_server_is_gone_at_the_next_request(
    tmp_path: Path, serve: Callable[..., Served]
) -> None:
    db = str(tmp_path / "shared.db")
    first, second = serve(db), serve(db)
    with first.client(DOOMED_TOKEN) as one, second.client(DOOMED_TOKEN) as two:
        created = one.post("/simulator/consoles", json={"id": DOOMED, "tokens": [DOOMED_TOKEN]})
        assert created.status_code == 201, created.text
        assert two.get(f"{API}/backups").status_code == 200  # the second process attaches it
        assert two.get(f"/simulator/consoles/{DOOMED}").status_code == 200
        assert one.delete(f"/simulator/consoles/{DOOMED}").status_code == 204

        listed = two.get(f"{API}/backups")
        assert listed.status_code == 401
        assert listed.json()["code"] == 18
        assert two.post(f"{API}/restores", json=RESTORE).status_code == 401
        assert two.get(f"/simulator/consoles/{DOOMED}").status_code == 404
        control = two.post(f"/simulator/consoles/{DOOMED}/control", json={"rebalancing": True})
        assert control.status_code == 404
    with second.client() as default:  # the other consoles are untouched
        assert default.get(f"{API}/backups").status_code == 200
    for served in (first, second):
        assert served.stop() == 0
        assert_no_traceback(served.stderr())


@pytest.fixture
async def two_simulators(tmp_path: Path) -> AsyncIterator[tuple[Simulator, Simulator]]:
    """Two simulators on one database file, as two processes would be (each has its own
    connections, caches and workers); real clocks, scanning often."""
    settings = Settings(db=str(tmp_path / "shared.db"), clock="real", scan_interval_s=0.05)
    async with Simulator(settings) as here, Simulator(settings) as there:
        await there.create_console(DOOMED, tokens=(DOOMED_TOKEN,))
        assert await here.find_console(DOOMED) is not None  # attached here, worker running
        assert DOOMED in here.consoles()
        yield here, there


def workers(name: str) -> int:
    return sum(t.get_name() == f"worker:{name}" for t in asyncio.all_tasks())


async def test_its_worker_stops_at_its_next_pass(
    two_simulators: tuple[Simulator, Simulator],
) -> None:
    here, there = two_simulators
    assert workers(DOOMED) == 2
    assert await there.delete_console(DOOMED)
    # without any request here: the worker finds out at its next pass, and the console goes
    await eventually(lambda: workers(DOOMED) == 0 and DOOMED not in here.consoles())
    assert await here.authenticate(DOOMED_TOKEN) is None


async def test_it_is_not_listed_at_the_next_request(
    two_simulators: tuple[Simulator, Simulator],
) -> None:
    here, there = two_simulators
    assert DOOMED in await here.list_consoles()
    assert await there.delete_console(DOOMED)
    assert DOOMED not in await here.list_consoles()
    assert DOOMED not in here.consoles()  # forgotten: its worker is told to stop


async def test_deleted_while_a_request_is_under_way_answers_401(
    two_simulators: tuple[Simulator, Simulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request passed authentication, then the console went: 401, not 500 nor 422/1003."""
    here, there = two_simulators
    authenticated = here.console_of

    async def then_deleted(credential: Credential) -> Console | None:
        console = await authenticated(credential)
        assert await there.delete_console(DOOMED)  # by the other process, just now
        return console

    monkeypatch.setattr(here, "console_of", then_deleted)
    transport = httpx.ASGITransport(create_app(here))
    admin = {"Authorization": f"Bearer {here.admin_token}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://here", headers=admin
    ) as client:
        answer = await client.post(f"{API}/restores", json=RESTORE, headers={"SEC": DOOMED_TOKEN})
        assert answer.status_code == 401, answer.text
        assert answer.json()["code"] == 18
        monkeypatch.undo()
        described = await client.get(f"/simulator/consoles/{DOOMED}")
        assert described.status_code == 404
