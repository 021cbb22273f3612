"""The pytest plugin of the simulator: fixtures for in-process use and for a real server.

Registered through the `pytest11` entry point `qradar_bre_sim`, so installing the package is
enough; `-p no:qradar_bre_sim` turns it off.

In-process (fast, one isolated simulator per test, virtual clock):

- `bre_settings`: the `Settings` the simulator starts with; override it in a module or conftest;
- `bre_simulator`: a running `Simulator`, stopped after the test;
- `bre_console`: its default console (the demo world: hosts 53 and 104, backups 1-3);
- `bre_client`: an `httpx.AsyncClient` bound to it in-process, authenticated with `SEC` (for
  `/api`) and the admin credential (for `/simulator`).

A real server on a free port (for synchronous clients such as `requests`, or other languages):

- `bre_server` (session): `python -m engine serve --port 0 --db :memory: --clock virtual`,
  with `.url`, `.token`, `.admin_token` and `.new_console()`;
- `bre_server_console`: a fresh isolated console on that server for each test (`.url`,
  `.token`, `.id`, `.headers`, and `.control_url` with `.control_headers` for its control
  surface), deleted afterwards.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from engine.runtime.console import Console
    from engine.simulator import Settings, Simulator

__all__ = [
    "BASE_URL",
    "ServerConsole",
    "SimulatorServer",
    "bre_client",
    "bre_console",
    "bre_server",
    "bre_server_console",
    "bre_settings",
    "bre_simulator",
    "bre_tls_server",
    "bre_tls_server_console",
    "start_server",
]

#: The base URL of `bre_client` (any host works in-process; this one reads as a console).
BASE_URL = "http://qradar.test"
#: How long `bre_server` waits for the server's `ready:` line.
READY_TIMEOUT_S = 30.0


def _async_fixture(function: Callable[..., Any]) -> Any:
    """An async fixture that also works in pytest-asyncio's strict mode."""
    try:
        import pytest_asyncio
    except ImportError:  # pragma: no cover - without pytest-asyncio, async fixtures cannot run
        return pytest.fixture(function)
    return pytest_asyncio.fixture(function)


# --- in-process --------------------------------------------------------------------------------


@pytest.fixture
def bre_settings() -> Settings:
    """The settings of `bre_simulator`: in-memory store, virtual clocks, the demo world."""
    from engine.simulator import Settings

    return Settings()


@_async_fixture
async def bre_simulator(bre_settings: Settings) -> AsyncIterator[Simulator]:
    """An isolated in-process simulator, started before the test and stopped after it."""
    from engine.simulator import Simulator

    async with Simulator(bre_settings) as simulator:
        yield simulator


@pytest.fixture
def bre_console(bre_simulator: Simulator) -> Console:
    """The default console of `bre_simulator`."""
    return bre_simulator.console()


@_async_fixture
async def bre_client(bre_simulator: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    """An `httpx.AsyncClient` on `bre_simulator`'s HTTP API, in-process, with the SEC token."""
    from engine.api.app import create_app

    token = bre_simulator.settings.tokens[0] if bre_simulator.settings.tokens else ""
    transport = httpx.ASGITransport(app=create_app(bre_simulator))
    headers = {"SEC": token, **admin_headers(bre_simulator.admin_token)}
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers) as client:
        yield client


def admin_headers(admin_token: str | None) -> dict[str, str]:
    """The headers that carry the control surface's credential (none when it needs none)."""
    return {"Authorization": f"Bearer {admin_token}"} if admin_token else {}


# --- a real server -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerConsole:
    """An isolated console of a served simulator."""

    url: str  # the server's base URL, e.g. http://127.0.0.1:41234
    token: str  # the console's SEC token
    id: str  # the console id, for /simulator/consoles/{id}/...
    headers: dict[str, str] = field(default_factory=dict)  # {"SEC": token}
    #: the server's admin credential, as headers: {"Authorization": "Bearer ..."}
    control_headers: dict[str, str] = field(default_factory=dict)
    #: `verify=` for `requests`: the test CA's file on an HTTPS server, else True
    verify: str | bool = True

    @property
    def ssl_context(self) -> ssl.SSLContext | bool:
        """`verify=` for `httpx` (which deprecates a path): a context trusting the test CA."""
        return _ssl_context(self.verify)

    @property
    def control_url(self) -> str:
        return f"{self.url}/simulator/consoles/{self.id}"


