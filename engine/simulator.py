"""The simulator: the composition root that embeds the engine in a test suite or a server.

    async with Simulator(Settings()) as sim:          # in-memory store, virtual clocks
        console = sim.console()                        # the default console
        restore = await console.create_restore(1, ["CUSTOM_RULES_CONFIG"])
        await console.request_restore(restore.id)
        await console.wait_for_restore(restore.id)     # hours of simulated time, instantly

It owns the store, one `Console` (world, gate, rules, clock) per console id, and an anyio task
group with one worker per console. The task group lives in a task of its own, so that entering
and leaving the simulator may happen in different tasks (as pytest fixtures do).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Literal

import anyio
import structlog
from anyio.abc import TaskGroup

from engine.control.inputs import TOKEN, TOKEN_REQUEST, check_console
from engine.control.progression import checked_rules
from engine.control.schema import ControlError
from engine.core.records import World, demo_world
from engine.runtime import units
from engine.runtime.clock import Clock, RealClock, VirtualClock
from engine.runtime.console import Console, put_world
from engine.runtime.machines import Machines
from engine.runtime.worker import Worker
from engine.store.base import ConsoleState, Credential, Store, Tx, same_secret, secret_digest
from engine.store.sqlite import SqliteStore

log = structlog.get_logger("engine")

DEFAULT_CONSOLE = "default"
DEFAULT_TOKEN = "bre-sim-token"  # the demo console's SEC token unless --token says otherwise
DEFAULT_BASIC = ("admin", "admin")


class ConsoleExists(ControlError):
    """A console of that id is in the store (perhaps created by another process)."""

    def __init__(self, id: str) -> None:
        super().__init__("id", f"console {id!r} exists")


class SettingsError(ValueError):
    """A configuration value that cannot be used; the message names the key and the value."""


@dataclass(frozen=True, slots=True)
class Settings:
    """How a simulator runs. `from_env` reads `BRE_*` variables over these defaults."""

    db: str = ":memory:"
    clock: Literal["virtual", "real"] = "virtual"
    autojump: bool = False
    seed: int = 0
    recovery: Literal["resume", "fail"] = "resume"
    scan_interval_s: float = 0.5
    tokens: tuple[str, ...] = (DEFAULT_TOKEN,)
    basic: tuple[tuple[str, str], ...] = (DEFAULT_BASIC,)
    world: World | None = None  # the default console's world on first start; None: the demo
    sample_keys: bool = False  # also emit IBM's sample keys `intiated_by`, `build_version`
    rules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: the bearer token of the control surface; None: a random one per simulator
    admin_token: str | None = None
    control_auth: bool = True  # False: /simulator answers anyone (throwaway local use only)
    journal_entries: int = 1000  # requests kept per console
    journal_header_bytes: int = 4096  # header bytes kept per journal entry
    journal_bytes: int = 4 * 2**20  # journal bytes per console (oldest entries dropped)
    control_body_bytes: int = 2**20  # the largest control request body (413 beyond)

    def __post_init__(self) -> None:
        for name in _BOUNDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise SettingsError(f"{name}={value!r}: expected a non-negative integer")
        if self.admin_token is not None:
            try:
                TOKEN.read(self.admin_token, "admin_token")
            except ControlError as error:
                raise SettingsError(str(error)) from None
        if not isinstance(self.control_auth, bool):
            raise SettingsError(f"control_auth={self.control_auth!r}: expected true or false")

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        values: dict[str, Any] = {}
        readers = {
            "BRE_DB": ("db", str),
            "BRE_CLOCK": ("clock", _choice("BRE_CLOCK", ("virtual", "real"))),
            "BRE_SEED": ("seed", _integer("BRE_SEED")),
            "BRE_RECOVERY": ("recovery", _choice("BRE_RECOVERY", ("resume", "fail"))),
            "BRE_SCAN_INTERVAL": ("scan_interval_s", _number("BRE_SCAN_INTERVAL")),
            "BRE_SAMPLE_KEYS": ("sample_keys", _flag("BRE_SAMPLE_KEYS")),
        }
        for key, (name, read) in readers.items():
            if key in environ:
                values[name] = read(environ[key])
        for key, name in _BOUND_VARIABLES.items():
            if key in environ:
                values[name] = _integer(key)(environ[key])
        if environ.get("BRE_ADMIN_TOKEN"):
            values["admin_token"] = environ["BRE_ADMIN_TOKEN"]
        if "BRE_CONTROL_AUTH" in environ:
            values["control_auth"] = _flag("BRE_CONTROL_AUTH")(environ["BRE_CONTROL_AUTH"])
        if "BRE_TOKENS" in environ:
            values["tokens"] = tuple(t for t in environ["BRE_TOKENS"].split(",") if t)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


#: The bounds of `Settings`, each read from its environment variable.
_BOUND_VARIABLES = {
    "BRE_JOURNAL_ENTRIES": "journal_entries",
    "BRE_JOURNAL_HEADER_BYTES": "journal_header_bytes",
    "BRE_JOURNAL_BYTES": "journal_bytes",
    "BRE_CONTROL_BODY_BYTES": "control_body_bytes",
}
_BOUNDS = tuple(_BOUND_VARIABLES.values())


def _labelled_credentials(
    console: str, tokens: Sequence[str], non_admin_tokens: Sequence[str],
    basic: Sequence[tuple[str, str]],
) -> list[tuple[str, Credential]]:  # fmt: skip
    """A console's credentials, each with the name of the argument that gives it."""
    return [
        *((f"tokens[{i}]", Credential(t, console, True, "admin")) for i, t in enumerate(tokens)),
        *((f"non_admin_tokens[{i}]", Credential(t, console, False, "operator"))
          for i, t in enumerate(non_admin_tokens)),
        *((f"basic[{i}]", Credential(f"{u}:{pw}", console, True, u, basic=True))
          for i, (u, pw) in enumerate(basic)),
    ]  # fmt: skip


