"""A simulated console: its domain operations, its control operations, its clock and waiters.

Every operation is one unit of work on the store (`units`), run with this console's clock; the
transitions it fired are logged after the commit, the worker is woken when there is new work,
and waiters (`wait_for`) are told that something changed.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

import anyio
import structlog

from engine.core import validation
from engine.core.endpoints import EndpointId
from engine.core.enums import JobKind, RestoreStatus
from engine.core.errors import QRadarError
from engine.core.jobs import Job
from engine.core.lifecycle import BACKUP, LIFECYCLES, RESTORE
from engine.core.progression import Mode, Outcome, Progression
from engine.core.query import ListRequest
from engine.core.records import Backup, BackupConfiguration, Host, Restore, World, demo_world
from engine.core.releases import DEFAULT, Release, read_release
from engine.core.versions import LATEST, ApiVersion
from engine.runtime import units
from engine.runtime.clock import Clock, VirtualClock, Waker
from engine.runtime.machines import Fired, Machines
from engine.runtime.phases import Phases
from engine.store.base import (
    ConsoleState,
    EncodedPage,
    Page,
    Store,
    Tx,
)

T = TypeVar("T")
P = ParamSpec("P")
log = structlog.get_logger("engine")
HISTORY = 200  # transitions kept per console for /simulator/consoles/{id}/history
#: transitions kept beyond HISTORY at most: the oldest unit is cut only past it (an ordinary
#: unit fires up to four, and cutting it on every unit would copy it each time)
_SLACK = 64
_FIRED = 6  # values per transition in `Console._history`


class Console:
    """One isolated console: world, gate, rules and clock of its own."""

    def __init__(self, id: str, store: Store, machines: Machines, clock: Clock) -> None:
        self.id = id
        self.store = store
        self.machines = machines
        self.clock = clock
        self.waker = Waker()
        #: set when something changes; created by the first waiter (most units have none)
        self._changed: anyio.Event | None = None
        #: the last HISTORY transitions (at least), a flat tuple of strings and numbers per
        #: unit that fired any: (kind, id, source, dest, event, at_ms) after one another. The
        #: garbage collector stops tracking such tuples (as objects, transitions made every
        #: full collection longer), and one per unit rather than one per transition makes it
        #: run less often (every object that outlives a turn counts towards its next run).
        self._history: deque[tuple[Any, ...]] = deque()
        self._transitions = 0  # in `_history`
        #: the last jobs the worker faulted (kind, id, status left in, cause, at_ms), newest last
        self.faults: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        #: every status of the last jobs with the instant it began (the web page's timeline)
        self.phases = Phases()
        self.world: World | None = None  # the last world seeded here: what reset returns to
        # Outage mode as this process last set or read it: checked on every /api request, so
        # it is kept here rather than read from the store each time.
        self.outage_mode = False
        #: The QRadar release this console runs (its settings' `release`), fixed at creation.
        self.release: Release = DEFAULT
        #: Whether a rule of this console is in poll mode: then reads of jobs move them on
        #: (`units.poll_job`), counted here; otherwise reads stay read-only transactions.
        self.polls = False
        self._job_polls = False  # a job's own rule asked for poll mode (kept until reset)
        self._reads: units.PollReads = {}
        self._read_counted = False  # the last check of `wait_for` moved a polled job (on)

    # plumbing -----------------------------------------------------------------------------
    def run_unit(
        self, work: Callable[Concatenate[Tx, units.Unit, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> Awaitable[T]:
        """Run one unit of work for this console; report what it fired after the commit, and
        wake the worker when the unit left a job waiting for a phase to end. (A plain function
        returning the awaitable: one coroutine less per unit, for the collector too.)"""
        return self._run(True, _OfConsole(self, work, args, kwargs))

    def run_worker_unit(
        self, work: Callable[Concatenate[Tx, units.Unit, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> Awaitable[T]:
        """`run_unit` for the worker's own units: what they fire is not new work for itself."""
        return self._run(False, _OfConsole(self, work, args, kwargs))

    async def _run(self, wake: bool, work: _OfConsole[T]) -> T:
        try:
            result: T = await self.store.transact(work)
        except QRadarError as error:
            if error.code.http_status == 409:
                log.info(
                    "conflict",
                    console=self.id,
                    code=error.code.unique,
                    endpoint=sorted(e.value for e in error.code.endpoints),
                )
            raise
        if work.fired is not None:
            self._report(work.fired, wake and work.scheduled)
        elif wake and work.scheduled:
            self.waker.notify()
        return result

    def read(self, work: Callable[[Tx], T]) -> Awaitable[T]:
        return self.store.read(work)

    async def _polled(self, kind: JobKind, id: int | None = None) -> None:
        """A read of a job (or of the list of its kind) in poll mode: it moves jobs on (the
        callers test `self.polls` first, so that other reads stay read-only and cheap). A read
        of one job that cannot move (unknown, deleted, finished) stays a read: no unit."""
        if id is not None and not await self.read(lambda tx: _unfinished(tx, self.id, kind, id)):
            return
        if await self.run_unit(units.poll_job, kind, id, self._reads):
            self._read_counted = True

    def _report(self, fired: list[Fired], wake: bool = True) -> None:
        if log.is_enabled_for(logging.INFO):  # else each call would build its fields for nothing
            for f in fired:
                fields = {
                    "from": f.source or None,
                    "to": f.dest,
                    "trigger": f.event,
                    "at_ms": f.at_ms,
                }
                log.info("transition", console=f.console, kind=f.kind.value, id=f.id, **fields)
        flat: list[Any] = []
        record = self.phases.record
        for f in fired:
            kind = f.kind._value_
            flat += (kind, f.id, f.source, f.dest, f.event, f.at_ms)
            record(kind, f.id, f.dest, f.at_ms, f.event == "external")
        history = self._history
        history.append(tuple(flat))
        self._transitions += len(fired)
        while self._transitions - len(history[0]) // _FIRED >= HISTORY:  # the oldest not needed
            self._transitions -= len(history.popleft()) // _FIRED
        excess = self._transitions - HISTORY
        if excess >= _SLACK:  # the oldest is a big unit (a worker pass): keep only its newest
            history[0] = history[0][excess * _FIRED :]
            self._transitions = HISTORY
        if wake:
            self.waker.notify()
        self._tell_waiters()

    @property
    def history(self) -> list[Fired]:
        """The last transitions of this console's jobs (at most HISTORY), oldest first."""
        flat = [value for unit in self._history for value in unit]
        fired = [
            Fired(self.id, JobKind(flat[i]), *flat[i + 1 : i + _FIRED])
            for i in range(0, len(flat), _FIRED)
        ]
        return fired[-HISTORY:]

    def changed(self) -> anyio.Event:
        """An event set at this console's next change (a unit that fired a transition or
        created a job, a control change)."""
        if self._changed is None:
            self._changed = anyio.Event()
        return self._changed

    def _created(self, kind: JobKind, id: int, status: str, at_ms: int) -> None:
        """A restore's creation fires no transition: its first status is recorded here."""
        self.phases.record(kind._value_, id, status, at_ms, first=True)
        self._tell_waiters()

    def notify(self) -> None:
        """Something changed outside a unit of this console (control, another process)."""
        self.waker.notify()
        self._tell_waiters()

    def tell_waiters(self) -> None:
        """Records changed outside this process with no work for this one (a job another
        process finished): `wait_for` looks again, the worker is not woken."""
        self._tell_waiters()

    def _tell_waiters(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    # restores -----------------------------------------------------------------------------
    def create_restore(
        self,
        backup_id: Any = None,
        groups: Any = None,
        *,
        version: ApiVersion = LATEST,
        initiated_by: str = "admin",
    ) -> Awaitable[Restore]:
        return self.create_restore_from(
            {"backup_id": backup_id, "groups": groups}, version=version, initiated_by=initiated_by
        )

    async def create_restore_from(
        self, body: Any, *, version: ApiVersion = LATEST, initiated_by: str = "admin"
    ) -> Restore:
        request = validation.read_restore_create(validation.require_object(body, "restore"))
        at_ms = self.clock.now_ms()
        restore = await self.run_unit(units.create_restore, request, version, initiated_by)
        self._created(JobKind.RESTORE, restore.id, restore.status._value_, at_ms)
        log.info("restore_created", console=self.id, id=restore.id, backup_id=restore.backup_id)
        return restore

    def request_restore(
        self, id: int, status: Any = "REQUESTING", *, version: ApiVersion = LATEST, **site: Any
    ) -> Awaitable[Restore]:
        return self.request_restore_from(id, {"status": status, **site}, version=version)

    async def request_restore_from(
        self, id: int, body: Any, *, version: ApiVersion = LATEST
    ) -> Restore:
        site = validation.read_restore_request(validation.require_object(body, "restore"), version)
        return await self.run_unit(units.request_restore, id, site)

    async def delete_restore(self, id: int) -> None:
        await self.run_unit(units.delete_restore, id)
        log.info("restore_deleted", console=self.id, id=id)

    async def get_restore(self, id: int) -> Restore:
        if self.polls:  # poll mode: a read moves jobs on
            await self._polled(JobKind.RESTORE, id)
        restore = await self.read(lambda tx: tx.visible_restore(self.id, id))
        if restore is None:
            raise QRadarError.at(EndpointId.RESTORE_GET, 1001, id=id)
        return restore

    async def get_restore_encoded(self, id: int, read: tuple[bytes | None] | None = None) -> bytes:
        """`get_restore_json(id)` as the API sends it, encoded by the store (polling's hot path).
        `read`: the restore as read with the credential (`Simulator.authenticate_reading`),
        used unless poll mode moves jobs on first."""
        if self.polls:  # poll mode: a read moves jobs on
            await self._polled(JobKind.RESTORE, id)
            read = None
        if read is None:
            read = (await self.read(lambda tx: tx.restore_encoded(self.id, id)),)
        if read[0] is None:
            raise QRadarError.at(EndpointId.RESTORE_GET, 1001, id=id)
        return read[0]

    async def get_restore_json(self, id: int) -> dict[str, Any]:
        """`get_restore(id).to_json()`, read straight into the API's shape (polling's hot path)."""
        if self.polls:  # poll mode: a read moves jobs on
            await self._polled(JobKind.RESTORE, id)
        body = await self.read(lambda tx: tx.restore_json(self.id, id))
        if body is None:
            raise QRadarError.at(EndpointId.RESTORE_GET, 1001, id=id)
        return body

    async def list_restores(self) -> list[Restore]:
        if self.polls:  # poll mode: a read moves jobs on
            await self._polled(JobKind.RESTORE)
        return await self.read(lambda tx: tx.restores(self.id))

    async def page_restores(self, request: ListRequest, *, read: bool = True) -> Page[Restore]:
        """The restores a list request asks for (filter, sort, Range), answered by the store's
        own query, and how many match. `read=False`: the engine's own look (haAction's newest
        restore), which in poll mode is not a client's read and moves nothing."""
        if read and self.polls:  # poll mode: a read moves jobs on
            await self._polled(JobKind.RESTORE)
        return await self.store.list_restores(self.id, request)

    async def encode_restores(self, request: ListRequest, keys: Sequence[str]) -> EncodedPage:
        """As `page_restores`, encoded as the API sends it with the fields `keys`."""
        if self.polls:  # poll mode: a read moves jobs on
            await self._polled(JobKind.RESTORE)
        return await self.store.encode_restores(self.id, request, keys)

    # backups ------------------------------------------------------------------------------
    async def create_backup(
        self,
        backup_type: Any = "CONFIG",
        name: Any = None,
        configuration_id: Any = 1,
        description: Any = None,
        host_id: Any = None,
        *,
        initiated_by: str = "admin",
    ) -> Backup:
        body = {
            "name": name,
            "configuration_id": configuration_id,
            "description": description,
            "host_id": host_id,
        }
        return await self.create_backup_from(backup_type, body, initiated_by=initiated_by)

    async def create_backup_from(
        self, backup_type: Any, body: Any, *, initiated_by: str = "admin"
    ) -> Backup:
        checked = validation.require_object(body, "backup")
        validation.read_backup_type(backup_type)
        return await self.run_unit(units.create_backup, backup_type, checked, initiated_by)

    async def update_backup(self, id: int, description: Any) -> Backup:
        return await self.update_backup_from(id, {"description": description})

    async def update_backup_from(self, id: int, body: Any) -> Backup:
        return await self.run_unit(
            units.update_backup, id, validation.require_object(body, "backup")
        )

    async def delete_backup(self, id: int) -> Backup:
        return await self.run_unit(units.delete_backup, id)

    async def get_backup(self, id: int) -> Backup:
        if self.polls:  # poll mode: a read moves jobs on
            await self._polled(JobKind.BACKUP, id)
        backup = await self.read(lambda tx: tx.visible_backup(self.id, id))
        if backup is None:
            raise QRadarError.at(EndpointId.BACKUP_GET, 1001, id=id)
        return backup

    async def list_backups(self) -> list[Backup]:
        if self.polls:  # poll mode: a read moves jobs on
            await self._polled(JobKind.BACKUP)
        return await self.read(lambda tx: tx.backups(self.id))

    async def page_backups(self, request: ListRequest) -> Page[Backup]:
        """As `page_restores`, for backups."""
        if self.polls:  # poll mode: a read moves jobs on
            await self._polled(JobKind.BACKUP)
        return await self.store.list_backups(self.id, request)

    async def encode_backups(self, request: ListRequest, keys: Sequence[str]) -> EncodedPage:
        """As `page_backups`, encoded as the API sends it with the fields `keys`."""
        if self.polls:  # poll mode: a read moves jobs on
            await self._polled(JobKind.BACKUP)
        return await self.store.encode_backups(self.id, request, keys)

    # the world ----------------------------------------------------------------------------
    async def hosts(self) -> list[Host]:
        return await self.read(lambda tx: tx.hosts(self.id))

    async def configurations(self) -> list[BackupConfiguration]:
        return await self.read(lambda tx: tx.configurations(self.id))

    async def restore_running(self) -> bool:
        """Whether a restore holds the gate (any origin, record deleted or not)."""
        return (await self.read(lambda tx: tx.gate(self.id))).restore_running

    async def refresh(self) -> ConsoleState:
        """Re-read the settings another process may have changed."""
        state = await self.state()
        self.outage_mode = bool(state.settings.get("outage_during_restore", False))
        self.release = read_release(state.settings.get("release", DEFAULT.name))
        modes = {str(rule.get("mode")) for rule in state.settings.get("rules", {}).values()}
        self.polls = self._job_polls or Mode.POLL.value in modes
        return state

    async def state(self) -> ConsoleState:
        state = await self.read(lambda tx: tx.console(self.id))
        if state is None:
            raise units.ConsoleMissing(self.id)
        return state

    # control ------------------------------------------------------------------------------
    async def seed_world(self, world: World) -> None:
        """Replace the world: hosts, configurations, backups; clears restores and jobs."""
        await self._settings(units.put_world, world)
        self.world = world
        self.phases.clear()
        self.notify()
        self.outage_mode = world.outage_during_restore
        log.info(
            "world_seeded", console=self.id, hosts=len(world.hosts), backups=len(world.backups)
        )

    async def add_backup(self, backup: Backup) -> Backup:
        result = await self.run_unit(units.add_backup, backup)
        self.notify()
        log.info("backup_added", console=self.id, id=backup.id, status=backup.status.value)
        return result

    async def set_rebalancing(self, on: bool) -> None:
        await self._settings(units.set_rebalancing, on)
        log.info("rebalancing_set", console=self.id, on=on)

    async def set_outage_mode(self, on: bool) -> None:
        await self._settings(units.set_outage_mode, on)
        self.outage_mode = on
        log.info("outage_mode_set", console=self.id, on=on)

    async def set_rule(self, kind: JobKind | str, spec: Mapping[str, Any]) -> Progression:
        """Change the progression rule of a kind of job (keys as in scenario files)."""
        kind = JobKind(kind)
        merged = await self._settings(units.set_rule, kind, spec)  # RuleError names the key
        log.info("rule_set", console=self.id, kind=kind.value, rule=merged)
        return Progression.read(kind, merged)

    async def set_job_rule(self, kind: JobKind | str, id: int, spec: Mapping[str, Any]) -> None:
        """Override the progression of one job (by its record id)."""
        kind = JobKind(kind)
        polls = Progression.read(kind, spec).mode is Mode.POLL
        await self.run_unit(units.set_job_rule, kind, id, dict(spec))
        if polls:  # only once the rule is stored: a refused one (no such job) leaves reads alone
            self._job_polls = self.polls = True
        self.notify()
        log.info("job_rule_set", console=self.id, kind=kind.value, id=id, rule=dict(spec))

    async def set_seed(self, seed: int) -> None:
        await self._settings(units.set_seed, seed)

    async def step(
        self, kind: JobKind | str, id: int | None = None, outcome: Outcome | str | None = None
    ) -> Job | None:
        """Manual mode: move the running job of `kind` to its next phase now; the job as it
        is after the step (None: nothing to step)."""
        chosen = Outcome(outcome) if outcome is not None else None
        result = await self.run_unit(units.step_job, JobKind(kind), id, chosen)
        log.info("job_stepped", console=self.id, kind=str(kind), id=id)
        return None if result is None else result.job

    async def start_external_restore(self) -> Restore:
        restore = await self.run_unit(units.start_external_restore)
        log.info("external_restore_started", console=self.id, id=restore.id)
        return restore

    async def finish_external_restore(self, outcome: Outcome | str = Outcome.SUCCESS) -> bool:
        done = await self.run_unit(units.finish_external_restore, Outcome(outcome))
        log.info("external_restore_finished", console=self.id, outcome=str(outcome), found=done)
        return done

    async def backup_missing(self, id: int) -> Backup:
        return await self.run_unit(units.backup_missing, id)

    async def reset(self, world: World | None = None) -> None:
        """Back to a clean world (the given one, or the one the console was created with)."""
        self._job_polls = False  # a reset forgets the jobs' own poll rules
        await self._settings(units.reset_settings)
        await self.seed_world(world or self.world or demo_world())
        log.info("console_reset", console=self.id)

    async def _settings(
        self, work: Callable[Concatenate[Tx, units.Unit, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run a unit that changes the console's settings or world; the worker and the waiters
        are told (what the change means for jobs is theirs to find out)."""
        result = await self.run_unit(work, *args, **kwargs)
        await self.refresh()  # what the rules now say (poll mode)
        self.notify()
        return result

    # waiting ------------------------------------------------------------------------------
    async def wait_for(
        self, check: Callable[[], Awaitable[bool]], within_s: float | None = None
    ) -> None:
        """Wait until `check()` holds, at most `within_s` of this console's time (default: a
        simulated day on a virtual clock, a minute on the real one).

        On a virtual clock, time jumps from one engine deadline to the next, so the wait is
        instant in wall time; on a real clock it waits for changes, at most `within_s` seconds.
        """
        clock = self.clock
        if within_s is None:
            within_s = 86_400.0 if isinstance(clock, VirtualClock) else 60.0
        deadline = clock.now_ms() + round(within_s * 1000)
        if isinstance(clock, VirtualClock):
            late = f"condition not met within {within_s} s of virtual time"
            while not await self._checked(check):
                if self._read_counted:  # poll mode: the check itself moves the job on,
                    if clock.now_ms() <= deadline:  # while the console's time allows
                        continue
                    raise TimeoutError(late)
                if not await clock.jump_to_next(deadline):
                    if await check():  # the settle inside jump_to_next may have done it
                        return
                    await clock.advance_to(deadline)
                    if await check():
                        return
                    raise TimeoutError(late)
            return
        with anyio.fail_after(within_s):
            while not await check():
                changed = self.changed()
                with anyio.move_on_after(0.05):
                    await changed.wait()

    async def _checked(self, check: Callable[[], Awaitable[bool]]) -> bool:
        self._read_counted = False
        return await check()

    async def wait_for_restore(
        self,
        id: int,
        status: RestoreStatus | str | tuple[str, ...] = RESTORE.outcomes,
        within_s: float | None = None,
    ) -> Restore:
        wanted = {status} if isinstance(status, str) else set(status)
        console = self.id
        if not self.polls:  # a first look without the machinery of waiting (a plain read)
            record = await self.read(lambda tx: _restore_record(tx, console, id))
            if record is None:
                raise QRadarError.at(EndpointId.RESTORE_GET, 1001, id=id)
            if record.status._value_ in wanted:
                return record
        found: list[Restore] = []

        async def check() -> bool:
            if self.polls:  # poll mode: a read moves jobs on
                await self._polled(JobKind.RESTORE, id)
            record = await self.read(lambda tx: _restore_record(tx, console, id))
            if record is None:
                raise QRadarError.at(EndpointId.RESTORE_GET, 1001, id=id)
            found[:] = [record]
            return record.status._value_ in wanted

        await self.wait_for(check, within_s)
        return found[0]

    async def wait_for_backup(
        self,
        id: int,
        status: str | tuple[str, ...] = BACKUP.outcomes,
        within_s: float | None = None,
    ) -> Backup | None:
        """Wait for a backup status; `None` in `status` waits for the record to be removed."""
        wanted = {status} if isinstance(status, str) or status is None else set(status)
        found: list[Backup | None] = []

        async def check() -> bool:
            if self.polls:  # poll mode: a read moves jobs on
                await self._polled(JobKind.BACKUP, id)
            stored = await self.read(lambda tx: tx.backup(self.id, id))
            found[:] = [stored.record if stored else None]
            if stored is None:
                return None in wanted
            return stored.record.status.value in wanted

        await self.wait_for(check, within_s)
        return found[0]

    def __repr__(self) -> str:
        transitions = min(self._transitions, HISTORY)
        return f"Console(id={self.id!r}, clock={self.clock!r}, transitions={transitions})"


class _OfConsole(Generic[T]):
    """A unit of work of a console, as the store runs it: it says which console it is for (a
    store may write units of different consoles in parallel and keeps those of one console in
    order, `PostgresStore.transact`), and keeps what its last run fired and whether it left a
    job waiting for a phase to end (not the `units.Unit`: a unit's objects are freed when it
    has run, before the commit, rather than counted by the collector until the caller has its
    answer). One object per unit, not a closure and its cells: the collector runs less often.

    Every unit first reads the console's row (most read it anyway, for its rules): a console
    another process deleted raises `units.ConsoleMissing`, never a refusal such as 1003; those
    of `units.CONSOLE_READ_WHEN_NEEDED` read it themselves when that can be the case."""

    __slots__ = ("args", "console", "fired", "kwargs", "machines", "now", "scheduled", "work")

    def __init__(
        self,
        console: Console,
        work: Callable[..., T],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.console = console.id
        self.machines = console.machines
        self.now = console.clock.now_ms()
        self.work, self.args, self.kwargs = work, args, kwargs
        self.fired: list[Fired] | None = None  # None: nothing (a list when some)
        self.scheduled = False

    def __call__(self, tx: Tx) -> T:
        # a fresh unit each run: a store may run a unit again after a rollback (a server
        # database aborts a transaction on deadlock), and the unit must not keep the
        # transitions of the run that was rolled back
        self.fired, self.scheduled = None, False
        unit = units.Unit(self.console, self.now, self.machines)
        if self.work not in units.CONSOLE_READ_WHEN_NEEDED:
            unit.state(tx)
        result = self.work(tx, unit, *self.args, **self.kwargs)
        self.fired, self.scheduled = unit.fired or None, bool(unit.scheduled)
        return result


def _restore_record(tx: Tx, console: str, id: int) -> Restore | None:
    """A restore record, deleted or not (a deleted one's job may run on): the visible record's
    read first, which builds no job."""
    record = tx.visible_restore(console, id)
    if record is not None:
        return record
    stored = tx.restore(console, id)
    return None if stored is None else stored.record


def _unfinished(tx: Tx, console: str, kind: JobKind, id: int) -> bool:
    """Whether the job of a visible record is in a phase (one a poll read might end)."""
    stored = tx.restore(console, id) if kind is JobKind.RESTORE else tx.backup(console, id)
    return (
        stored is not None
        and stored.job.visible
        and LIFECYCLES[kind].phase(stored.job.status) is not None
    )
