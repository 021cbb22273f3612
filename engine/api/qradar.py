"""The `/api` dispatcher: QRadar's REST conventions in the order QRadar applies them.

Per request: body size (413), credentials (401/18, 403/26), outage mode (503), `Version`
(422), route (404/4, 405), `Accept` (406), parameters (`fields`, `Range`, `filter`, `sort`,
body: 415, 422/8/10/11/30/31/36), then the handler (404, 422, 409 from the engine). Fault and
latency rules of the control surface apply once the endpoint is known. Every answer that is not
a success is a QRadar error body built from the code catalogue: a storage fault is 503/21 while
it lasts, whatever the path; any other unexpected failure is the 500/1000 of the endpoint the
path and method name (resolved as routing would, also when authentication failed), 500/1020
only on the help and config routes.

It is a plain ASGI callable, not a Starlette router: the QRadar conventions (404/4 for an
unknown path, 405 with a QRadar body, the version chosen before routing) are the routing here.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import anyio
import structlog

from engine.api.journal import Journal
from engine.api.wire import Receive, Reply, Scope, Send, error_reply, read_json, send_reply
from engine.control.actions import Control
from engine.core import codes, versions
from engine.core.credentials import Credential
from engine.core.endpoints import ENDPOINTS, Endpoint, EndpointId, Placement
from engine.core.errors import QRadarError, error_body
from engine.core.releases import Release
from engine.core.versions import ApiVersion
from engine.runtime.console import Console
from engine.runtime.units import ConsoleMissing
from engine.simulator import Simulator
from engine.store.base import StorageError

log = structlog.get_logger("api")

MAX_BODY = 1_048_576  # bytes; larger bodies answer 413


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

    def fields(self) -> str | None:
        """`fields` where the endpoint documents it (query or header); the other place too."""
        if self.endpoint is not None and self.endpoint.fields_placement is Placement.HEADER:
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


class Disconnected(Exception):
    """The client went away before its request body was complete."""


Handler = Callable[[Call], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Route:
    """A path template of `/api` with a handler per method; family endpoints carry their entry."""

    pattern: re.Pattern[str]
    template: str
    handlers: dict[str, tuple[Handler, Endpoint | None]]
    admin: bool = True  # needs the admin capability (403/26 otherwise)
    #: the literal text before the first placeholder: a path must start with it
    prefix: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", self.template.split("{", 1)[0])


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
        self.routes = routes
        self.journals = journals
        self.max_body = max_body
        self._versions: dict[tuple[str, str | None], ApiVersion] = {}
        self.requests = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        self.requests += 1
        method = scope["method"].upper()
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]  # mounted: Starlette keeps the full path and sets root_path
        elif path.startswith("/api/") or path == "/api":
            path = path[4:]
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", ()):
            name = raw_name.decode("latin-1").lower()
            if name not in headers:
                headers[name] = raw_value.decode("latin-1")
        query_string = scope.get("query_string", b"").decode("latin-1")
        query: dict[str, str] = {}
        if query_string:
            for k, v in parse_qsl(query_string, keep_blank_values=True):
                query.setdefault(k, v)
        call: Call | None = None
        version = versions.LATEST
        body = b""
        try:
            body = await self._read_body(receive, headers)
            credential, console = await self._authenticate(headers)
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
            )
            await self._check_outage(console)
            version = self._version(console.release, headers.get("version"))
            call.version = version
            reply = await self._dispatch(call)
        except Disconnected:
            return  # the client left before its request was whole: nothing to answer
        except QRadarError as error:
            reply = error_reply(error, version)
        except StorageError as error:  # the database fails, not the request: 503 while it lasts
            log.warning("request_refused_storage", path=path, cause=error.cause)
            failure = QRadarError.of(codes.STORAGE_UNAVAILABLE, cause=error.cause)
            reply = error_reply(failure, version)
        except ConsoleMissing:  # deleted (by another process) since the credentials were read
            reply = error_reply(QRadarError.of(codes.UNAUTHORIZED), version)
        except Exception as error:  # a bug must still answer as QRadar would: 500/1000
            log.exception("request_failed", path=path, error=repr(error))
            reply = self._internal_failure(call, method, path, version)
        deprecated = call is not None and call.console.release.deprecated(version)
        if deprecated and call is not None and call.endpoint is not None:
            reply.headers.setdefault("Deprecated", "true")  # errors of a deprecated version too
        payload = await send_reply(send, reply)
        if call is not None:
            self._journal(call, query_string, reply, payload, started)

    async def _read_body(self, receive: Receive, headers: Mapping[str, str]) -> bytes:
        declared = headers.get("content-length")
        if declared is None and "transfer-encoding" not in headers:
            return b""  # no body announced (a GET or DELETE): nothing to read
        if declared is not None:
            if not declared.strip().isdigit():
                raise QRadarError.of(codes.UNREADABLE_PARAMETER, name="Content-Length",
                                     placement="header", content_type="TEXT_PLAIN")  # fmt: skip
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

    async def _authenticate(self, headers: Mapping[str, str]) -> tuple[Credential, Console]:
        """The credential as stored now (never cached: a console deleted by another process
        answers 401 at once) and the console it selects."""
        credential = await presented_credential(self.simulator, headers)
        if credential is None:
            raise QRadarError.of(codes.UNAUTHORIZED)
        console = await self.simulator.console_of(credential)
        if console is None:
            raise QRadarError.of(codes.UNAUTHORIZED)
        return credential, console

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

    async def _check_outage(self, console: Console) -> None:
        if console.outage_mode and await console.restore_running():
            raise QRadarError.of(codes.SERVICES_STOPPED)

    def _version(self, release: Release, header: str | None) -> ApiVersion:
        """The version the console's release serves for the header (422/13, 422/14)."""
        key = (release.name, header)
        version = self._versions.get(key)
        if version is None:
            try:
                version = release.choose(header)
            except versions.VersionRemoved:
                raise QRadarError.of(codes.VERSION_REMOVED, value=header) from None
            except versions.VersionNotValid:
                raise QRadarError.of(codes.VERSION_NOT_VALID, value=header) from None
            if len(self._versions) < 256:
                self._versions[key] = version
        return version

    async def _dispatch(self, call: Call) -> Reply:
        route, params = self._match(call.path)
        if route is None:
            raise QRadarError.of(codes.UNKNOWN_PATH, path=call.path)
        call.params = params
        entry = route.handlers.get(call.method)
        if entry is None and call.method == "HEAD":
            entry = route.handlers.get("GET")
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
        self._check_accept(call, endpoint)
        fault = self.control.faults(call.console.id).take(call.method, "/api" + call.path)
        if fault is not None:
            if fault.latency_ms:
                await anyio.sleep(fault.latency_ms / 1000)
            if fault.status is not None:
                return _fault_reply(fault.status, fault.code, fault.message, endpoint, call.version)
        return await handler(call)

    def _match(self, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self.routes:
            if not path.startswith(route.prefix):
                continue  # cheaper than the regex for most routes
            match = route.pattern.fullmatch(path)
            if match is not None:
                return route, {k: unquote(v) for k, v in match.groupdict().items()}
        return None, {}

    @staticmethod
    def _check_accept(call: Call, endpoint: Endpoint | None) -> None:
        accept = call.headers.get("accept")
        if not accept:
            return
        produced = endpoint.response_mime_type if endpoint else "application/json"
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
        kept = {k: v for k, v in call.headers.items() if k in _JOURNAL_HEADERS}
        journal.record(
            call.console.clock.now_ms(), call.method, "/api" + call.path, query, kept, call.body,
            reply.status, payload, reply.headers, (time.perf_counter() - started) * 1000,
        )  # fmt: skip


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
