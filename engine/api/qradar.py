"""The `/api` dispatcher: QRadar's REST conventions in the order QRadar applies them.

Per request: a CORS preflight is answered alone (engine/api/cors.py); else body size (413),
credentials and the session (401/18, 403/22 for a session's write without its CSRF token:
engine/api/sessions.py), outage mode (503), `Version` (422), route (404/4, 405 with `Allow`;
OPTIONS answers `Allow`), capability (403/26), `Accept` (406), parameters (`fields`, `Range`,
`filter`, `sort`, body: 415, 422/8/10/11/30/31/36), then the handler (404, 422, 409 from the
engine). Fault and latency rules of the control surface apply once the endpoint is known. Every
answer that is not a success is a QRadar error body built from the code catalogue: a storage
fault is 503/21 while it lasts, whatever the path; any other unexpected failure is the 500/1000
of the endpoint the path and method name (resolved as routing would, also when authentication
failed), 500/1020 only on the help and config routes.

It is a plain ASGI callable, not a Starlette router: the QRadar conventions (404/4 for an
unknown path, 405 with a QRadar body, the version chosen before routing) are the routing here.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, unquote

import anyio
import structlog

from engine.api import cors
from engine.api.journal import Journal
from engine.api.sessions import LOGOUT_PATH, SAFE_METHODS, Session, Sessions, cookies
from engine.api.wire import Receive, Reply, Scope, Send, error_reply, read_json, send_reply
from engine.control.actions import Control
from engine.core import codes, versions
from engine.core.credentials import Credential, same_secret
from engine.core.endpoints import ENDPOINTS, Endpoint, EndpointId, Placement
from engine.core.errors import QRadarError, error_body
from engine.core.frozen import record
from engine.core.releases import Release
from engine.core.versions import ApiVersion
from engine.runtime.console import Console
from engine.runtime.units import ConsoleMissing
from engine.simulator import DEFAULT_CONSOLE, Simulator
from engine.store.base import StorageError

log = structlog.get_logger("api")

MAX_BODY = 1_048_576  # bytes; larger bodies answer 413


#: Header names as received -> as read (lower-case text): a client sends the same few
_HEADER_NAMES: dict[bytes, str] = {}

#: The endpoints that read `fields` from a header (asked twice per request: computed once)
_FIELDS_IN_HEADER = frozenset(e.id for e in ENDPOINTS if e.fields_placement is Placement.HEADER)


@dataclass(slots=True)
class Call:
    """One request to `/api`, as the handlers see it."""

    method: str
    path: str  # relative to /api, e.g. /backup_and_restore/restores/3
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names; a repeated header keeps its first value
    version: ApiVersion
    console: Console
    credential: Credential
    params: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    endpoint: Endpoint | None = None
    sample_keys: bool = False  # also emit IBM's sample keys on backups
    session: Session | None = None  # the session the request is in (Basic or its cookie)
    #: the restore its path names, as the API sends it (None: there is none), read with the
    #: credential (`QRadarApi._restore_to_read`); None when not read so
    restore_read: tuple[bytes | None] | None = None

    def fields(self) -> str | None:
        """`fields` where the endpoint documents it (query or header); the other place too."""
        if self.endpoint is not None and self.endpoint.id in _FIELDS_IN_HEADER:
            return self.headers.get("fields", self.query.get("fields"))
        return self.query.get("fields", self.headers.get("fields"))

    def json_body(self, name: str) -> Any:
        """The decoded JSON body; None when empty. Unreadable bodies are 422/11."""
        if not self.body.strip():
            return None
        content_type = self.headers.get("content-type", "application/json")
        media = content_type.split(";", 1)[0].strip().lower()
        if media not in ("application/json", "text/json", "*/*", "") and not media.endswith(
            "+json"
        ):
            raise QRadarError.of(codes.UNSUPPORTED_MEDIA_TYPE, content_type=content_type)
        try:
            return read_json(self.body)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise QRadarError.of(
                codes.UNREADABLE_PARAMETER,
                name=name,
                placement="body",
                content_type="APPLICATION_JSON",
            ) from None


async def presented_credential(
    simulator: Simulator, headers: Mapping[str, str]
) -> Credential | None:
    """The credential a request presents: its `SEC` token, else `Authorization: Basic`."""
    token = headers.get("sec")
    if token:
        return await simulator.authenticate(token.strip())
    authorization = headers.get("authorization", "")
    if not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if ":" not in decoded:
        return None
    return await simulator.authenticate(decoded, basic=True)


def path_number(raw: str) -> int | None:
    """A path parameter as a record id: ASCII digits that fit a Long (`str.isdigit()` takes
    "²"), else None."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        return None
    return int(raw)


