"""The pytest plugin of the simulator: fixtures for in-process use and for a real server.

Registered through the `pytest11` entry point `qradar_bre_sim`, so installing the package is
enough (`pip install 'qradar-bre-sim[pytest]'` brings pytest, pytest-asyncio and requests);
`-p no:qradar_bre_sim` turns it off. The async fixtures run under pytest-asyncio (strict or
auto mode: mark tests `@pytest.mark.asyncio`, or not in auto mode) and under anyio's
`@pytest.mark.anyio`, in the test's own event loop.

Options the pytest way: `@pytest.mark.bre(clock=..., rules=..., world=..., release=...,
seed=...)` on a test (or module, `pytestmark`) sets up its console: the default console of
`bre_simulator` in-process, the console of `bre_server_console` when served. The factories
`bre_console_factory` (in-process, async) and `bre_server_console_factory` (served) make more
consoles with the same keywords.

In-process (fast, one isolated simulator per test, virtual clock):

- `bre_settings`: the `Settings` the simulator starts with; override it in a module or conftest;
- `bre_store`: the store URL it runs on (default None: the settings' own, `:memory:`); override
  it to run a suite on another store (`memory:`, a path);
- `bre_simulator`: a running `Simulator`, stopped after the test;
- `bre_console`: its default console (the demo world: hosts 53 and 104, backups 1-3);
- `bre_client`: an `httpx.AsyncClient` bound to it in-process, authenticated with `SEC` (for
  `/api`) and the admin credential (for `/simulator`);
- `bre_console_factory`: `await bre_console_factory(rules=...)`, another console of it.

A real server (for synchronous clients such as `requests`, or other languages):

- `bre_server` (session): `bre serve --port 0 --db :memory: --clock virtual` (`--bre-port N`
  or the ini option `bre_port` choose the port), with `.url`, `.token`, `.admin_token` and
  `.new_console()`;
- `bre_server_console`: a fresh isolated console on that server for each test (`.url`,
  `.token`, `.id`, `.headers`, and `.control_url` with `.control_headers` for its control
  surface), deleted afterwards. Its jobs progress in poll mode unless told otherwise (each
  read of an unfinished job moves it one phase on): a synchronous client that polls sees
  every phase and finishes, with no clock to move;
- `bre_server_console_factory`: `bre_server_console_factory(rules=...)`, more such consoles.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from inspect import isasyncgenfunction
from typing import IO, TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from engine.runtime.console import Console
    from engine.simulator import Settings, Simulator

__all__ = [
    "BASE_URL",
    "CONSOLE_OPTIONS",
    "SERVER_RULES",
    "ConsoleFactory",
    "ServerConsole",
    "ServerConsoleFactory",
    "SimulatorServer",
    "bre_client",
    "bre_console",
    "bre_console_factory",
    "bre_server",
    "bre_server_console",
    "bre_server_console_factory",
    "bre_settings",
    "bre_simulator",
    "bre_store",
    "bre_tls_server",
    "bre_tls_server_console",
    "start_server",
]

#: The base URL of `bre_client` (any host works in-process; this one reads as a console).
BASE_URL = "http://qradar.test"
#: How long `bre_server` waits for the server's `ready:` line.
READY_TIMEOUT_S = 30.0
#: The keywords of the `bre` marker (the factories take these and the other console options).
CONSOLE_OPTIONS = ("clock", "rules", "world", "release", "seed")
#: The rules of the served fixtures' consoles, under the ones a test gives (per kind): poll
#: mode, so that a synchronous client polling a job sees it move and finish.
SERVER_RULES: Mapping[str, Mapping[str, Any]] = {
    "restore": {"mode": "poll"},
    "backup": {"mode": "poll"},
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bre", "QRadar Backup and Restore Engine simulator")
    group.addoption(
        "--bre-port",
        type=int,
        default=None,
        metavar="PORT",
        help="the port of the bre_server fixture (default: the ini option bre_port, else 0: "
        "a free port)",
    )
    parser.addini("bre_port", "the port of the bre_server fixture (0: a free port)", default="0")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "bre(clock=None, rules=None, world=None, release=None, seed=None): the console of "
        "bre_simulator / bre_console / bre_client, or of bre_server_console",
    )


def marker_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The keywords of the closest `@pytest.mark.bre(...)`, checked by name."""
    marker = request.node.get_closest_marker("bre")
    if marker is None:
        return {}
    unknown = sorted(set(marker.kwargs) - set(CONSOLE_OPTIONS))
    if marker.args or unknown:
        wrong = repr(marker.args[0]) if marker.args else f"{unknown[0]}="
        raise pytest.UsageError(
            f"@pytest.mark.bre: {wrong} is not an option (keywords: {', '.join(CONSOLE_OPTIONS)})"
        )
    return dict(marker.kwargs)


