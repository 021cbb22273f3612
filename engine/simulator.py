"""The simulator: the composition root that embeds the engine in a test suite or a server.

    async with Simulator(Settings()) as sim:          # in-memory store, virtual clocks
        console = sim.console()                        # the default console
        restore = await console.create_restore(1, ["CUSTOM_RULES_CONFIG"])
        await console.request_restore(restore.id)
        await console.wait_for_restore(restore.id)     # hours of simulated time, instantly

It owns the store, one `Console` (world, gate, rules, clock) per console id, and an anyio task
group with one worker per console. The task group lives in a task of its own, so that entering
and leaving the simulator may happen in different tasks (as pytest fixtures do).

Supervision: nothing a worker raises reaches the task group (a worker that dies unexpectedly
is logged and restarted), so one console's fault never stops another's jobs. `health()` is
readiness: false while starting or stopping, and while the store cannot write or is corrupt.
Consoles and credentials are read from the store on each request, not cached, so a console
deleted by another process sharing the database is gone here at the next request.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import field, replace
from types import TracebackType
from typing import Any, Literal

import anyio
import structlog
from anyio.abc import TaskGroup

from engine import options
from engine.control.inputs import TOKEN, TOKEN_REQUEST, check_console
from engine.control.progression import checked_rules
from engine.control.schema import ControlError
from engine.core.credentials import Credential, new_secret
from engine.core.frozen import record
from engine.core.records import World, demo_world
from engine.core.releases import read_release
from engine.options import SettingsError as SettingsError  # re-exported: raised here too
from engine.runtime import units
from engine.runtime.clock import VIRTUAL_EPOCH_MS, Clock, RealClock, SharedClock, VirtualClock
from engine.runtime.console import Console
from engine.runtime.machines import Machines
from engine.runtime.worker import Worker
from engine.store.base import (
    ClockStore,
    ConsoleState,
    RecordsStore,
    StorageError,
    Store,
    StoreHealth,
    Tx,
)
from engine.store.factory import open_store
from engine.store.factory import parse as parse_store_url
from engine.store.urls import redacted

log = structlog.get_logger("engine")

DEFAULT_CONSOLE = "default"
DEFAULT_DB = ":memory:"  # SQLite in RAM: the embedded default
DEFAULT_TOKEN = "bre-sim-token"  # the demo console's SEC token unless --token says otherwise
DEFAULT_BASIC = ("admin", "admin")
#: The label of an authorized service token created without one (`initiated_by` shows
#: `API_user: <label>` for a token).
DEFAULT_SERVICE = "bre-sim"
#: how long `stop` lets queued writes finish (and a wait for another process's lock go on)
STOP_GRACE_S = 3.0
#: pauses before restarting a worker that died unexpectedly: from the first to the longest
RESTART_FIRST_S = 0.1
RESTART_MAX_S = 5.0
_NOT_RUNNING = {
    "new": "not started",
    "starting": "starting",
    "stopping": "stopping",
    "stopped": "stopped",
}


class ConsoleExists(ControlError):
    """A console of that id is in the store (perhaps created by another process)."""

    def __init__(self, id: str) -> None:
        super().__init__("id", f"console {id!r} exists")


@record
class Health:
    """Readiness: whether the simulator as a whole can make progress, and if not, why."""

    ready: bool
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"ready": True} if self.ready else {"ready": False, "reason": self.reason}


@record
class Settings:
    """How a simulator runs. `from_env` reads `BRE_*` variables over these defaults."""

    db: str = DEFAULT_DB
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
    release: str | None = None  # the default console's QRadar release; None: the newest
    #: the bearer token of the control surface; None: a random one per simulator
    admin_token: str | None = None
    control_auth: bool = True  # False: /simulator answers anyone (throwaway local use only)
    journal_entries: int = 1000  # requests kept per console
    journal_header_bytes: int = 4096  # header bytes kept per journal entry
    #: memory of each console's journal (oldest entries dropped): about 120 requests, so that
    #: 1,000 consoles hold at most 256 MiB
    journal_bytes: int = 256 * 2**10
    control_body_bytes: int = 2**20  # the largest control request body (413 beyond)
    page_streams: int = 32  # the web page's event streams open at once (503 beyond)
    page_idle_s: float = 600.0  # a page's event stream with no change for this long ends
    sessions: int = 1000  # open /api sessions (Basic auth) per process; 0: none are opened
    session_idle_s: int = 1800  # a session ends after this long without a request

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
        try:
            parse_store_url(self.db)
        except ValueError as error:
            raise SettingsError(str(error)) from None
        if not isinstance(self.control_auth, bool):
            raise SettingsError(f"control_auth={self.control_auth!r}: expected true or false")
        if self.release is not None:
            try:
                read_release(self.release)
            except ValueError as error:
                raise SettingsError(str(error)) from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        """The `BRE_*` variables of `engine.options` (the one table of settings), then
        `overrides` (None: not given)."""
        values = options.from_env(environ, ("settings",))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


#: The bounds of `Settings`: non-negative integers.
_BOUNDS = ("journal_entries", "journal_header_bytes", "journal_bytes", "control_body_bytes",
           "page_streams", "sessions", "session_idle_s")  # fmt: skip


def _labelled_credentials(
    console: str,
    tokens: Sequence[str],
    non_admin_tokens: Sequence[str],
    basic: Sequence[tuple[str, str]],
    token_names: Mapping[str, str] | None = None,
) -> list[tuple[str, Credential]]:
    """A console's credentials, each with the name of the argument that gives it; a token is an
    authorized service labelled `token_names[token]` (DEFAULT_SERVICE when not named)."""
    names = token_names or {}
    return [
        *(
            (f"tokens[{i}]", Credential(t, console, True, names.get(t, DEFAULT_SERVICE)))
            for i, t in enumerate(tokens)
        ),
        *(
            (f"non_admin_tokens[{i}]", Credential(t, console, False, names.get(t, DEFAULT_SERVICE)))
            for i, t in enumerate(non_admin_tokens)
        ),
        *(
            (f"basic[{i}]", Credential(f"{u}:{pw}", console, True, u, basic=True))
            for i, (u, pw) in enumerate(basic)
        ),
    ]


class Simulator:
    """An isolated simulator: a store, its consoles and their workers."""

    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        settings = settings or Settings()
        self.settings = replace(settings, **overrides) if overrides else settings
        self.machines = Machines()
        self._consoles: dict[str, Console] = {}
        self._cancel: dict[str, anyio.CancelScope] = {}
        self._following: set[str] = set()  # consoles being attached after a notification
        #: the store that keeps virtual clocks for every process (PostgreSQL), else None
        self._shared_clocks: ClockStore | None = None
        #: the database as logs and readiness name it (a URL without its password)
        self.shown_db = redacted(self.settings.db)
        #: the bearer token of the control surface (`Settings.admin_token`, or a random one)
        self.admin_token = self.settings.admin_token or new_secret()
        self._store: Store | None = None
        self._group: TaskGroup | None = None
        self._runner: asyncio.Task[None] | None = None
        self._state: Literal["new", "starting", "running", "stopping", "stopped"] = "new"

    # life ---------------------------------------------------------------------------------
    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Check the default console's settings, open the store, seed the default console,
        start a worker per console. A failure leaves nothing running (the store's errors name
        the database and what to do)."""
        settings = self.settings  # what the default console is given, checked before anything
        check_console(
            DEFAULT_CONSOLE,
            tokens=settings.tokens,
            non_admin_tokens=(),
            basic=settings.basic,
            seed=settings.seed,
            rules=settings.rules,
            clock=None,
        )
        self._state = "starting"
        try:
            await self._start()
        except BaseException:
            await self._shutdown(STOP_GRACE_S)
            self._state = "stopped"
            raise
        self.store.watch(self._store_health)
        self._state = "running"
        log.info("simulator_ready", db=self.shown_db, consoles=len(self._consoles))

    async def _start(self) -> None:
        store = await open_store(self.settings.db)
        store.follow(self._changed_elsewhere)
        if isinstance(store, RecordsStore):  # a job another process finished: waiters look
            store.follow_records(self._records_changed_elsewhere)
        self._store = store
        # a store that keeps virtual clocks for every process on it (PostgreSQL)
        self._shared_clocks = store if isinstance(store, ClockStore) else None
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
                    release=self.settings.release,
                )
            except ConsoleExists:  # another process sharing the database created it meanwhile
                existing.add(DEFAULT_CONSOLE)
        if DEFAULT_CONSOLE in existing:
            await self._claim_default_credentials()
        for id in sorted(existing | {DEFAULT_CONSOLE}):
            if id not in self._consoles:  # the default console, if created here, is attached
                await self._attach(id, recover=id in existing)
        wanted = self.settings.release
        if wanted is not None and DEFAULT_CONSOLE in existing:
            runs = self._consoles[DEFAULT_CONSOLE].release.name
            if read_release(wanted).name != runs:  # a console runs the release it was made on
                log.warning("release_not_applied", console=DEFAULT_CONSOLE, runs=runs,
                            asked=wanted, why="the database's console exists already")  # fmt: skip

    async def _run(self, started: asyncio.Event) -> None:
        async with anyio.create_task_group() as group:
            self._group = group
            started.set()
            await anyio.sleep_forever()

    def begin_stop(self) -> None:
        """Readiness turns false now (a server about to stop); work goes on until `stop`, but
        no write waits more than STOP_GRACE_S for another process's lock any more (requests in
        flight answer 503 rather than being cancelled)."""
        if self._state in ("new", "starting", "running"):
            self._state = "stopping"
        if self._store is not None:
            self._store.bound_waits(STOP_GRACE_S)

    async def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop taking work, cancel the workers between units, finish queued writes, close.

        Bounded: the workers are cancelled at once (they wait on the clock or on the store,
        never in a unit), queued writes get `grace_s`, then the store gives up waiting."""
        if self._state == "stopped":
            return
        running = self._state in ("running", "stopping")
        self._state = "stopping"
        await self._shutdown(grace_s)
        self._state = "stopped"
        if running:
            log.info("simulator_stopped")

    async def _shutdown(self, grace_s: float) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            done, _ = await asyncio.wait({runner}, timeout=grace_s)
            if not done:
                log.error("workers_not_stopped", within_s=grace_s)
            elif not runner.cancelled() and runner.exception() is not None:
                log.error("workers_stopped_with_error", error=repr(runner.exception()))
        store, self._store = self._store, None
        if store is not None:
            store.watch(None)
            if not await store.close(grace_s):
                log.error(
                    "store_not_closed", db=self.shown_db, reason="a unit of work did not return"
                )

    def health(self) -> Health:
        """Readiness, and the reason when not ready."""
        if self._state != "running" or self._store is None:
            return Health(False, _NOT_RUNNING.get(self._state, self._state))
        if self._runner is None or self._runner.done():  # never, unless a bug escaped it
            return Health(False, "the engine's task group stopped")
        store = self._store.health()
        if store.corrupt:
            return Health(
                False,
                f"the database {self.shown_db} is damaged ({store.cause}): "
                "restore a copy or start on a new file",
            )
        if store.failing_since is not None:
            since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(store.failing_since))
            return Health(
                False,
                f"the database {self.shown_db} cannot be written since "
                f"{since} ({store.cause}); retrying",
            )
        return Health(True)

    @property
    def ready(self) -> bool:
        return self.health().ready

    @property
    def stopping(self) -> bool:
        """From `begin_stop` (or `stop`) on: long-lived answers (the page's event streams) end."""
        return self._state in ("stopping", "stopped")

    def _store_health(self, health: StoreHealth) -> None:
        if health.corrupt:
            log.error("store_corrupt", db=self.shown_db, cause=health.cause)
        elif health.failing_since is not None:
            log.warning("store_failing", db=self.shown_db, cause=health.cause)
        else:
            log.info("store_recovered", db=self.shown_db)

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
        """A console by id, as the store has it now: one that another process created is
        attached, one that another process deleted is forgotten (None)."""
        state = await self.store.read(lambda tx: tx.console(id))
        if state is None:
            self._forget(id)
            return None
        if id in self._consoles:
            return self._consoles[id]
        return await self._attach(id, recover=False)

    async def console_of(self, credential: Credential) -> Console | None:
        """The console a credential just read from the store selects (the credential proves
        that the console exists: both go in one unit)."""
        console = self._consoles.get(credential.console)
        return console if console is not None else await self.find_console(credential.console)

    def consoles(self) -> list[str]:
        """The consoles this process has attached."""
        return sorted(self._consoles)

    async def list_consoles(self) -> list[str]:
        """Every console in the store, whichever process created it; forgets the attached
        ones another process deleted."""
        ids = [state.id for state in await self.store.read(lambda tx: tx.consoles())]
        for gone in set(self._consoles) - set(ids):
            self._forget(gone)
        return ids

    def _changed_elsewhere(self, id: str | None) -> None:
        """Another process wrote jobs or settings of console `id` (None: of any): its worker
        looks again now, its waiters are told; a console this process has not attached yet
        is attached, so that its jobs go on here too (another process may have died)."""
        if self._state != "running" or self._group is None:
            return
        if id is None:
            for console in self._consoles.values():
                console.notify()
            self._group.start_soon(self._attach_quietly, None)
            return
        attached = self._consoles.get(id)
        if attached is not None:
            attached.notify()
            if isinstance(attached.clock, SharedClock):
                self._group.start_soon(self._follow_clock, attached)
        elif id not in self._following:
            self._following.add(id)
            self._group.start_soon(self._attach_quietly, id)

    def _records_changed_elsewhere(self, id: str) -> None:
        """Another process changed records of console `id` and left no work here (a job that
        finished): its waiters look again now; its worker sleeps on."""
        attached = self._consoles.get(id)
        if attached is not None and self._state == "running":
            attached.tell_waiters()

    async def _follow_clock(self, console: Console) -> None:
        """Move a shared clock to where another process moved it (a fault: logged)."""
        clock, shared = console.clock, self._shared_clocks
        assert isinstance(clock, SharedClock)
        assert shared is not None
        try:
            stored = await shared.clock_of(console.id)
        except StorageError as error:
            log.warning("clock_not_followed", console=console.id, cause=repr(error))
            return
        if stored is not None and stored != clock.now_ms():
            await clock.follow(stored)

    async def _attach_quietly(self, id: str | None) -> None:
        """Attach (or forget) what another process changed; a fault is logged, not raised
        into the task group (the next notification or request tries again)."""
        try:
            if id is None:
                await self.list_consoles()
            else:
                await self.find_console(id)
        except (LookupError, StorageError) as error:
            log.warning("console_not_followed", console=id, cause=repr(error))
        finally:
            self._following.discard(id or "")

    def _forget(self, id: str) -> None:
        """Drop a console deleted from the store: its worker stops, its object goes."""
        scope = self._cancel.pop(id, None)
        if scope is not None:
            scope.cancel()
        if self._consoles.pop(id, None) is not None:
            log.info("console_forgotten", console=id)

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
        release: str | None = None,
        token_names: Mapping[str, str] | None = None,
    ) -> Console:
        """A new isolated console with its own tokens, world, gate, rules and clock, running
        `release` (`7.5.0 UP6`; the newest when None). A token is an authorized service
        labelled `token_names[token]` (DEFAULT_SERVICE when not named).

        Arguments are checked as `POST /simulator/consoles` checks its body (`ControlError`
        names the argument); a credential of another console is refused, never moved."""
        check_console(
            id,
            tokens=tokens,
            non_admin_tokens=non_admin_tokens,
            basic=basic,
            seed=seed,
            rules=rules,
            clock=clock,
            release=release,
        )
        id = id or f"console-{secrets.token_hex(4)}"
        tokens = tokens or (secrets.token_hex(16),)
        settings: dict[str, Any] = {"seed": self.settings.seed if seed is None else seed}
        if rules:
            settings["rules"] = checked_rules(rules)
        if clock is not None:
            settings["clock"] = clock
        if release is not None:
            settings["release"] = read_release(release).name
        world = world if world is not None else demo_world()
        console_clock = self._clock_for(ConsoleState(id, settings=settings))

        credentials = _labelled_credentials(id, tokens, non_admin_tokens, basic, token_names)

        now = console_clock.now_ms()

        def create(tx: Tx) -> None:
            unit = units.Unit(id, now, self.machines)  # a fresh one if the store runs it again
            units.create_console(tx, unit, settings, credentials, world)

        try:
            await self.store.transact(create)
        except units.ConsoleTaken:
            raise ConsoleExists(id) from None
        except units.CredentialTaken as taken:
            raise ControlError(taken.name, "belongs to another console") from None
        console = await self._attach(id, recover=False, clock=console_clock)
        console.world = world
        log.info("console_created", console=id, hosts=len(world.hosts), backups=len(world.backups))
        return console

    async def delete_console(self, id: str) -> bool:
        scope = self._cancel.pop(id, None)
        if scope is not None:
            scope.cancel()
        self._consoles.pop(id, None)
        deleted = await self.store.transact(lambda tx: tx.delete_console(id))
        log.info("console_deleted", console=id, found=deleted)
        return deleted

    async def add_token(
        self, console: str, token: str, *, admin: bool = True, name: str = DEFAULT_SERVICE
    ) -> None:
        """Give a console an authorized service token labelled `name` (or change its
        capability); a token of another console is refused (`ControlError` naming `token`),
        never moved."""
        TOKEN_REQUEST.read({"token": token, "admin": admin, "name": name}, "")
        credential = Credential(token, console, admin, name)

        def add(tx: Tx) -> None:
            if tx.console(console) is None:
                raise LookupError(f"no console {console!r}")
            if not tx.put_credential(credential):
                raise ControlError("token", "belongs to another console")

        await self.store.transact(add)

    async def authenticate(self, secret: str, *, basic: bool = False) -> Credential | None:
        """The credential of a presented secret as stored now: found by its digest, compared
        in constant time, read each time (a point read on the reader, a few microseconds), so
        that a console deleted by another process takes its tokens along."""
        return await self.store.read(lambda tx: tx.credential(secret, basic))

    async def authenticate_reading(
        self, secret: str, restore: int
    ) -> tuple[Credential | None, bytes | None]:
        """`authenticate(secret)` and, in the same read, restore `restore` of its console as
        the API sends it (`Tx.credential_and_restore`): a polled restore in one store read."""
        return await self.store.read(lambda tx: tx.credential_and_restore(secret, False, restore))

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

        await self.store.transact(claim)  # a SettingsError: `start` stops what it started

    async def _attach(self, id: str, *, recover: bool, clock: Clock | None = None) -> Console:
        state = await self.store.read(lambda tx: tx.console(id))
        if state is None:
            raise LookupError(f"no console {id!r}")
        if clock is None:
            shared = self._shared_clocks
            start = await shared.clock_of(id) if shared is not None else None
            clock = self._clock_for(state, start)
        console = Console(id, self.store, self.machines, clock)
        if isinstance(clock, SharedClock):
            clock.before_move = console.waker.notify
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
        """Run a console's worker until its console is deleted; nothing it raises reaches the
        task group of every console's workers: a worker that dies is logged and restarted."""
        status = task_status
        pause = RESTART_FIRST_S
        with anyio.CancelScope() as scope:
            self._cancel[id] = scope
            while True:
                try:
                    await worker.run(task_status=status)
                    break  # the console was deleted
                except Exception as error:
                    log.error("worker_crashed", console=id, cause=repr(error), exc_info=error)
                status = anyio.TASK_STATUS_IGNORED
                await self._restart_pause(worker, pause)
                pause = min(pause * 2, RESTART_MAX_S)
                log.warning("worker_restarted", console=id)
        if self._cancel.get(id) is scope:
            self._forget(id)

    @staticmethod
    async def _restart_pause(worker: Worker, seconds: float) -> None:
        """Real seconds before a restart; on a virtual clock the worker still counts as busy,
        so that `advance` and `wait_for` wait for it instead of jumping past its jobs."""
        clock = worker.console.clock
        if isinstance(clock, VirtualClock):
            clock.register()
        try:
            await anyio.sleep(seconds)
        finally:
            if isinstance(clock, VirtualClock):
                clock.unregister()

    def _clock_for(self, state: ConsoleState, start_ms: int | None = None) -> Clock:
        kind = state.settings.get("clock", self.settings.clock)
        if kind == "real":
            return RealClock()
        start = VIRTUAL_EPOCH_MS if start_ms is None else start_ms
        shared = self._shared_clocks
        if shared is not None:  # one clock for every process on the database
            id = state.id

            async def publish(now_ms: int) -> None:
                await shared.publish_clock(id, now_ms)

            return SharedClock(publish, start, autojump=self.settings.autojump)
        return VirtualClock(start, autojump=self.settings.autojump)

    def __repr__(self) -> str:
        return (
            f"Simulator(db={self.shown_db!r}, consoles={len(self._consoles)}, "
            f"ready={self.ready}, pid={os.getpid()})"
        )
