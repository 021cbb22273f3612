"""`bre serve`: the simulator behind uvicorn, in our own event loop.

The simulator starts (and seeds its world) before the socket accepts connections, so readiness
is honest; SIGTERM and SIGINT make uvicorn stop accepting, finish requests in flight, and then
the simulator stops its workers and flushes the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import structlog
import uvicorn

from engine.api.app import create_app
from engine.ready import ready_line
from engine.simulator import Settings, Simulator

log = structlog.get_logger("server")


@dataclass(frozen=True, slots=True)
class Listen:
    host: str = "127.0.0.1"
    port: int = 8000


def bind(listen: Listen) -> socket.socket:
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # several servers, one port
    sock.bind((listen.host, listen.port))
    sock.listen(2048)
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
            app, log_level="warning", lifespan="off", access_log=False, http="auto",
            timeout_graceful_shutdown=5,
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
            admin = simulator.admin_token if settings.control_auth else None
            print(ready_line(f"http://{shown}:{port}", token=token, admin=admin), flush=True)
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