def _async_fixture(function: Callable[..., Any]) -> Any:
    """An async fixture run in the test's own loop: pytest-asyncio's (strict and auto mode),
    or anyio's for a test that uses `anyio_backend` (`pytest_fixture_setup` below)."""
    function._bre_async = True  # type: ignore[attr-defined]
    try:
        import pytest_asyncio
    except ImportError:  # anyio's plugin runs async fixtures of anyio tests by itself
        return pytest.fixture(function)
    return pytest_asyncio.fixture(function)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, Any, Any]:
    """For an anyio test, run this plugin's async fixtures on anyio's runner (the test's loop),
    as anyio does its own; pytest-asyncio (which would run them on a loop of its own in auto
    mode, and which the fixtures name for its strict mode) then sees a plain fixture."""
    function = fixturedef.func
    if not getattr(function, "_bre_async", False) or "anyio_backend" not in request.fixturenames:
        return (yield)
    from anyio.pytest_plugin import extract_backend_and_options, get_runner

    def on_anyio(anyio_backend: Any, **kwargs: Any) -> Iterator[Any]:
        name, options = extract_backend_and_options(anyio_backend)
        with get_runner(name, options) as runner:
            if isasyncgenfunction(function):
                yield from runner.run_asyncgen_fixture(function, kwargs)
            else:
                yield runner.run_fixture(function, kwargs)  # type: ignore[arg-type]

    names = fixturedef.argnames
    fixturedef.func = on_anyio  # type: ignore[misc]
    fixturedef.argnames = (*names, "anyio_backend") if "anyio_backend" not in names else names  # type: ignore[misc]
    try:
        return (yield)
    finally:
        fixturedef.func = function  # type: ignore[misc]
        fixturedef.argnames = names  # type: ignore[misc]


# --- in-process --------------------------------------------------------------------------------


@pytest.fixture
def bre_settings() -> Settings:
    """The settings of `bre_simulator`: in-memory store, virtual clocks, the demo world."""
    from engine.simulator import Settings

    return Settings()


def _console_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Options as Python code writes them: a world may be a mapping as in scenario files."""
    from engine.control.world import read_world
    from engine.core.records import World

    read = dict(options)
    world = read.get("world")
    if world is not None and not isinstance(world, World):
        read["world"] = read_world(world)
    return read


@pytest.fixture
def bre_store() -> str | None:
    """The store URL `bre_simulator` runs on when `bre_settings` name none of their own
    (`memory:`, a path...); None: the settings' default (`:memory:`, SQLite in RAM)."""
    return None


@_async_fixture
async def bre_simulator(
    bre_settings: Settings, bre_store: str | None, request: pytest.FixtureRequest
) -> AsyncIterator[Simulator]:
    """An isolated in-process simulator, started before the test and stopped after it; the
    `bre` marker's options set up its default console."""
    from engine.control.progression import checked_rules
    from engine.simulator import DEFAULT_DB, Simulator

    options = _console_options(marker_options(request))
    if "rules" in options:
        options["rules"] = checked_rules(options["rules"])
    settings = bre_settings
    if bre_store is not None and settings.db == DEFAULT_DB:
        settings = replace(settings, db=bre_store)
    async with Simulator(replace(settings, **options)) as simulator:
        yield simulator


@pytest.fixture
def bre_console(bre_simulator: Simulator) -> Console:
    """The default console of `bre_simulator`."""
    return bre_simulator.console()


