"""Sessions of `/api` (engine/api/sessions.py): the `SEC` cookie and `QRadarCSRF` token a
console gives a Basic-auth caller, as browser apps and the `ibm.qradar` collection use them."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from engine.api.app import create_app
from engine.simulator import Settings, Simulator
from tests.support.http import API, error, make_client, snapshot
from tests.support.worlds import GROUPS, make_world

BASIC = "Basic " + base64.b64encode(b"admin:admin").decode()
BACKUPS = f"{API}/backups"
RESTORES = f"{API}/restores"


def set_cookies(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


def cookie_value(response: httpx.Response, name: str) -> str:
    for header in set_cookies(response):
        key, _, rest = header.partition("=")
        if key == name:
            return rest.split(";", 1)[0]
    raise AssertionError(f"no {name} cookie in {set_cookies(response)}")


@asynccontextmanager
async def login(
    app: Starlette, basic: str = BASIC
) -> AsyncIterator[tuple[httpx.AsyncClient, str, str]]:
    """A client that logged in with Basic once and keeps its cookies; the session and CSRF."""
    async with make_client(app, {}, admin=False) as client:
        first = await client.get(BACKUPS, headers={"Authorization": basic})
        assert first.status_code == 200
        yield client, cookie_value(first, "SEC"), cookie_value(first, "QRadarCSRF")


async def test_basic_auth_sets_the_sec_cookie_first_then_the_csrf_token(app: Starlette) -> None:
    async with make_client(app, {"Authorization": BASIC}, admin=False) as client:
        answer = await client.get(BACKUPS)
    cookies = set_cookies(answer)
    assert [c.split("=", 1)[0] for c in cookies] == ["SEC", "QRadarCSRF"]
    assert cookies[0].endswith("; Path=/; HttpOnly")  # plain HTTP: not Secure
    assert "HttpOnly" not in cookies[1]  # a page reads it to send it back
    assert "=" not in cookies[0].split(";")[0].split("=", 1)[1]  # one '=' (ibm.qradar splits)


async def test_a_token_opens_no_session(client: httpx.AsyncClient) -> None:
    assert set_cookies(await client.get(BACKUPS)) == []


async def test_the_cookie_alone_is_the_session_and_writes_need_the_csrf_header(
    app: Starlette,
) -> None:
    async with login(app) as (client, session, csrf):
        listed = await client.get(BACKUPS)  # the cookie jar sends SEC
        assert listed.status_code == 200
        assert cookie_value(listed, "SEC") == session  # the same session, set again
        body = {"backup_id": 1, "groups": GROUPS}
        before = (await client.get(RESTORES)).json()
        error(await client.post(RESTORES, json=body), 403, 22)
        error(await client.post(RESTORES, json=body, headers={"QRadarCSRF": "wrong"}), 403, 22)
        assert (await client.get(RESTORES)).json() == before  # refused: nothing changed
        created = await client.post(RESTORES, json=body, headers={"QRadarCSRF": csrf})
        assert created.status_code == 201, created.text


async def test_the_session_as_a_sec_header_needs_no_csrf(app: Starlette) -> None:
    """What the ibm.qradar collection does: the SEC cookie's value sent as the SEC header."""
    async with login(app) as (_, session, _):
        pass
    async with make_client(app, {"SEC": session}, admin=False) as client:
        created = await client.post(RESTORES, json={"backup_id": 1, "groups": GROUPS})
    assert created.status_code == 201, created.text
    assert cookie_value(created, "SEC") == session
    assert created.json()["initiated_by"] == "admin"  # the session's user


async def test_an_unknown_or_logged_out_session_is_401(app: Starlette) -> None:
    async with make_client(app, {"Cookie": "SEC=not-a-session"}, admin=False) as client:
        error(await client.get(BACKUPS), 401, 18)
    async with login(app) as (client, session, _):
        out = await client.post("/api/auth/logout", headers={"SEC": session})
        assert out.status_code == 200
        assert set_cookies(out) == []
        error(await client.get(BACKUPS), 401, 18)
        error(await client.get(BACKUPS, headers={"SEC": session}), 401, 18)