class Disconnected(Exception):
    """The client went away before its request body was complete."""


Handler = Callable[[Call], Awaitable[Reply]]


@record
class Route:
    """A path template of `/api` with a handler per method; family endpoints carry their entry."""

    pattern: re.Pattern[str]
    template: str
    handlers: dict[str, tuple[Handler, Endpoint | None]]
    admin: bool = True  # needs the admin capability (403/26 otherwise)
    produces: str = "application/json"  # the media type of a route without an endpoint entry
    #: the literal text before the first placeholder: a path must start with it
    prefix: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", self.template.split("{", 1)[0])


#: routes by literal template, and by the text before a template's one, final placeholder:
#: (position in the list, route, placeholder name)
_RouteIndex = tuple[dict[str, tuple[int, "Route"]], dict[str, tuple[int, "Route", str]]]


def _route_index(routes: list[Route]) -> _RouteIndex | None:
    """The routes by template, for `QRadarApi._match`; None when a template has another
    shape (a placeholder before the end, or two)."""
    exact: dict[str, tuple[int, Route]] = {}
    last: dict[str, tuple[int, Route, str]] = {}
    for i, route in enumerate(routes):
        template = route.template
        if template.endswith("/"):
            return None  # its regex matches the path with the `/`, which `_match` cuts off
        if "{" not in template:
            exact.setdefault(template, (i, route))
            continue
        head, _, name = template.rpartition("{")
        if not (name.endswith("}") and head.endswith("/")) or "{" in head or "}" in head:
            return None
        name = name[:-1]
        if not re.fullmatch(r"\w+", name):
            return None
        last.setdefault(head, (i, route, name))
    return exact, last


def compile_template(template: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile(regex + "/?")


class QRadarApi:
    """The ASGI application mounted at `/api`."""

    def __init__(
        self,
        simulator: Simulator,
        control: Control,
        routes: list[Route],
        journals: Callable[[str], Journal],
        *,
        max_body: int = MAX_BODY,
    ) -> None:
        self.simulator = simulator
        self.control = control
        logout = Route(compile_template(LOGOUT_PATH), LOGOUT_PATH, {"POST": (self._logout, None)},
                       admin=False, produces="text/plain")  # fmt: skip
        self.routes = [*routes, logout]
        self._index = _route_index(self.routes)
        #: the route of `GET /restores/{id}` (polling's), whose record is read with the
        #: credential (`_restore_to_read`)
        self._restore_route = next(
            (r for r in self.routes if (e := r.handlers.get("GET", (None, None))[1]) is not None
             and e.id is EndpointId.RESTORE_GET), None,
        )  # fmt: skip
        self.journals = journals
        self.max_body = max_body
        self._versions: dict[tuple[str, str | None], tuple[ApiVersion, bool]] = {}
        self.requests = 0
        settings = simulator.settings
        self.sessions = Sessions(settings.sessions, settings.session_idle_s * 1000)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]  # mounted: Starlette keeps the full path and sets root_path
        elif path.startswith("/api/") or path == "/api":
            path = path[4:]
        await self.answer(
            scope["method"],
            path,
            scope.get("headers", ()),
            scope.get("query_string", b""),
            scope.get("scheme") == "https",
            receive,
            partial(send_reply, send),
        )

    async def answer(
        self,
        method: str,
        path: str,
        raw_headers: Iterable[tuple[bytes, bytes]],
        raw_query: bytes,
        secure: bool,
        receive: Receive,
        deliver: Callable[[Reply], Awaitable[bytes]],
    ) -> None:
        """One request, `path` relative to `/api`, `raw_headers` with lower-case names (as
        servers hand them); `deliver` sends the reply and returns the body a journal keeps
        (`send_reply` on ASGI; `bre serve` writes its connection directly: engine/server.py)."""
        started = time.perf_counter()
        self.requests += 1
        method = method.upper()
        headers: dict[str, str] = {}
        names = _HEADER_NAMES
        for raw_name, raw_value in raw_headers:
            name = names.get(raw_name)
            if name is None:
                name = raw_name.decode("latin-1").lower()
                if len(raw_name) <= 64:
                    if len(names) >= 512:
                        names.clear()  # bounded; the names clients send now are cached again
                    names[raw_name] = name
            if name not in headers:
                headers[name] = raw_value.decode("latin-1")
        query_string = raw_query.decode("latin-1")
        query: dict[str, str] = {}
        if query_string:
            for k, v in parse_qsl(query_string, keep_blank_values=True):
                query.setdefault(k, v)
        call: Call | None = None
        version = versions.LATEST
        body = b""
        deprecated = False  # the chosen version's, once chosen
        try:
            if method == "OPTIONS" and cors.is_preflight(method, headers):  # no credentials
                reply = await self._preflight(path, headers)
            else:
                if "content-length" in headers or "transfer-encoding" in headers:
                    body = await self._read_body(receive, headers)
                matched = self._match(path)
                restore_id = self._restore_to_read(method, matched, query, headers)
                credential, console, session, restore_read = await self._authenticate(
                    method, headers, restore_id
                )
                call = Call(
                    method,
                    path,
                    query,
                    headers,
                    version,
                    console,
                    credential,
                    body=body,
                    sample_keys=self.simulator.settings.sample_keys,
                    session=session,
                    restore_read=restore_read,
                )
                if console.outage_mode and await console.restore_running():
                    raise QRadarError.of(codes.SERVICES_STOPPED)
                version, deprecated = self._version(console.release, headers.get("version"))
                call.version = version
                reply = await self._dispatch(call, matched)
        except Disconnected:
            return  # the client left before its request was whole: nothing to answer
        except QRadarError as error:
            reply = error_reply(error, version)
            if error.code is codes.METHOD_NOT_ALLOWED:
                reply.headers["Allow"] = ", ".join(self._allowed(path, version))
        except StorageError as error:  # the database fails, not the request: 503 while it lasts
            log.warning("request_refused_storage", path=path, cause=error.cause)
            failure = QRadarError.of(codes.STORAGE_UNAVAILABLE, cause=error.cause)
            reply = error_reply(failure, version)
        except ConsoleMissing:  # deleted (by another process) since the credentials were read
            reply = error_reply(QRadarError.of(codes.UNAUTHORIZED), version)
        except Exception as error:  # a bug must still answer as QRadar would: 500/1000
            log.exception("request_failed", path=path, error=repr(error))
            reply = self._internal_failure(call, method, path, version)
        if deprecated and call is not None and call.endpoint is not None:
            reply.headers.setdefault("Deprecated", "true")  # errors of a deprecated version too
        if call is not None:
            self._session_and_origin(call, reply, secure)
        payload = await deliver(reply)
        if call is not None:
            self._journal(call, query_string, reply, payload, started)

    async def _read_body(self, receive: Receive, headers: Mapping[str, str]) -> bytes:
        declared = headers.get("content-length")
        if declared is None and "transfer-encoding" not in headers:
            return b""  # no body announced (a GET or DELETE): nothing to read
        if declared is not None:
            if not declared.strip().isdigit():
                raise QRadarError.of(
                    codes.UNREADABLE_PARAMETER,
                    name="Content-Length",
                    placement="header",
                    content_type="TEXT_PLAIN",
                )
            if int(declared) > self.max_body:
                await _drain(receive)
                raise QRadarError.of(codes.BODY_TOO_LARGE, limit=self.max_body)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Disconnected  # a body cut short is no request, never a shorter body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _drain(receive, message)
                raise QRadarError.of(codes.BODY_TOO_LARGE, limit=self.max_body)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _authenticate(
        self, method: str, headers: Mapping[str, str], restore_id: int | None = None
    ) -> tuple[Credential, Console, Session | None, tuple[bytes | None] | None]:
        """The credential as stored now (never cached: a console deleted by another process
        answers 401 at once), the console it selects, and the session the request is in:
        Basic opens one (or goes on with the one its cookie names); a `SEC` header that is no
        token may name one; else the `SEC` cookie, with `QRadarCSRF` on writes (403). With
        `restore_id`, a token's credential is read together with that restore of its console
        (`Call.restore_read`, the last item; None when not read so)."""
        sec = headers.get("sec")
        jar = cookies(headers) if "cookie" in headers else {}
        basic = headers.get("authorization", "")[:6].lower() == "basic "
        if sec or basic or "SEC" not in jar:
            read: tuple[bytes | None] | None = None
            if not sec:
                credential = await presented_credential(self.simulator, headers)
            elif restore_id is None:
                credential = await self.simulator.authenticate(sec.strip())
            else:  # `presented_credential`'s read, with the restore's
                credential, encoded = await self.simulator.authenticate_reading(
                    sec.strip(), restore_id
                )
                read = (encoded,)
            if credential is None and sec:
                session = self.sessions.find(sec)
                if session is not None:  # the session as a header: no CSRF (not ambient)
                    return *await self._resume(session), None
            if credential is None:
                raise QRadarError.of(codes.UNAUTHORIZED)
            console = await self.simulator.console_of(credential)
            if console is None:
                raise QRadarError.of(codes.UNAUTHORIZED)
            return credential, console, self._basic_session(credential, console, jar), read
        session = self.sessions.find(jar["SEC"])
        if session is None:
            raise QRadarError.of(codes.UNAUTHORIZED)
        credential, console, _ = await self._resume(session)
        if method not in SAFE_METHODS and not session.csrf_matches(headers.get("qradarcsrf")):
            raise QRadarError.of(codes.CSRF_REFUSED)
        return credential, console, session, None

    def _restore_to_read(
        self,
        method: str,
        matched: tuple[Route | None, dict[str, str]],
        query: Mapping[str, str],
        headers: Mapping[str, str],
    ) -> int | None:
        """The id of a `GET /restores/{id}` (or HEAD) without `fields`, whose record is read
        with the credential: one read of the store instead of two (on SQLite one read lock
        of the database, two system calls). None for any other request. Only data is read
        ahead: every check keeps its order (401 before 404), and the handler reads again when
        anything may have happened in between (a fault rule, poll mode)."""
        route, params = matched
        if route is None or route is not self._restore_route:
            return None
        if (method != "GET" and method != "HEAD") or "fields" in query or "fields" in headers:
            return None
        return path_number(params.get("id", ""))

    def _basic_session(
        self, credential: Credential, console: Console, jar: Mapping[str, str]
    ) -> Session | None:
        """The session of a Basic request: the one its cookie names when it is this user's,
        else a new one (tokens open none)."""
        if not credential.basic:
            return None
        now = console.clock.now_ms()
        session = self.sessions.find(jar.get("SEC", ""))
        if (
            session is not None
            and session.console == console.id
            and same_secret(session.secret, credential.secret)
            and self.sessions.resume(session, now)
        ):
            return session
        return self.sessions.open(console.id, credential.secret, now)

    async def _resume(self, session: Session) -> tuple[Credential, Console, Session]:
        """A session's credential and console as stored now, if it has not been idle too long."""
        credential = await self.simulator.authenticate(session.secret, basic=True)
        console = await self.simulator.console_of(credential) if credential else None
        if credential is None or console is None or console.id != session.console:
            self.sessions.close(session.id)
            raise QRadarError.of(codes.UNAUTHORIZED)
        if not self.sessions.resume(session, console.clock.now_ms()):
            raise QRadarError.of(codes.UNAUTHORIZED)
        return credential, console, session

    def _session_and_origin(self, call: Call, reply: Reply, secure: bool) -> None:
        """Set the session's cookies again (still open: not after a logout), and the CORS
        headers for an origin the console allows."""
        session = call.session
        if session is not None and self.sessions.find(session.id) is session:
            reply.cookies.extend(session.cookies(secure))
        origin = call.headers.get("origin")
        if origin and cors.allowed(self.control.origins(call.console.id), origin):
            reply.headers.update(cors.response_headers(origin))

    async def _preflight(self, path: str, headers: Mapping[str, str]) -> Reply:
        """A CORS preflight: allowed by the list of the console its credentials select, if it
        has any, else of the default console; 403 without CORS headers otherwise."""
        console = None
        credential = await presented_credential(self.simulator, headers)
        if credential is not None:
            console = await self.simulator.console_of(credential)
        if console is None:
            console = await self.simulator.find_console(DEFAULT_CONSOLE)
        origin = headers["origin"]
        if console is None or not cors.allowed(self.control.origins(console.id), origin):
            return Reply(403, empty=True)
        methods = self._allowed(path, console.release.newest)
        if not methods:
            return error_reply(QRadarError.of(codes.UNKNOWN_PATH, path=path))
        return Reply(200, empty=True, headers=cors.preflight_headers(origin, methods))

    async def _logout(self, call: Call) -> Reply:
        """`POST /api/auth/logout`: the request's session ends (a token has none: nothing)."""
        if call.session is not None:
            self.sessions.close(call.session.id)
        return Reply(200, empty=True, media_type="text/plain")

    def _allowed(self, path: str, version: ApiVersion) -> list[str]:
        """The methods a path has in a version (`Allow`): HEAD with GET, and OPTIONS."""
        route, _ = self._match(path)
        if route is None:
            return []
        methods = [m for m, (_, e) in route.handlers.items() if e is None or e.exists_in(version)]
        if not methods:
            return []
        if "GET" in methods:
            methods.append("HEAD")
        return sorted({*methods, "OPTIONS"})

    def _internal_failure(
        self, call: Call | None, method: str, path: str, version: ApiVersion
    ) -> Reply:
        """The 500 of an unexpected failure: the endpoint's 1000 (found from the path and
        method when the failure came before routing, e.g. in authentication); 1020 only on the
        help and config routes, whose family documents it."""
        endpoint = call.endpoint if call is not None else None
        route = None
        if endpoint is None:
            route, _ = self._match(path)
            if route is not None:
                entry = route.handlers.get(method) or route.handlers.get(
                    "GET" if method == "HEAD" else ""
                )
                entries = [entry] if entry is not None else list(route.handlers.values())
                endpoint = next((e for _, e in entries if e is not None), None)
        if endpoint is not None:
            return error_reply(QRadarError.at(endpoint.id, 1000), version)
        if route is None and path.startswith("/backup_and_restore"):
            # a path that names no endpoint: the family's code, without a documented text
            return _fault_reply(500, 1000, None, None, version)
        return error_reply(QRadarError.of(codes.HELP_FAILED), version)

    def _version(self, release: Release, header: str | None) -> tuple[ApiVersion, bool]:
        """The version the console's release serves for the header (422/13, 422/14), and
        whether the release deprecates it; remembered: asked on every request."""
        key = (release.name, header)
        known = self._versions.get(key)
        if known is None:
            try:
                version = release.choose(header)
            except versions.VersionRemoved:
                raise QRadarError.of(codes.VERSION_REMOVED, value=header) from None
            except versions.VersionNotValid:
                raise QRadarError.of(codes.VERSION_NOT_VALID, value=header) from None
            known = version, release.deprecated(version)
            if len(self._versions) >= 256:
                self._versions.clear()  # bounded (the header is the client's text)
            self._versions[key] = known
        return known

    async def _dispatch(
        self, call: Call, matched: tuple[Route | None, dict[str, str]] | None = None
    ) -> Reply:
        """The route's handler for `call` (`matched`: `_match(call.path)`, when known)."""
        route, params = matched if matched is not None else self._match(call.path)
        if route is None:
            raise QRadarError.of(codes.UNKNOWN_PATH, path=call.path)
        call.params = params
        entry = route.handlers.get(call.method)
        if entry is None and call.method == "HEAD":
            entry = route.handlers.get("GET")
        if entry is None and call.method == "OPTIONS":
            allowed = self._allowed(call.path, call.version)
            if not allowed:
                raise QRadarError.of(codes.UNKNOWN_PATH, path=call.path)
            return Reply(200, empty=True, headers={"Allow": ", ".join(allowed)})
        if entry is None:
            available = [
                m for m, (_, e) in route.handlers.items() if e is None or e.exists_in(call.version)
            ]
            if not available:
                raise QRadarError.of(codes.UNKNOWN_PATH, path=call.path)
            raise QRadarError.of(codes.METHOD_NOT_ALLOWED, method=call.method, path=call.path)
        handler, endpoint = entry
        if endpoint is not None and not endpoint.exists_in(call.version):
            # the endpoint did not exist yet in the requested version: as unknown as any path
            raise QRadarError.of(codes.UNKNOWN_PATH, path=call.path)
        call.endpoint = endpoint
        if route.admin and not call.credential.admin:
            raise QRadarError.of(codes.FORBIDDEN)
        if "accept" in call.headers:
            self._check_accept(call, endpoint, route.produces)
        fault = self.control.faults(call.console.id).take(call.method, "/api" + call.path)
        if fault is not None:
            call.restore_read = None  # read again after the rule: it may wait, or answer
            if fault.latency_ms:
                await anyio.sleep(fault.latency_ms / 1000)
            if fault.status is not None:
                return _fault_reply(fault.status, fault.code, fault.message, endpoint, call.version)
        return await handler(call)

    def _match(self, path: str) -> tuple[Route | None, dict[str, str]]:
        """The first route whose template matches `path` (a trailing `/` allowed), and its
        parameters, found by dict when every template is literal or ends in its one
        placeholder (`_index`), else by trying each route in order."""
        index = self._index
        if index is None:
            return self._scan(path)
        exact, last = index
        cut = path[:-1] if path.endswith("/") else path
        found = exact.get(cut)
        slash = cut.rfind("/")
        value = cut[slash + 1 :]
        entry = last.get(cut[: slash + 1]) if value and slash >= 0 else None
        if entry is not None and (found is None or entry[0] < found[0]):
            _, route, name = entry
            return route, {name: unquote(value) if "%" in value else value}
        if found is not None:
            return found[1], {}
        return None, {}

    def _scan(self, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self.routes:
            if not path.startswith(route.prefix):
                continue  # cheaper than the regex for most routes
            match = route.pattern.fullmatch(path)
            if match is not None:
                params = match.groupdict()
                for k, v in params.items():
                    if "%" in v:
                        params[k] = unquote(v)
                return route, params
        return None, {}

    @staticmethod
    def _check_accept(call: Call, endpoint: Endpoint | None, produces: str) -> None:
        accept = call.headers.get("accept")
        if not accept:
            return
        produced = endpoint.response_mime_type if endpoint else produces
        supported = {produced, "application/json"}
        for part in accept.split(","):
            media = part.split(";", 1)[0].strip().lower()
            if media in ("*/*", "application/*", "*") or media in supported:
                return
            if media == "text/*" and produced.startswith("text/"):
                return
        raise QRadarError.of(codes.NOT_ACCEPTABLE, supported=", ".join(sorted(supported)))

    def _journal(
        self, call: Call, query: str, reply: Reply, payload: bytes, started: float
    ) -> None:
        journal = self.journals(call.console.id)
        kept = {}
        for name, value in call.headers.items():  # not a comprehension: no frame of its own
            if name in _JOURNAL_HEADERS:
                kept[name] = value
        journal.record(
            call.console.clock.now_ms(),
            call.method,
            "/api" + call.path,
            query,
            kept,
            call.body,
            reply.status,
            payload,
            reply.headers,
            (time.perf_counter() - started) * 1000,
        )


_JOURNAL_HEADERS = {"version", "range", "fields", "backup_type", "content-type", "accept"}


def _fault_reply(
    status: int,
    code: int | None,
    message: str | None,
    endpoint: Endpoint | None,
    version: ApiVersion,
) -> Reply:
    if code is None and status == 500:
        code = 1000 if endpoint is not None else codes.HELP_FAILED.unique
    unique = code if code is not None else 0
    try:
        entry = codes.lookup(endpoint.id if endpoint else None, unique)
        if entry.http_status != status:
            raise codes.UnknownCode(unique)
        if (
            endpoint is not None
            and not entry.framework
            and not entry.exists_in(version, endpoint.id)
        ):
            raise codes.UnknownCode(unique)  # e.g. 1021 before 26.0: undocumented in that version
        error = QRadarError.of(entry, message)
        return error_reply(error, version)
    except codes.UnknownCode:
        return Reply(status, error_body(status, unique, message or "", ""))


async def _drain(receive: Receive, last: Mapping[str, Any] | None = None) -> None:
    """Read and drop the rest of an oversized body, so the connection stays usable."""
    message = last
    while message is None or message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            return


def family_routes(handlers: Mapping[EndpointId, Handler]) -> list[Route]:
    """Routes of the backup_and_restore family, read from the endpoint table."""
    by_template: dict[str, dict[str, tuple[Handler, Endpoint | None]]] = {}
    for endpoint in ENDPOINTS:
        by_template.setdefault(endpoint.path, {})[endpoint.method] = (
            handlers[endpoint.id],
            endpoint,
        )
    return [Route(compile_template(t), t, h) for t, h in by_template.items()]