@dataclass(frozen=True, slots=True)
class ConsoleFactory:
    """More consoles of an in-process simulator: `await factory(rules=..., world=...)` takes
    the keywords of `Simulator.create_console` (a world may be a mapping, as in scenarios)."""

    simulator: Simulator

    async def __call__(self, **options: Any) -> Console:
        return await self.simulator.create_console(**_console_options(options))


@pytest.fixture
def bre_console_factory(bre_simulator: Simulator) -> ConsoleFactory:
    """Makes more isolated consoles of `bre_simulator` (they stop with it)."""
    return ConsoleFactory(bre_simulator)


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
            f"{self.url}/simulator/consoles",
            json=options,
            headers=self.control_headers,
            timeout=10,
            verify=self.ssl_context,
        )
        if response.status_code != 201:
            raise ValueError(f"POST /simulator/consoles {options}: {response.text}")
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
    *args: str, timeout: float = READY_TIMEOUT_S, env: dict[str, str] | None = None, port: int = 0
) -> SimulatorServer:
    """Start `bre serve --port PORT ...` and wait for its `ready:` line (which names the URL,
    the default console's token and the admin credential). It runs as `python -P -m engine`
    (`engine.launch`): a project with its own `engine` package does not shadow this one."""
    from engine.launch import bre
    from engine.ready import read_ready

    command = [
        *bre("serve"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--db",
        ":memory:",
        "--clock",
        "virtual",
        "--log-level",
        "WARNING",
        "--log-format",
        "json",
        *args,
    ]
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
def bre_server(request: pytest.FixtureRequest) -> Iterator[SimulatorServer]:
    """A real simulator on a loopback port for the whole session (virtual clocks); the port is
    `--bre-port N` or the ini option `bre_port`, else a free one."""
    port = request.config.getoption("bre_port")
    if port is None:
        port = int(request.config.getini("bre_port") or 0)
    yield from _served(start_server(port=port))


def server_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The body of POST /simulator/consoles for a served fixture's console: the test's rules
    over `SERVER_RULES`, kind by kind (give `mode: auto` for timed phases)."""
    rules = {kind: dict(rule) for kind, rule in SERVER_RULES.items()}
    given = options.get("rules") or {}
    for kind, rule in given.items() if isinstance(given, Mapping) else ():
        rules[kind] = {**rules.get(kind, {}), **rule} if isinstance(rule, Mapping) else rule
    return {**options, "rules": rules}


class ServerConsoleFactory:
    """More consoles of `bre_server`, as `bre_server_console` makes them (poll mode unless the
    rules say otherwise): `factory(rules=..., world=..., clock=..., release=..., seed=...)`,
    any key of the POST /simulator/consoles body. They are deleted after the test."""

    def __init__(self, server: SimulatorServer) -> None:
        self.server = server
        self.made: list[ServerConsole] = []

    def __call__(self, **options: Any) -> ServerConsole:
        console = self.server.new_console(**server_options(options))
        self.made.append(console)
        return console

    def close(self) -> None:
        for console in self.made:
            self.server.delete_console(console)


@pytest.fixture
def bre_server_console_factory(bre_server: SimulatorServer) -> Iterator[ServerConsoleFactory]:
    """Makes isolated consoles on `bre_server`, deleted after the test."""
    factory = ServerConsoleFactory(bre_server)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def bre_server_console(
    bre_server_console_factory: ServerConsoleFactory, request: pytest.FixtureRequest
) -> ServerConsole:
    """A fresh isolated console on `bre_server` (the `bre` marker's options; poll mode unless
    its rules say otherwise), deleted after the test."""
    return bre_server_console_factory(**marker_options(request))


# --- a real HTTPS server (`bre serve --tls`) ---------------------------------------------------


def _ssl_context(verify: str | bool) -> ssl.SSLContext | bool:
    return ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify


@pytest.fixture(scope="session")
def bre_tls_server() -> Iterator[SimulatorServer]:
    """A real simulator serving HTTPS (`bre serve --tls`) on a free loopback port for the whole
    session, with a test CA made at start: `.url` is `https://...`, `.verify` the CA's file
    (`requests`), `.ssl_context` a context trusting it (`httpx`)."""
    yield from _served(start_server("--tls"))


def _served(server: SimulatorServer) -> Iterator[SimulatorServer]:
    """A session's server until the session ends: then stopped, its log removed."""
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
