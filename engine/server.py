"""`bre serve`: the simulator behind uvicorn, in our own event loop.

The simulator starts (and seeds its world) before the socket accepts connections, so readiness
is honest. SIGTERM and SIGINT end the process within SHUTDOWN_BOUND_S, whatever the engine is
doing: readiness turns false, uvicorn stops accepting and finishes the requests in flight (its
graceful timeout, then they are cancelled), the simulator cancels its workers and gives queued
writes a grace, and a wait for another process's lock gives up. As a last resort a watchdog,
armed by the signal, logs `shutdown_forced` and exits with status 1 (a unit of work that never
returns, a thread that does not end). The signals are taken on a thread of their own
(`sigwait`), so they are seen even while the event loop is busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import field
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import structlog
import uvicorn

from engine.api.app import create_app
from engine.api.connections import ConnectionLimits
from engine.api.qradar import QRadarApi
from engine.api.wire import Reply, body_parts, head, kept
from engine.core.frozen import record
from engine.ready import ready_line
from engine.simulator import Settings, SettingsError, Simulator
from engine.store.urls import redacted

if TYPE_CHECKING:  # a certificate's files: imported only when one is given (`engine.cli`)
    from engine.tls import TlsFiles

log = structlog.get_logger("server")

SHUTDOWN_BOUND_S = 10.0  # from SIGTERM or SIGINT to the end of the process, at most
SERVER_STOP_S = 6.0  # uvicorn's part: its graceful timeout (5 s), then its tasks are cancelled
EXIT_FORCED = 1
_SIGNALS = {signal.SIGTERM, signal.SIGINT}

# Allocations between two young collections once serving (CPython's default is 700). A request
# allocates a few hundred objects, so the default collects every two or three requests; a write
# run spent 940 ms of collections at the default, 457 ms with start-up frozen, 83 ms with both
# (issue 12, the write path's p99 halved). Garbage cycles wait longer, which costs little memory.
YOUNG_COLLECTION_THRESHOLD = 50_000


@record
class Listen:
    """Where and how `bre serve` accepts connections."""

    host: str = "127.0.0.1"
    port: int = 8000
    limits: ConnectionLimits = field(default_factory=ConnectionLimits)
    #: a socket already bound by the command that owns the port (`bre serve --workers N`)
    fd: int | None = None
    #: serve HTTPS with these files (`--tls`, `--certfile`); None: plain HTTP
    tls: TlsFiles | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.tls is not None else "http"


class PortError(SettingsError):
    """The port cannot be had: one line naming it and why (exit code 2)."""


def bind(listen: Listen) -> socket.socket:
    """The listening socket: this process's alone.

    No SO_REUSEPORT: a second server on a port in use is an error, never a silent share of the
    traffic (two simulators with different databases answering in turn). Several processes serve
    one port only under `bre serve --workers N`, whose parent binds once and hands the socket
    down (`fd`). SO_REUSEADDR only lets a restart take a port still in TIME_WAIT."""
    if listen.fd is not None:
        sock = socket.socket(fileno=listen.fd)
        sock.setblocking(False)
        return sock
    if not 0 <= listen.port <= 65535:
        raise PortError(f"--port {listen.port}: expected 0 to 65535 (0 picks a free port)")
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((listen.host, listen.port))
        sock.listen(2048)
    except OSError as error:
        sock.close()
        where = f"{listen.host}:{listen.port}"
        if error.errno == errno.EADDRINUSE:
            raise PortError(
                f"--port {listen.port}: {where} is in use by another process "
                "(stop it, or pick another port; --port 0 picks a free one)"
            ) from None
        if error.errno == errno.EACCES:
            raise PortError(
                f"--port {listen.port}: not allowed to listen on {where} (ports below 1024 "
                "need privileges)"
            ) from None
        raise PortError(f"--host {listen.host} --port {listen.port}: {error.strerror}") from None
    sock.setblocking(False)
    return sock


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM after its own shutdown, which would kill the process before
    the simulator stops: signals are handled in `serve` instead. Over TLS, a connection must
    finish its handshake within the header deadline (the event loop's default is 60 s, and a
    connection is only counted against the cap once its handshake is done)."""

    handshake_timeout_s: float | None = None
    #: set once uvicorn has started (it has no event of its own: polling it cost up to 10 ms
    #: of the start-up)
    up: asyncio.Event | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await self._startup(sockets)
        finally:
            if self.up is not None:
                self.up.set()  # started, or failed to: `serve` looks at `started`

    async def _startup(self, sockets: list[socket.socket] | None) -> None:
        if self.handshake_timeout_s is None:
            await super().startup(sockets)
            return
        loop = asyncio.get_running_loop()
        create_server = loop.create_server
        timeout = self.handshake_timeout_s

        def bounded(*args: Any, **kwargs: Any) -> Any:
            return create_server(*args, ssl_handshake_timeout=timeout, **kwargs)

        setattr(loop, "create_server", bounded)  # noqa: B010 - uvicorn passes no handshake timeout
        try:
            await super().startup(sockets)
        finally:
            delattr(loop, "create_server")  # the loop's own method again