def _choice(key: str, allowed: tuple[str, ...]) -> Any:
    def read(value: str) -> str:
        if value not in allowed:
            raise SettingsError(f"{key}={value!r}: expected one of {', '.join(allowed)}")
        return value

    return read


def _integer(key: str) -> Any:
    def read(value: str) -> int:
        try:
            return int(value)
        except ValueError:
            raise SettingsError(f"{key}={value!r}: expected an integer") from None

    return read


def _number(key: str) -> Any:
    def read(value: str) -> float:
        try:
            return float(value)
        except ValueError:
            raise SettingsError(f"{key}={value!r}: expected a number") from None

    return read


def _flag(key: str) -> Any:
    def read(value: str) -> bool:
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(f"{key}={value!r}: expected true or false")

    return read


class Simulator:
    """An isolated simulator: a store, its consoles and their workers."""

    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        settings = settings or Settings()
        self.settings = replace(settings, **overrides) if overrides else settings
        self.machines = Machines()
        self._consoles: dict[str, Console] = {}
        self._cancel: dict[str, anyio.CancelScope] = {}
        self._credentials: dict[tuple[str, bool], Credential] = {}  # by (digest, basic)
        #: the bearer token of the control surface (`Settings.admin_token`, or a random one)
        self.admin_token = self.settings.admin_token or secrets.token_urlsafe(32)
        self._store: Store | None = None
        self._group: TaskGroup | None = None
        self._runner: asyncio.Task[None] | None = None
        self.ready = False

    # life ---------------------------------------------------------------------------------
    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        await self.stop()

    async def start(self) -> None:
        settings = self.settings  # what the default console is given, checked before anything
        check_console(DEFAULT_CONSOLE, tokens=settings.tokens, non_admin_tokens=(),
                      basic=settings.basic, seed=settings.seed, rules=settings.rules,
                      clock=None)  # fmt: skip
        self._store = await SqliteStore.open(self.settings.db)
        started = asyncio.Event()
        self._runner = asyncio.get_running_loop().create_task(
            self._run(started), name="simulator-task-group"
        )
        await started.wait()
        existing = {c.id for c in await self.store.read(lambda tx: tx.consoles())}
        if DEFAULT_CONSOLE not in existing:
            try:
                await self.create_console(
                    DEFAULT_CONSOLE,
                    tokens=self.settings.tokens,
                    basic=self.settings.basic,
                    world=self.settings.world or demo_world(),
                    seed=self.settings.seed,
                    rules=self.settings.rules,
                )
            except ConsoleExists:  # another process sharing the database created it meanwhile
                existing.add(DEFAULT_CONSOLE)
        if DEFAULT_CONSOLE in existing:
            await self._claim_default_credentials()
        for id in sorted(existing | {DEFAULT_CONSOLE}):
            await self._attach(id, recover=id in existing)
        self.ready = True
        log.info("simulator_ready", db=self.settings.db, consoles=len(self._consoles))

    async def _run(self, started: asyncio.Event) -> None:
        async with anyio.create_task_group() as group:
            self._group = group
            started.set()
            await anyio.sleep_forever()

    async def stop(self) -> None:
        """Stop taking work, cancel the workers between units, finish queued writes, close."""
        self.ready = False
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
        if self._store is not None:
            await self._store.close()
            self._store = None
        log.info("simulator_stopped")

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the simulator is not running (use `async with Simulator()`)")
        return self._store

    # consoles -----------------------------------------------------------------------------
    def console(self, id: str = DEFAULT_CONSOLE) -> Console:
        """A console of this process (the default one unless named)."""
        try:
            return self._consoles[id]
        except KeyError:
            raise LookupError(f"no console {id!r}") from None

    async def find_console(self, id: str) -> Console | None:
        """A console by id, attaching one that another process created in the shared store."""
        if id in self._consoles:
            return self._consoles[id]
        state = await self.store.read(lambda tx: tx.console(id))
        if state is None:
            return None
        return await self._attach(id, recover=False)

    def consoles(self) -> list[str]:
        return sorted(self._consoles)

    async def create_console(
        self,
        id: str | None = None,
        *,
        tokens: tuple[str, ...] = (),
        basic: tuple[tuple[str, str], ...] = (),
        world: World | None = None,
        seed: int | None = None,
        rules: Mapping[str, Mapping[str, Any]] | None = None,
        clock: Literal["virtual", "real"] | None = None,
        non_admin_tokens: tuple[str, ...] = (),
    ) -> Console:
        """A new isolated console with its own tokens, world, gate, rules and clock.

        Arguments are checked as `POST /simulator/consoles` checks its body (`ControlError`
        names the argument); a credential of another console is refused, never moved."""
        check_console(id, tokens=tokens, non_admin_tokens=non_admin_tokens, basic=basic,
                      seed=seed, rules=rules, clock=clock)  # fmt: skip
        id = id or f"console-{secrets.token_hex(4)}"
        tokens = tokens or (secrets.token_hex(16),)
        settings: dict[str, Any] = {"seed": self.settings.seed if seed is None else seed}
        if rules:
            settings["rules"] = checked_rules(rules)
        if clock is not None:
            settings["clock"] = clock
        world = world if world is not None else demo_world()
        console_clock = self._clock_for(ConsoleState(id, settings=settings))

        credentials = _labelled_credentials(id, tokens, non_admin_tokens, basic)

        def create(tx: Tx) -> None:
            if tx.console(id) is not None:
                raise ConsoleExists(id)
            tx.put_console(ConsoleState(id, settings=settings))
            for name, credential in credentials:
                if not tx.put_credential(credential):  # never moved from another console
                    raise ControlError(name, "belongs to another console")
            # the world in the same unit: a process sharing the store never sees the console
            # without it (a restore of backup 1 refused with 1003 by a console half made)
            put_world(tx, units.Step(id, console_clock.now_ms(), self.machines), world)

        await self.store.transact(create)
        console = await self._attach(id, recover=False, clock=console_clock)
        console.world = world
        log.info("console_created", console=id, hosts=len(world.hosts), backups=len(world.backups))
        return console

    async def delete_console(self, id: str) -> bool:
        scope = self._cancel.pop(id, None)
        if scope is not None:
            scope.cancel()
        self._consoles.pop(id, None)
        self._credentials = {k: v for k, v in self._credentials.items() if v.console != id}
        deleted = await self.store.transact(lambda tx: tx.delete_console(id))
        log.info("console_deleted", console=id, found=deleted)
        return deleted

    async def add_token(self, console: str, token: str, *, admin: bool = True) -> None:
        """Give a console a SEC token (or change its capability); a token of another console
        is refused (`ControlError` naming `token`), never moved."""
        TOKEN_REQUEST.read({"token": token, "admin": admin}, "")
        credential = Credential(token, console, admin, "admin" if admin else "operator")

        def add(tx: Tx) -> None:
            if tx.console(console) is None:
                raise LookupError(f"no console {console!r}")
            if not tx.put_credential(credential):
                raise ControlError("token", "belongs to another console")

        await self.store.transact(add)
        self._credentials.pop((secret_digest(token), False), None)

    async def authenticate(self, secret: str, *, basic: bool = False) -> Credential | None:
        """The credential of a presented secret: found by its digest, compared in constant
        time."""
        key = (secret_digest(secret), basic)
        found = self._credentials.get(key)
        if found is None:
            found = await self.store.read(lambda tx: tx.credential(secret, basic))
            if found is not None:
                self._credentials[key] = found
        elif not same_secret(found.secret, secret):
            return None
        return found

    async def _claim_default_credentials(self) -> None:
        """The configured credentials of the default console are its own, also in a database
        made before they were configured; one that another console holds cannot start."""
        claimed = _labelled_credentials(
            DEFAULT_CONSOLE, self.settings.tokens, (), self.settings.basic
        )

        def claim(tx: Tx) -> None:
            for name, credential in claimed:
                if not tx.put_credential(credential):
                    owner = tx.credential(credential.secret, credential.basic)
                    raise SettingsError(
                        f"{name}: this credential of the default console belongs to console "
                        f"{owner.console if owner else '?'!r}"
                    )

        try:
            await self.store.transact(claim)
        except SettingsError:
            await self.stop()
            raise

    async def _attach(self, id: str, *, recover: bool, clock: Clock | None = None) -> Console:
        state = await self.store.read(lambda tx: tx.console(id))
        if state is None:
            raise LookupError(f"no console {id!r}")
        clock = clock if clock is not None else self._clock_for(state)
        console = Console(id, self.store, self.machines, clock)
        await console.refresh()
        self._consoles[id] = console
        if recover:
            failed = await console.run_unit(units.recover, self.settings.recovery == "fail")
            log.info("console_recovered", console=id, policy=self.settings.recovery, failed=failed)
        worker = Worker(console, self.settings.scan_interval_s)
        assert self._group is not None
        await self._group.start(self._supervise, id, worker, name=f"worker:{id}")
        if isinstance(clock, VirtualClock) and clock.autojump:  # else a task that never runs
            self._group.start_soon(clock.run_autojump, name=f"autojump:{id}")
        return console

    async def _supervise(
        self, id: str, worker: Worker, *, task_status: anyio.abc.TaskStatus[None]
    ) -> None:
        with anyio.CancelScope() as scope:
            self._cancel[id] = scope
            await worker.run(task_status=task_status)

    def _clock_for(self, state: ConsoleState) -> Clock:
        kind = state.settings.get("clock", self.settings.clock)
        if kind == "real":
            return RealClock()
        return VirtualClock(autojump=self.settings.autojump)  # from VIRTUAL_EPOCH_MS

    def __repr__(self) -> str:
        return (
            f"Simulator(db={self.settings.db!r}, consoles={len(self._consoles)}, "
            f"ready={self.ready}, pid={os.getpid()})"
        )
