"""The page over HTTP, in-process: who sees what, the controls' guards, bad input, and scale."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from engine.api.app import create_app
from engine.runtime.phases import PHASE_JOBS
from engine.simulator import Settings, Simulator
from engine.web.access import COOKIE, csrf_token

ADMIN = "admin-credential-of-the-test"
TOKEN = "bre-sim-token"
OTHER = "token-of-the-other-console"
API = "/api/backup_and_restore"
GROUPS = ["CUSTOM_RULES_CONFIG"]
SAME_ORIGIN = {"Origin": "http://qradar.test", "Sec-Fetch-Site": "same-origin"}


@pytest.fixture
def bre_settings() -> Settings:
    return Settings(admin_token=ADMIN, journal_entries=10_000, journal_bytes=64 * 2**20)


@pytest.fixture
async def client(bre_simulator: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    await bre_simulator.create_console("other", tokens=(OTHER,), basic=(("bob", "secret"),))
    transport = httpx.ASGITransport(app=create_app(bre_simulator))
    async with httpx.AsyncClient(transport=transport, base_url="http://qradar.test") as client:
        yield client


async def admin(client: httpx.AsyncClient) -> None:
    """Sign in as the ready line's URL does."""
    response = await client.get(f"/?token={ADMIN}")
    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def api(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"SEC": TOKEN, **kwargs.pop("headers", {})}
    return await client.request(method, API + path, headers=headers, **kwargs)


ROUTES = [
    "/",
    "/ui/consoles",
    "/ui/consoles/other",
    "/ui/consoles/other/card",
    "/ui/consoles/other/jobs",
    "/ui/consoles/other/journal",
    "/ui/consoles/other/journal/1",
    "/ui/events?console=other",
]