class _Corked:
    """A connection's transport that holds a response's head until its body is written, so
    that a response goes out in one send, not two (a system call and a TCP segment fewer per
    request). Held bytes never wait past the current turn of the event loop (a streamed
    response's head goes out then), and closing sends them first; everything else is the
    transport's own."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held + data)
        elif data.startswith(b"HTTP/"):  # a head (the ASGI response's start): hold it
            self._held = data
            self._loop.call_soon(self._send_held)
        else:
            self._transport.write(data)

    def _send_held(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            if not self._transport.is_closing():
                self._transport.write(held)

    def write_whole(self, data: bytes) -> None:
        """A whole response (head and body) at once: nothing to hold."""
        held = self._held
        if held is not None:
            self._held = None
            data = held + data
        self._transport.write(data)

    def is_closing(self) -> bool:  # asked after every response: not through __getattr__
        return self._transport.is_closing()

    def close(self) -> None:
        self._send_held()
        self._transport.close()

    def write_eof(self) -> None:
        self._send_held()
        self._transport.write_eof()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _corked(protocol: type[Any]) -> type[Any]:
    """uvicorn's HTTP protocol `protocol`, writing through `_Corked`."""

    class CorkedProtocol(protocol):  # type: ignore[misc]
        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(_Corked(transport, self.loop))

    return CorkedProtocol


#: Request headers that keep a request on the ASGI path: a body, or what uvicorn's proxy
#: headers middleware reads (it may change the scheme, hence the cookies' `Secure`).
_ASGI_ONLY = frozenset(
    {b"content-length", b"transfer-encoding", b"x-forwarded-proto", b"x-forwarded-for"}
)


class _DirectCycle:
    """The request/response state uvicorn's protocol reads from its current cycle
    (`shutdown`, `connection_lost`, pipelining), for a request answered directly."""

    __slots__ = ("disconnected", "keep_alive", "more_body", "response_complete", "started")

    def __init__(self, keep_alive: bool) -> None:
        self.keep_alive = keep_alive  # `shutdown` turns it off: the answer then closes
        self.disconnected = False  # set by `connection_lost`
        self.more_body = False
        self.response_complete = False
        self.started = False

    @property
    def message_event(self) -> _DirectCycle:
        return self  # `connection_lost` sets it: no one waits on a request without a body

    def set(self) -> None:
        pass


async def _no_body() -> dict[str, Any]:  # never read: a direct request announces no body
    return {"type": "http.disconnect"}


_METHODS = {b"GET": "GET", b"HEAD": "HEAD"}


def _target(target: bytes) -> tuple[str | None, bytes] | None:
    """A request target's path under `/api` (None: elsewhere) and its query, as uvicorn reads
    them; None when it cannot (uvicorn answers that on its own path)."""
    import httptools

    try:
        url = httptools.parse_url(target)
        path = url.path.decode("ascii")
    except (httptools.HttpParserInvalidURLError, UnicodeDecodeError):
        return None
    if "%" in path:
        path = unquote(path)
    if not path.startswith("/api/") and path != "/api":
        return None, b""
    return path[4:], url.query or b""