@dataclass
class SimulatorServer:
    """A `bre serve` subprocess: its URL, the default console's token, the admin credential of
    its control surface, and its consoles."""

    url: str
    token: str
    process: subprocess.Popen[str]
    log_path: str = ""
    reader: threading.Thread | None = None  # drains stdout after the ready line
    admin_token: str | None = None  # None: the server's control surface needs no credential
    ca: str | None = None  # the test CA's file of an HTTPS server (`bre serve --tls`)

    @property
    def verify(self) -> str | bool:
        """`verify=` for `requests`: the test CA's file on an HTTPS server, else True."""
        return self.ca if self.ca is not None else True

    @property
    def ssl_context(self) -> ssl.SSLContext | bool:
        """`verify=` for `httpx` (which deprecates a path): a context trusting the test CA."""
        return _ssl_context(self.verify)

    @property
    def control_headers(self) -> dict[str, str]:
        return admin_headers(self.admin_token)

    def new_console(self, **options: Any) -> ServerConsole:
        """Create an isolated console (POST /simulator/consoles); `options` go in the body
        (`world`, `seed`, `rules`, `clock`, `tokens` ...)."""
        response = httpx.post(
            f"{self.url}/simulator/consoles", json=options, headers=self.control_headers,
            timeout=10, verify=self.ssl_context,
        )  # fmt: skip
        response.raise_for_status()
        body = response.json()
        token = str(body["tokens"][0])
        return ServerConsole(
            self.url, token, str(body["id"]), {"SEC": token}, self.control_headers, self.verify
        )

    def delete_console(self, console: ServerConsole | str) -> None:
        id = console.id if isinstance(console, ServerConsole) else console
        httpx.delete(
            f"{self.url}/simulator/consoles/{id}", headers=self.control_headers, timeout=10,
            verify=self.ssl_context,
        )  # fmt: skip

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then wait; SIGKILL if it does not stop in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.reader is not None:
            self.reader.join(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode

    def log(self) -> str:
        """What the server wrote to stderr so far."""
        if not self.log_path:
            return ""
        with open(self.log_path, encoding="utf-8", errors="replace") as file:
            return file.read()


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    """Read the server's stdout in a thread, so that the pipe never fills."""
    for line in stream:
        lines.put(line)
    lines.put(None)


def start_server(
    *args: str, timeout: float = READY_TIMEOUT_S, env: dict[str, str] | None = None
) -> SimulatorServer:
    """Start `python -m engine serve --port 0 ...` and wait for its `ready:` line (which names
    the URL, the default console's token and the admin credential)."""
    from engine.ready import read_ready

    command = [
        sys.executable, "-m", "engine", "serve", "--host", "127.0.0.1", "--port", "0",
        "--db", ":memory:", "--clock", "virtual", "--log-level", "WARNING", "--log-format",
        "json", *args,
    ]  # fmt: skip
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BRE_")}
    environment.update(env or {})
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept open for the server's lifetime
        "w+", prefix="bre-serve-", suffix=".log", delete=False
    )
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=log, text=True, env=environment, bufsize=1
    )
    log.close()
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True)
    reader.start()
    server = SimulatorServer("", "", process, log.name, reader)
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            line = lines.get(timeout=max(remaining, 0.01))
        except queue.Empty:
            line = ""
            if remaining <= 0:
                server.stop()
                raise RuntimeError(
                    f"bre serve was not ready within {timeout} s:\n{server.log()}"
                ) from None
            continue
        if line is None:
            server.stop()
            raise RuntimeError(
                f"bre serve exited ({process.returncode}) before it was ready:\n{server.log()}"
            )
        ready = read_ready(line)
        if ready is not None:
            server.url, server.token, server.admin_token = ready.url, ready.token, ready.admin
            server.ca = ready.pairs.get("ca")
            return server


@pytest.fixture(scope="session")
def bre_server() -> Iterator[SimulatorServer]:
    """A real simulator on a free loopback port for the whole session (virtual clocks)."""
    server = start_server()
    try:
        yield server
    finally:
        server.stop()
        with contextlib.suppress(OSError):
            os.unlink(server.log_path)


@pytest.fixture
def bre_server_console(bre_server: SimulatorServer) -> Iterator[ServerConsole]:
    """A fresh isolated console on `bre_server`, deleted after the test."""
    console = bre_server.new_console()
    try:
        yield console
    finally:
        bre_server.delete_console(console)


# --- a real HTTPS server (`bre serve --tls`) ---------------------------------------------------


def _ssl_context(verify: str | bool) -> ssl.SSLContext | bool:
    return ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify


@pytest.fixture(scope="session")
def bre_tls_server() -> Iterator[SimulatorServer]:
    """A real simulator serving HTTPS (`bre serve --tls`) on a free loopback port for the whole
    session, with a test CA made at start: `.url` is `https://...`, `.verify` the CA's file
    (`requests`), `.ssl_context` a context trusting it (`httpx`)."""
    server = start_server("--tls")
    try:
        yield server
    finally:
        server.stop()
        with contextlib.suppress(OSError):
            os.unlink(server.log_path)


@pytest.fixture
def bre_tls_server_console(bre_tls_server: SimulatorServer) -> Iterator[ServerConsole]:
    """A fresh isolated console on `bre_tls_server`, deleted after the test; `.verify` and
    `.ssl_context` trust the server's test CA."""
    console = bre_tls_server.new_console()
    try:
        yield console
    finally:
        bre_tls_server.delete_console(console)
