"""Who sees what on the web page: the viewer a request presents, and the cookie that keeps it.

Three kinds of credential, each checked against the simulator on every request (never cached,
so a deleted console or a new admin token takes effect at once):

- the admin credential of the control surface (`Simulator.admin_token`): every console, with
  its controls; as Jupyter does, `bre serve` prints the page's URL with it (`/?token=...`);
- a console's SEC token, or its Basic credentials: that console alone, read-only;
- none: nothing but the sign-in form (unless the control surface needs no credential, when the
  page is as open as the surface itself).

The credential is kept in an HttpOnly, SameSite=Strict cookie (scripts cannot read it, other
sites cannot send it). The cookie holds the credential itself, not a server-side session, so
every process of `bre serve --workers N` accepts it. Controls also need the CSRF token the
page carries (`X-CSRF-Token`), which another site cannot read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from engine.api.qradar import presented_credential
from engine.simulator import Simulator
from engine.store.base import same_secret

COOKIE = "bre_page"
CSRF_HEADER = "x-csrf-token"
_KINDS = ("admin", "sec", "basic")


@dataclass(frozen=True, slots=True)
class Viewer:
    """Whom the page shows what: an admin sees every console; a console's viewer, that one."""

    admin: bool
    console: str | None = None  # the one console a non-admin viewer sees

    def sees(self, console: str) -> bool:
        return self.admin or self.console == console


def _encode(kind: str, secret: str) -> str:
    raw = secret.encode("utf-8", "surrogatepass")
    return f"{kind}.{base64.urlsafe_b64encode(raw).decode('ascii')}"


def _decode(value: str) -> tuple[str, str] | None:
    kind, _, encoded = value.partition(".")
    if kind not in _KINDS or not encoded or len(value) > 4096:
        return None
    try:
        secret = base64.urlsafe_b64decode(encoded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return None
    return kind, secret


async def check(simulator: Simulator, kind: str, secret: str) -> Viewer | None:
    """The viewer a credential makes, as the simulator knows it now; None if it is not one."""
    if kind == "admin":
        return Viewer(True) if same_secret(simulator.admin_token, secret) else None
    credential = await simulator.authenticate(secret, basic=kind == "basic")
    return None if credential is None else Viewer(False, credential.console)


async def viewer_of(simulator: Simulator, request: Request) -> Viewer | None:
    """The viewer of a request: its cookie, else its own headers (`Authorization: Bearer` with
    the admin credential, `SEC`, `Authorization: Basic`), else none."""
    if not simulator.settings.control_auth:
        return Viewer(True)  # the control surface is open to anyone: so is its page
    cookie = request.cookies.get(COOKIE)
    if cookie:
        decoded = _decode(cookie)
        if decoded is not None:
            found = await check(simulator, *decoded)
            if found is not None:
                return found
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return await check(simulator, "admin", token.strip())
    credential = await presented_credential(simulator, request.headers)
    return None if credential is None else Viewer(False, credential.console)


async def sign_in(simulator: Simulator, secret: str, user: str = "") -> tuple[str, Viewer] | None:
    """The cookie value and viewer for what the sign-in form (or `?token=`) was given: the
    admin credential or a console token, or a user name with its password (Basic)."""
    if user:
        kinds: tuple[tuple[str, str], ...] = (("basic", f"{user}:{secret}"),)
    else:
        kinds = (("admin", secret), ("sec", secret))
    for kind, value in kinds:
        if len(value) > 1024:
            return None
        found = await check(simulator, kind, value)
        if found is not None:
            return _encode(kind, value), found
    return None


def keep(response: Response, value: str, request: Request) -> None:
    """Put the credential in the HttpOnly cookie (for the browser session only; `Secure` when
    the page is served over HTTPS, so that it never travels in clear text)."""
    secure = request.url.scheme == "https"
    response.set_cookie(COOKIE, value, httponly=True, samesite="strict", path="/", secure=secure)


def forget(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


def csrf_token(simulator: Simulator) -> str:
    """The token the page sends with each control: derived from the admin credential, so only
    a page served to an admin has it, and every process of the server computes the same."""
    key = simulator.admin_token.encode("utf-8", "surrogatepass")
    return hmac.new(key, b"bre-page-csrf", hashlib.sha256).hexdigest()


def same_origin(request: Request) -> bool:
    """A state-changing request from the page itself: the browser's `Sec-Fetch-Site` and
    `Origin`, where sent, name this server."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host