def _direct(api: QRadarApi) -> type[Any]:
    """uvicorn's httptools protocol, handing a complete `/api` request without a body (GET,
    HEAD) to `api.answer` and writing its reply itself: the bytes uvicorn's ASGI cycle would
    write (its status line, its `server` and `date` headers, the same checks), without the
    scope, the message dicts, the middleware and the application's routing in between.
    Any other request, or one uvicorn treats specially
    (pipelined behind an unfinished answer, `Expect`, upgrade, proxy headers, a malformed
    URL), takes uvicorn's ASGI path unchanged."""
    from uvicorn.protocols.http.httptools_impl import (
        HEADER_RE,
        HEADER_VALUE_RE,
        STATUS_LINE,
        HttpToolsProtocol,
    )

    #: uvicorn's default headers (`server`, `date`) and their lines, checked as uvicorn does
    served_defaults: list[Any] = [None, None]

    def _default_block(defaults: list[tuple[bytes, bytes]]) -> bytes | None:
        lines = []
        for name, value in defaults:
            if HEADER_RE.search(name) or HEADER_VALUE_RE.search(value):
                return None  # checked (and refused) with the reply's headers
            if name.lower() in (b"content-length", b"connection", b"transfer-encoding"):
                return None
            lines.append(b"%s: %s\r\n" % (name.lower(), value))
        return b"".join(lines)

    #: header names already found valid (lower-case, as sent): the reply's, from the code
    checked_names: set[bytes] = set()

    #: request targets already read (`_target`): most clients ask for a few again and again
    targets: dict[bytes, tuple[str | None, bytes]] = {}

    class DirectProtocol(HttpToolsProtocol):
        def on_message_begin(self) -> None:
            """uvicorn's, but the ASGI scope is made only for a request that needs it."""
            self.url = b""
            self.expect_100_continue = False
            self.headers = []

        def on_headers_complete(self) -> None:
            if not self._answer_directly():
                url, headers, expect = self.url, self.headers, self.expect_100_continue
                super().on_message_begin()  # the scope, as uvicorn makes it
                self.url, self.headers, self.expect_100_continue = url, headers, expect
                self.scope["headers"] = headers
                super().on_headers_complete()

        def _answer_directly(self) -> bool:
            cycle = self.cycle
            if cycle is not None and not cycle.response_complete:
                return False  # pipelined: uvicorn queues it behind the answer in progress
            parser = self.parser
            method = parser.get_method()
            if method != b"GET" and method != b"HEAD":
                return False
            if (
                self.expect_100_continue
                or self.limit_concurrency is not None
                or self.access_log
                or self.config.reset_contextvars
                or self.root_path  # `bre serve` sets none: the application reads it
                or parser.should_upgrade()
            ):
                return False
            connection = False
            for name, _ in self.headers:
                if name in _ASGI_ONLY:
                    return False
                if name == b"connection" or name == b"proxy-connection":  # as llhttp reads
                    connection = True
            target = self.url
            known = targets.get(target)
            if known is None:
                known = _target(target)
                if known is None:
                    return False
                if len(target) <= 256:
                    if len(targets) >= 256:
                        targets.clear()  # bounded; what clients ask for now is cached again
                    targets[target] = known
            path, query = known
            if path is None:
                return False
            # HTTP/1.0 is kept alive only with `Connection: keep-alive` (by llhttp; by uvicorn
            # never): without that header, `should_keep_alive` tells the version apart
            keep = parser.should_keep_alive() and (
                not connection or parser.get_http_version() != "1.0"
            )
            direct = _DirectCycle(keep)
            self.cycle = direct  # type: ignore[assignment]
            # its headers now: a request after it in the same read starts a list of its own.
            # A task of its own, as uvicorn gives the ASGI application: run at once, outside
            # a task, it saved 8% of a GET, but anyio's primitives need a current task (a
            # console attached at its first request here failed with 500)
            request = self._answer(direct, _METHODS[method], path, self.headers, query)
            task = self.loop.create_task(request)
            task.add_done_callback(self.tasks.discard)
            self.tasks.add(task)
            return True

        async def _answer(
            self,
            cycle: _DirectCycle,
            method: str,
            path: str,
            headers: list[tuple[bytes, bytes]],
            query: bytes,
        ) -> None:
            """uvicorn's `run_asgi` for a direct request: a failure is logged, and answered
            500 if nothing was sent yet."""
            deliver = partial(self._deliver, cycle, method)
            secure = self.scheme == "https"
            try:
                await api.answer(method, path, headers, query, secure, _no_body, deliver)
            except BaseException as exc:
                self.logger.error("Exception in ASGI application\n", exc_info=exc)
                if not cycle.started:
                    await self._write(cycle, method, 500, _FAILED_HEAD, (_FAILED,))
                else:
                    self.transport.close()
            else:
                if not cycle.started and not cycle.disconnected:
                    self.logger.error("ASGI callable returned without starting response.")
                    await self._write(cycle, method, 500, _FAILED_HEAD, (_FAILED,))

        async def _deliver(self, cycle: _DirectCycle, method: str, reply: Reply) -> bytes:
            parts = body_parts(reply)
            if self.flow.write_paused or len(parts) > 1:
                await self._write(cycle, method, reply.status, head(reply, parts), parts)
            elif not cycle.disconnected:  # `_write`, without a coroutine of its own
                self._start(cycle, method, reply.status, head(reply, parts), parts[0])
                self._complete(cycle)
            return kept(parts)

        async def _write(
            self,
            cycle: _DirectCycle,
            method: str,
            status: int,
            headers: list[tuple[bytes, bytes]],
            parts: tuple[bytes, ...],
        ) -> None:
            """What uvicorn's `send` writes for a start message and `parts` as body messages,
            waiting as it does while the transport's buffer is full."""
            flow = self.flow
            if flow.write_paused and not cycle.disconnected:
                await flow.drain()
            if cycle.disconnected:
                return
            self._start(cycle, method, status, headers, parts[0])
            for part in parts[1:]:
                if flow.write_paused and not cycle.disconnected:
                    await flow.drain()
                if cycle.disconnected:
                    return
                if method != "HEAD":
                    self.transport.write(part)
            self._complete(cycle)

        def _start(
            self,
            cycle: _DirectCycle,
            method: str,
            status: int,
            headers: list[tuple[bytes, bytes]],
            first: bytes,
        ) -> None:
            """The head (uvicorn's lines, in its order, with its checks) and the first part of
            the body, in one write (a reply always names its length, or has no body)."""
            cycle.started = True
            defaults = self.server_state.default_headers  # a new list each second (`date`)
            if defaults is not served_defaults[0]:
                served_defaults[:] = defaults, _default_block(defaults)
            block = served_defaults[1]
            content = [STATUS_LINE[status]]
            if block is None:  # a default header uvicorn reads (none by default): as it does
                headers = [*defaults, *headers]
            else:
                content.append(block)
            closing = False
            chunked = True
            for name, value in headers:
                if name not in checked_names:
                    if HEADER_RE.search(name):
                        raise RuntimeError("Invalid HTTP header name.")
                    if name == name.lower() and len(checked_names) < 64:
                        checked_names.add(name)
                if HEADER_VALUE_RE.search(value):
                    raise RuntimeError("Invalid HTTP header value.")
                name = name.lower()
                if name == b"content-length":
                    chunked = False
                elif name == b"connection" and b"close" in (
                    t.lower().strip() for t in value.split(b",")
                ):
                    cycle.keep_alive, closing = False, True
                content.append(b"%s: %s\r\n" % (name, value))
            if not cycle.keep_alive and not closing:
                content.append(b"connection: close\r\n")
            head_only = method == "HEAD"
            if chunked and not head_only and status not in (204, 304):
                raise RuntimeError("a direct reply names its length")  # `head` always does
            content.append(b"\r\n")
            if not head_only:
                content.append(first)
            self.transport.write_whole(b"".join(content))  # type: ignore[attr-defined]  # _Corked

        def _complete(self, cycle: _DirectCycle) -> None:
            cycle.response_complete = True
            if not cycle.keep_alive:
                self.transport.close()
            self.on_response_complete()

    return DirectProtocol


