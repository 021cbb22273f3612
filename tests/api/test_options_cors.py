"""405 with `Allow`, OPTIONS, and CORS preflight by a console's allowed origins."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from tests.support.http import API, TOKEN, error, make_client

ORIGIN = "https://soar.example:8443"
PREFLIGHT = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "sec, version, content-type"}  # fmt: skip


def allow(response: httpx.Response) -> list[str]:
    return [m.strip() for m in response.headers["allow"].split(",")]


@pytest.mark.parametrize(
    ("method", "path", "version", "allowed"),
    [
        ("PUT", "/backups/1", "27.0", ["DELETE", "GET", "HEAD", "OPTIONS", "POST"]),
        ("DELETE", "/backups", "27.0", ["GET", "HEAD", "OPTIONS", "POST"]),
        ("PATCH", "/restores/1", "27.0", ["DELETE", "GET", "HEAD", "OPTIONS", "POST"]),
        ("GET", "/updateiptablesprefile", "21.0", ["OPTIONS", "POST"]),
    ],
)
async def test_405_names_the_methods_the_path_has_in_allow(
    client: httpx.AsyncClient, method: str, path: str, version: str, allowed: list[str]
) -> None:
    answer = await client.request(method, API + path, headers={"Version": version})
    error(answer, 405, 15)
    assert allow(answer) == allowed


async def test_options_answers_allow_per_version(client: httpx.AsyncClient) -> None:
    answer = await client.options(f"{API}/restores/1")
    assert answer.status_code == 200
    assert answer.content == b""
    assert allow(answer) == ["DELETE", "GET", "HEAD", "OPTIONS", "POST"]
    ha = await client.options(f"{API}/haAction/true", headers={"Version": "27.0"})
    assert allow(ha) == ["GET", "HEAD", "OPTIONS"]
    error(await client.options(f"{API}/haAction/true", headers={"Version": "20.0"}), 404, 4)
    error(await client.options(f"{API}/nothing"), 404, 4)
    assert allow(await client.options("/api/help/versions")) == ["GET", "HEAD", "OPTIONS"]


async def test_options_needs_credentials_like_any_request(anonymous: httpx.AsyncClient) -> None:
    error(await anonymous.options(f"{API}/backups"), 401, 18)


async def test_preflight_is_refused_while_the_list_is_empty(anonymous: httpx.AsyncClient) -> None:
    answer = await anonymous.options(f"{API}/restores", headers=PREFLIGHT)
    assert answer.status_code == 403
    assert "access-control-allow-origin" not in answer.headers


async def test_allowed_origins_open_preflight_and_responses(app: Starlette) -> None:
    async with make_client(app) as client:
        set_list = await client.post(
            "/simulator/consoles/default/control", json={"allowed_origins": [ORIGIN]}
        )
        assert set_list.status_code == 200, set_list.text
    async with make_client(app, {}, admin=False) as browser:
        preflight = await browser.options(f"{API}/restores", headers=PREFLIGHT)
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        assert preflight.headers["access-control-allow-credentials"] == "true"
        assert preflight.headers["access-control-allow-methods"] == "GET, HEAD, OPTIONS, POST"
        assert "QRadarCSRF" in preflight.headers["access-control-allow-headers"]
        other = await browser.options(
            f"{API}/restores", headers={**PREFLIGHT, "Origin": "https://evil.example"}
        )
        assert other.status_code == 403
        answer = await browser.get(f"{API}/backups", headers={"SEC": TOKEN, "Origin": ORIGIN})
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == ORIGIN
        assert "Content-Range" in answer.headers["access-control-expose-headers"]
        plain = await browser.get(f"{API}/backups", headers={"SEC": TOKEN})
        assert "access-control-allow-origin" not in plain.headers


async def test_origins_are_per_console_and_reset_clears_them(app: Starlette) -> None:
    async with make_client(app) as client:
        made = await client.post("/simulator/consoles", json={"tokens": ["other-token"]})
        other = made.json()["id"]
        await client.post(f"/simulator/consoles/{other}/control", json={"allowed_origins": ["*"]})
        mine = await client.get(f"{API}/backups", headers={"Origin": ORIGIN})
        assert "access-control-allow-origin" not in mine.headers  # the default console's: empty
        theirs = await client.get(
            f"{API}/backups", headers={"SEC": "other-token", "Origin": ORIGIN}
        )
        assert theirs.headers["access-control-allow-origin"] == ORIGIN
        preflight = await client.options(
            f"{API}/backups", headers={**PREFLIGHT, "SEC": "other-token"}
        )
        assert preflight.status_code == 200  # its credentials select the console
        await client.post(f"/simulator/consoles/{other}/control", json={"reset": True})
        after = await client.get(f"{API}/backups", headers={"SEC": "other-token", "Origin": ORIGIN})
        assert "access-control-allow-origin" not in after.headers


@pytest.mark.parametrize(
    ("origins", "field"),
    [
        ("https://a.example", "allowed_origins"),
        (["https://a.example/path"], "allowed_origins[0]"),
        (["not an origin"], "allowed_origins[0]"),
        (["https://a.example", "https://a.example"], "allowed_origins[1]"),
        ([f"https://{i}.example" for i in range(65)], "allowed_origins"),
    ],
)
async def test_a_bad_list_is_refused_and_changes_nothing(
    app: Starlette, origins: object, field: str
) -> None:
    async with make_client(app) as client:
        refused = await client.post(
            "/simulator/consoles/default/control", json={"allowed_origins": origins}
        )
        assert refused.status_code == 400
        assert refused.json()["field"] == field
    assert app.state.control.origins("default") == ()