async def test_a_session_ends_after_its_idle_time_on_the_console_clock(
    app: Starlette, sim: Simulator
) -> None:
    async with login(app) as (client, _, _):
        clock = sim.console().clock
        await clock.advance_to(clock.now_ms() + 1_799_000)  # type: ignore[attr-defined]
        assert (await client.get(BACKUPS)).status_code == 200  # used: idle time starts over
        await clock.advance_to(clock.now_ms() + 1_801_000)  # type: ignore[attr-defined]
        error(await client.get(BACKUPS), 401, 18)


async def test_a_session_of_a_deleted_console_ends(app: Starlette, sim: Simulator) -> None:
    control = {"Authorization": f"Bearer {sim.admin_token}"}
    async with make_client(app, {}, admin=False) as client:
        made = await client.post(
            "/simulator/consoles", json={"id": "other", "basic": [["ops", "pw"]]}, headers=control
        )
        assert made.status_code == 201, made.text
        auth = "Basic " + base64.b64encode(b"ops:pw").decode()
        assert (await client.get(BACKUPS, headers={"Authorization": auth})).status_code == 200
        assert (await client.get(BACKUPS)).status_code == 200  # its cookie
        gone = await client.delete("/simulator/consoles/other", headers=control)
        assert gone.status_code == 204, gone.text
        error(await client.get(BACKUPS), 401, 18)


@pytest.fixture
async def small() -> AsyncIterator[Starlette]:
    users = (("admin", "admin"), ("bob", "b0b"), ("carol", "c4rol"))
    async with Simulator(Settings(world=make_world(), sessions=2, basic=users)) as simulator:
        yield create_app(simulator)


async def test_sessions_are_bounded_the_least_recently_used_goes_first(small: Starlette) -> None:
    async with (
        login(small) as (first, one, _),
        login(small, basic("bob", "b0b")) as (second, _, _),
        login(small, basic("carol", "c4rol")) as (third, _, _),  # full: the first one goes
    ):
        error(await first.get(BACKUPS), 401, 18)
        assert (await second.get(BACKUPS)).status_code == 200
        assert (await third.get(BACKUPS)).status_code == 200
    assert len(small.state.api.sessions) == 2
    assert small.state.api.sessions.find(one) is None


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_logins_without_the_cookie_join_the_users_session(small: Starlette) -> None:
    """Regression (review): each Basic request without the session cookie (curl, scripts)
    opened a session, so one such client closed every other user's session of the process."""
    async with login(small, basic("bob", "b0b")) as (bob, bobs, _):
        async with make_client(small, {}, admin=False) as script:
            for _ in range(5):
                answer = await script.get(BACKUPS, headers={"Authorization": BASIC})
                assert answer.status_code == 200
                script.cookies.clear()
        assert (await bob.get(BACKUPS)).status_code == 200  # still open
        assert small.state.api.sessions.find(bobs) is not None
    assert len(small.state.api.sessions) == 2


async def test_basic_with_its_session_cookie_goes_on_in_that_session(app: Starlette) -> None:
    async with login(app) as (client, session, _):
        for _ in range(5):
            again = await client.get(BACKUPS, headers={"Authorization": BASIC})
            assert cookie_value(again, "SEC") == session
    assert len(app.state.api.sessions) == 1


async def test_sessions_off_sets_no_cookie() -> None:
    async with Simulator(Settings(sessions=0)) as simulator:
        app = create_app(simulator)
        async with make_client(app, {"Authorization": BASIC}, admin=False) as client:
            answer = await client.get(BACKUPS)
    assert answer.status_code == 200
    assert set_cookies(answer) == []


_HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    cookie=st.one_of(_HEADER_TEXT, _HEADER_TEXT.map(lambda v: f"SEC={v}")),
    sec=st.one_of(st.none(), _HEADER_TEXT),
    csrf=st.one_of(st.none(), _HEADER_TEXT), method=st.sampled_from(["GET", "POST", "DELETE"]),
)  # fmt: skip
async def test_odd_session_headers_never_fail_nor_change_anything(
    client: httpx.AsyncClient, cookie: str, sec: str | None, csrf: str | None, method: str
) -> None:
    before = await snapshot(client)
    headers = {"Cookie": cookie, **({"QRadarCSRF": csrf} if csrf is not None else {})}
    headers["SEC"] = sec if sec is not None else ""
    answer = await client.request(
        method, f"{RESTORES}/1", headers=headers, json={"status": "REQUESTING"}
    )
    assert answer.status_code in (401, 403, 404, 405), answer.text
    assert await snapshot(client) == before