_FAILED = b"Internal Server Error"
#: uvicorn's own answer to an application's failure
_FAILED_HEAD = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", b"%d" % len(_FAILED)),
    (b"connection", b"close"),
]


class Shutdown:
    """SIGTERM and SIGINT, taken by `sigwait` on a thread of their own (they are blocked in
    every other thread): the first asks `serve` to stop and arms the watchdog; a second one
    ends the process at once."""

    def __init__(self, bound_s: float) -> None:
        self.bound_s = bound_s
        self.received: signal.Signals | None = None
        self._request: Callable[[], None] | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Block the signals in this thread (and so in every thread started later), then take
        them on a daemon thread. Call it before any other thread starts."""
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        threading.Thread(target=self._wait, name="bre-signals", daemon=True).start()

    def attach(self, loop: asyncio.AbstractEventLoop, stop: Callable[[], None]) -> None:
        """Where a signal goes: `stop` called on `loop` (at once if one came already)."""

        def request() -> None:
            loop.call_soon_threadsafe(stop)

        with self._lock:
            self._request = request
            received = self.received
        if received is not None:
            stop()

    def _wait(self) -> None:
        while True:
            signum = signal.Signals(signal.sigwait(_SIGNALS))
            with self._lock:
                first, self.received = self.received is None, signum
                request = self._request
            if not first:
                self._force(f"a second {signum.name}")
            # the watchdog and the request come before the log line: a log that cannot be
            # written (its pipe's reader gone) must not end this thread and leave the signal
            # ignored for good
            watchdog = threading.Timer(self.bound_s, self._force, (f"{self.bound_s:g} s passed",))
            watchdog.daemon = True
            watchdog.start()
            if request is not None:
                with contextlib.suppress(RuntimeError):  # the loop has closed: exiting anyway
                    request()
            with contextlib.suppress(Exception):
                log.info("shutdown_requested", signal=signum.name, bound_s=self.bound_s)

    @staticmethod
    def _force(reason: str) -> None:
        try:  # whatever the logs' state: the exit comes
            log.error("shutdown_forced", reason=reason, exit_status=EXIT_FORCED)
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(EXIT_FORCED)


async def serve(
    settings: Settings, listen: Listen, *, announce: bool = True, shutdown: Shutdown | None = None
) -> None:
    sock = bind(listen)
    host, port = sock.getsockname()[:2]
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    if shutdown is not None:
        shutdown.attach(loop, stop.set)
    else:  # embedded in another program's loop: signals as the loop offers them
        for signum in _SIGNALS:
            loop.add_signal_handler(signum, stop.set)
    async with Simulator(settings) as simulator:
        app = create_app(simulator)
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            ws="none",  # no WebSocket route: an upgrade is an HTTP request (nor its imports)
            timeout_graceful_shutdown=5,
            **_uvicorn_options(listen.limits, app.state.api),
            **_tls_options(listen.tls),
        )
        server = _Server(config)
        server.up = asyncio.Event()
        if listen.tls is not None:
            server.handshake_timeout_s = listen.limits.header_timeout_s
        task = loop.create_task(server.serve(sockets=[sock]))
        await _first(task, server.up, stop)
        if not gc.isenabled():  # `bre serve` started without collections (`engine.cli.main`)
            gc.freeze()  # what start-up made stays: no collection needs to look at it again
            gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])
            gc.enable()
        if server.started and announce and not stop.is_set():
            shown = f"[{host}]" if ":" in host else host
            token = settings.tokens[0] if settings.tokens else ""
            admin = simulator.admin_token if settings.control_auth else None
            url = f"{listen.scheme}://{shown}:{port}"
            ca = listen.tls.ca if listen.tls is not None else None
            # the web page's URL with the admin credential, as Jupyter prints its own
            page = f"{url}/?token={quote(admin, safe='')}" if admin else f"{url}/"
            print(ready_line(url, token=token, admin=admin, ca=ca, page=page), flush=True)
            log.info("server_ready", url=url, db=redacted(settings.db))
        await _until_stopped(simulator, server, task, stop)
    sys.stdout.flush()


async def _first(task: asyncio.Task[None], *events: asyncio.Event) -> None:
    """Until `task` ends or one of `events` is set."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait({task, *waits}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


