"""`bre serve`: the simulator behind uvicorn, in our own event loop.

The simulator starts (and seeds its world) before the socket accepts connections, so readiness
is honest; SIGTERM and SIGINT make uvicorn stop accepting, finish requests in flight, and then
the simulator stops its workers and flushes the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import structlog
import uvicorn

from engine.api.app import create_app
from engine.api.connections import ConnectionLimits
from engine.simulator import Settings, SettingsError, Simulator

log = structlog.get_logger("server")


@dataclass(frozen=True, slots=True)
class Listen:
    """Where and how `bre serve` accepts connections."""

    host: str = "127.0.0.1"
    port: int = 8000
    limits: ConnectionLimits = field(default_factory=ConnectionLimits)
    #: a socket already bound by the command that owns the port (`bre serve --workers N`)
    fd: int | None = None


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
    the simulator stops: signals are handled in `serve` instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(settings: Settings, listen: Listen, *, announce: bool = True) -> None:
    sock = bind(listen)
    host, port = sock.getsockname()[:2]
    async with Simulator(settings) as simulator:
        app = create_app(simulator)
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", access_log=False,
            timeout_graceful_shutdown=5, **listen.limits.uvicorn_options(),
        )  # fmt: skip
        server = _Server(config)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, lambda: setattr(server, "should_exit", True))
        task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn has no event
            await asyncio.sleep(0.01)
        if server.started and announce:
            shown = f"[{host}]" if ":" in host else host
            token = settings.tokens[0] if settings.tokens else ""
            print(f"ready: http://{shown}:{port} token={token}", flush=True)
            log.info("server_ready", url=f"http://{shown}:{port}", db=settings.db)
        await task
    sys.stdout.flush()


def run(settings: Settings, listen: Listen) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it on Linux
        asyncio.run(serve(settings, listen))
    else:
        uvloop.run(serve(settings, listen))