async def test_the_ready_lines_url_keeps_the_credential_in_an_httponly_cookie(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(f"/?token={ADMIN}")
    cookie = response.headers["set-cookie"]
    assert response.status_code == 303
    assert response.headers["location"] == "/"  # the token leaves the address bar
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    page = await client.get("/")
    assert page.status_code == 200
    assert 'id="console-default"' in page.text
    assert 'id="console-other"' in page.text


async def test_nothing_is_shown_without_a_credential(client: httpx.AsyncClient) -> None:
    await api(client, "POST", "/restores", json={"backup_id": 1, "groups": GROUPS})
    for path in [*ROUTES, "/ui/consoles/default", "/ui/consoles/default/journal/1"]:
        response = await client.get(path)
        assert response.status_code in (401, 404), path
        assert "default" not in response.text, path
        assert "other" not in response.text.replace("other sites", ""), path
    wrong = await client.get("/?token=not-a-credential")
    assert wrong.status_code == 401
    assert "set-cookie" not in wrong.headers


async def test_a_consoles_credentials_show_that_console_alone(client: httpx.AsyncClient) -> None:
    await client.post(API + "/restores", headers={"SEC": OTHER},
                      json={"backup_id": 1, "groups": GROUPS})  # fmt: skip
    for headers in ({"SEC": TOKEN}, {"Authorization": "Basic YWRtaW46YWRtaW4="}):  # admin:admin
        home = await client.get("/", headers=headers)
        assert home.status_code == 303
        assert home.headers["location"] == "/ui/consoles/default"
        own = await client.get("/ui/consoles/default", headers=headers)
        assert own.status_code == 200
        assert "read-only" in own.text
        assert "data-control" not in own.text
        assert "data-csrf" not in own.text
        for path in ROUTES[1:]:
            response = await client.get(path, headers=headers)
            assert response.status_code == 404, path
            assert "backup_and_restore" not in response.text  # no journal of another console


async def test_the_sign_in_form_takes_a_token_or_a_user_and_password(
    client: httpx.AsyncClient,
) -> None:
    form = await client.get("/")
    assert 'action="/ui/login"' in form.text
    signed = await client.post("/ui/login", data={"token": "secret", "user": "bob"},
                               headers=SAME_ORIGIN)  # fmt: skip
    assert signed.status_code == 303
    assert (await client.get("/")).headers["location"] == "/ui/consoles/other"
    client.cookies.clear()
    refused = await client.post("/ui/login", data={"token": "nope"}, headers=SAME_ORIGIN)
    assert refused.status_code == 401
    elsewhere = await client.post("/ui/login", data={"token": ADMIN},
                                  headers={"Origin": "http://evil.test"})  # fmt: skip
    assert elsewhere.status_code == 403
    assert COOKIE not in elsewhere.headers.get("set-cookie", "")
    await admin(client)
    out = await client.post("/ui/logout")
    assert COOKIE in out.headers["set-cookie"]
    assert (await client.get("/ui/consoles/default")).status_code == 404


async def test_controls_need_the_admin_the_csrf_token_and_the_pages_origin(
    client: httpx.AsyncClient, bre_simulator: Simulator
) -> None:
    url = "/ui/consoles/default/control"
    token = {"X-CSRF-Token": csrf_token(bre_simulator)}
    console = await client.post(url, json={"rebalancing": True},
                                headers={"SEC": TOKEN, **token, **SAME_ORIGIN})  # fmt: skip
    assert console.status_code == 403
    await admin(client)
    for headers in ({}, {"X-CSRF-Token": "guess"}, {**token, "Origin": "http://evil.test"},
                    {**token, "Sec-Fetch-Site": "cross-site"}):  # fmt: skip
        refused = await client.post(url, json={"rebalancing": True}, headers=headers)
        assert refused.status_code == 403
    assert (await bre_simulator.console().state()).rebalancing is False
    done = await client.post(url, json={"rebalancing": True}, headers={**token, **SAME_ORIGIN})
    assert done.json() == {"rebalancing": True}
    assert (await bre_simulator.console().state()).rebalancing is True
    bad = await client.post(url, json={"rebalancing": True, "advance": "soon"}, headers=token)
    assert bad.status_code == 400
    assert bad.json()["field"] == "advance"
    broken = await client.post(url, content=b"{", headers=token)
    assert broken.status_code == 400
    page = await client.get("/ui/consoles/default")
    assert f'data-csrf="{csrf_token(bre_simulator)}"' in page.text


async def test_bad_input_is_escaped_and_never_a_500(client: httpx.AsyncClient) -> None:
    await admin(client)
    await api(client, "GET", "/backups/<script>alert(1)</script>")
    for path in (
        "/ui/consoles/default?page=abc&focus=<b>&status=<i>&path=<script>",
        "/ui/consoles/default/journal?before=-1&after=x&status=9999&job=%00",
        "/ui/consoles/default/jobs?page=99999999999999999999999",
        "/ui/consoles/default/journal/0",
        "/ui/consoles/default/journal/99999999",
        "/ui/consoles/%00",
        "/ui/assets/..%2fpage.py",
        "/ui/events?console=nope",
    ):
        response = await client.get(path)
        assert response.status_code < 500, path
        assert "<script>" not in response.text, path


async def test_a_thousand_jobs_and_ten_thousand_entries_are_paged(
    client: httpx.AsyncClient, bre_simulator: Simulator
) -> None:
    console = bre_simulator.console()
    await console.set_rule("restore", {"mode": "immediate"})
    for _ in range(1000):
        restore = await console.create_restore(1, GROUPS)
        await console.request_restore(restore.id)
    for _ in range(5000):
        await api(client, "GET", "/restores/1")
        await api(client, "POST", "/backups", headers={"backup_type": "DATA"})
    await admin(client)

    started = time.perf_counter()
    page = await client.get("/ui/consoles/default")
    took = time.perf_counter() - started
    print(f"console page: 1000 jobs, 10,000 entries: {took * 1000:.0f} ms, {len(page.text)} bytes")
    assert page.text.count('<li class="job') == 50
    assert page.text.count('<tr class="entry') == 100
    assert "older entries" in page.text
    # the last PHASE_JOBS jobs first (with their phases), then the rest by their record's time:
    # the world's seeded backups, then the older restores down to the first, on page 21
    assert len(bre_simulator.console().phases) == PHASE_JOBS < 1000
    oldest = await client.get("/ui/consoles/default/jobs?page=21")
    assert 'id="job-restore-1"' in oldest.text
    focused = await client.get("/ui/consoles/default/jobs?focus=restore-7")
    assert 'class="job selected" id="job-restore-7"' in focused.text
    refused = await client.get("/ui/consoles/default/journal?status=4xx&path=/backups")
    assert refused.text.count('<tr class="entry') == 100
    cursor = re.search(r"before=(\d+)", refused.text)
    assert cursor is not None
    older = await client.get(f"/ui/consoles/default/journal?status=4xx&before={cursor[1]}")
    seqs = [int(s) for s in re.findall(r'data-seq="(\d+)"', older.text)]
    assert seqs == sorted(seqs, reverse=True)
    assert max(seqs) < int(cursor[1])


async def test_a_link_on_another_site_does_not_sign_a_browser_in(
    client: httpx.AsyncClient,
) -> None:
    """Regression (review): `/?token=` signed in whatever the request's origin, so a link on
    another site could sign a victim's browser into the linker's console (login CSRF)."""
    response = await client.get(f"/?token={TOKEN}", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    typed = await client.get(f"/?token={ADMIN}", headers={"Sec-Fetch-Site": "none"})
    assert typed.status_code == 303  # the ready line's URL, typed or pasted


async def test_the_page_cookie_is_secure_over_https(bre_simulator: Simulator) -> None:
    transport = httpx.ASGITransport(app=create_app(bre_simulator))
    async with httpx.AsyncClient(transport=transport, base_url="https://qradar.test") as client:
        response = await client.get(f"/?token={ADMIN}")
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]