def _uvicorn_options(limits: ConnectionLimits, api: QRadarApi) -> dict[str, Any]:
    """The connection limits' uvicorn keywords, their protocol answering `/api` requests
    without a body directly (`_direct`) and corked (`_Corked`)."""
    options = limits.uvicorn_options(_direct(api))
    options["http"] = _corked(options["http"])
    return options


def _tls_options(tls: TlsFiles | None) -> dict[str, Any]:
    """uvicorn's keywords for HTTPS: the same protocol, limits and shutdown, over TLS."""
    if tls is None:
        return {}
    return {"ssl_certfile": tls.certfile, "ssl_keyfile": tls.keyfile}


async def _until_stopped(
    simulator: Simulator, server: uvicorn.Server, task: asyncio.Task[None], stop: asyncio.Event
) -> None:
    """Serve until a signal (or uvicorn ends), then stop in bounded steps: readiness false,
    uvicorn's graceful stop (then its tasks are cancelled); the simulator stops on leaving."""
    await _first(task, stop)
    simulator.begin_stop()
    server.should_exit = True
    await asyncio.wait({task}, timeout=SERVER_STOP_S)
    if not task.done():
        log.error("server_not_stopped", within_s=SERVER_STOP_S)
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    elif not task.cancelled() and (error := task.exception()) is not None:
        raise error


def run(settings: Settings, listen: Listen) -> None:
    """`bre serve`: signals on their own thread, then the server on uvloop."""
    shutdown = Shutdown(SHUTDOWN_BOUND_S)
    shutdown.start()
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it on Linux
        asyncio.run(serve(settings, listen, shutdown=shutdown))
    else:
        uvloop.run(serve(settings, listen, shutdown=shutdown))
