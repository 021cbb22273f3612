"""Sessions of `/api`: the `SEC` cookie and `QRadarCSRF` token a console gives a user.

A console answers a request authenticated with `Authorization: Basic` by opening a session:
`Set-Cookie: SEC=<session>` (first: the `ibm.qradar` Ansible collection reads the first
`Set-Cookie` and sends its value back as a `SEC` header) and `Set-Cookie: QRadarCSRF=<token>`,
which browser apps send back as a `QRadarCSRF` header on writes. A later request is that
session when it carries the cookie, or the session as its `SEC` header; a write
(POST/PUT/DELETE/PATCH) that rests on the cookie alone needs the `QRadarCSRF` header, else 403
(IBM: "if an invalid token or no token is provided the request will fail with a 403 Forbidden
error"). Every answer of a session sets both cookies again, as consoles do.

Sessions are bounded (the least recently used goes first when the table is full), end after
`idle_ms` of the console's clock without a request, and end at `POST /api/auth/logout`. They
are kept by the process, not the database (docs/decisions.md).
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

COOKIE = "SEC"
CSRF = "QRadarCSRF"
#: Methods that change nothing: no CSRF token needed.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
LOGOUT_PATH = "/auth/logout"


@dataclass(slots=True)
class Session:
    id: str
    csrf: str
    console: str
    secret: str  # the Basic credential ("user:password"), read again at each request
    last_used_ms: int

    def cookies(self, secure: bool) -> list[str]:
        """The `Set-Cookie` values of an answer in this session, `SEC` first."""
        flags = "; Secure" if secure else ""
        return [
            f"{COOKIE}={self.id}; Path=/{flags}; HttpOnly",
            f"{CSRF}={self.csrf}; Path=/{flags}",  # readable by the page: apps send it back
        ]

    def csrf_matches(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(
            presented.strip().encode("utf-8", "surrogatepass"), self.csrf.encode()
        )


class Sessions:
    """The sessions of one process: at most `limit` (0: sessions off), least recently used
    first out."""

    def __init__(self, limit: int, idle_ms: int) -> None:
        self.limit = limit
        self.idle_ms = idle_ms
        self._open: OrderedDict[str, Session] = OrderedDict()
        #: (console, secret) -> the id of that credential's newest open session
        self._of_user: dict[tuple[str, str], str] = {}

    def __len__(self) -> int:
        return len(self._open)

    def open(self, console: str, secret: str, now_ms: int) -> Session | None:
        """The session of a Basic login without a session cookie: the credential's open one,
        else a new one (None when sessions are off). Joining the open one keeps a client that
        never sends the cookie (curl, scripts) from filling the table and closing other users'
        sessions."""
        if self.limit <= 0:
            return None
        known = self._open.get(self._of_user.get((console, secret), ""))
        if known is not None and self.resume(known, now_ms):
            return known
        while len(self._open) >= self.limit:
            self._forget(self._open.popitem(last=False)[1])
        session = Session(str(uuid.uuid4()), str(uuid.UUID(bytes=secrets.token_bytes(16))),
                          console, secret, now_ms)  # fmt: skip
        self._open[session.id] = session
        self._of_user[(console, secret)] = session.id
        return session

    def find(self, id: str) -> Session | None:
        """The open session of that id (its idle time is checked by `resume`)."""
        return self._open.get(id.strip()) if id else None

    def resume(self, session: Session, now_ms: int) -> bool:
        """Use the session now: False (and it ends) when it was idle too long."""
        if now_ms - session.last_used_ms > self.idle_ms:
            self.close(session.id)
            return False
        session.last_used_ms = max(session.last_used_ms, now_ms)
        self._open.move_to_end(session.id)
        return True

    def close(self, id: str) -> bool:
        session = self._open.pop(id, None)
        if session is None:
            return False
        self._forget(session)
        return True

    def _forget(self, session: Session) -> None:
        key = (session.console, session.secret)
        if self._of_user.get(key) == session.id:
            del self._of_user[key]


def cookies(headers: Mapping[str, str]) -> dict[str, str]:
    """The request's cookies by name (the first of a name wins), read leniently."""
    found: dict[str, str] = {}
    for part in headers.get("cookie", "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name and name not in found:
            found[name] = value.strip().strip('"')
    return found
