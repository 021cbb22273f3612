"""The HTTP side of the tests: clients of the in-process app, and QRadar's error body.

The texts of the HTTP statuses are written out here from the reference (section 1.4, the wire
texts where observed), not read from the catalogue, so the tests that use them also check the
catalogue.
"""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

TOKEN = "bre-sim-token"
API = "/api/backup_and_restore"
CONTROL = "/simulator/consoles"
ERROR_KEYS = ["message", "details", "description", "code", "http_response"]

HTTP = {
    401: "You are unauthorized to access the requested resource.",
    403: "Your account is not authorized to access the requested resource",
    404: "We could not find the resource you requested.",
    405: "This method type is not currently supported.",
    406: "Acceptance header is invalid for this endpoint resource.",
    409: "The request could not be completed due to a conflict with the current state of the "
    "resource",
    413: "The request entity is larger than the server is willing or able to process.",
    415: "The requested resource does not support the media type provided.",
    422: "The request was well-formed but was unable to be followed due to semantic errors",
    500: "Unexpected internal server error",
    503: "The server is currently unavailable.",
}
UNAUTHORIZED = (
    'No SEC header present in request. Please provide it via "SEC: token". You may also use '
    "BASIC authentication parameters if this host supports it. e.g. "
    '"Authorization: Basic base64Encoding"'
)


def make_client(
    app: Starlette, headers: dict[str, str] | None = None, *, admin: bool = True
) -> httpx.AsyncClient:
    """A client of the app: the default console's token unless `headers` say otherwise, and the
    admin credential of the control surface (unless the headers carry an Authorization)."""
    sent = {"SEC": TOKEN} if headers is None else dict(headers)
    if admin:
        sent.setdefault("Authorization", bearer(app.state.simulator.admin_token))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim",
                             headers=sent)  # fmt: skip


def bearer(token: str) -> str:
    return f"Bearer {token}"


def error(
    resp: httpx.Response,
    status: int,
    code: int,
    *,
    description: str | type[Any] | None = Any,
    message: str | type[Any] = Any,
) -> dict[str, Any]:
    """Assert a QRadar error body of that status and code (the whole shape); return it."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json"), resp.headers
    body = resp.json()
    assert list(body) == ERROR_KEYS, body
    assert body["details"] == {}
    assert body["code"] == code, body
    assert body["http_response"] == {"message": HTTP[status], "code": status}, body
    assert isinstance(body["message"], str)
    assert body["description"] is None or isinstance(body["description"], str)
    if description is not Any:
        assert body["description"] == description, body
    if message is not Any:
        assert body["message"] == message, body
    return body


def framework(resp: httpx.Response, status: int, code: int, message: str | type[Any] = Any) -> None:
    """A framework error: small code, empty description."""
    error(resp, status, code, description="", message=message)


def is_qradar_error(resp: httpx.Response) -> bool:
    """Whether a 4xx/5xx answer carries QRadar's error body (used by the fuzzers)."""
    try:
        body = resp.json()
    except ValueError:
        return False
    return (
        isinstance(body, dict)
        and list(body) == ERROR_KEYS
        and body["details"] == {}
        and isinstance(body["code"], int)
        and isinstance(body["message"], str)
        and body["http_response"]
        == {"message": HTTP.get(resp.status_code), "code": resp.status_code}
    )


async def control(
    client: httpx.AsyncClient, actions: dict[str, Any], console: str = "default"
) -> Any:
    """Apply control actions over HTTP; they must succeed."""
    resp = await client.post(f"{CONTROL}/{console}/control", json=actions)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def snapshot(client: httpx.AsyncClient) -> tuple[Any, Any]:
    """The backups and restores lists, to show that a refused request changed nothing."""
    backups = await client.get(f"{API}/backups")
    restores = await client.get(f"{API}/restores")
    assert backups.status_code == restores.status_code == 200
    return backups.json(), restores.json()
