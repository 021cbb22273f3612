"""Units of work: each operation of the engine as one atomic function of the store's `Tx`.

A unit reads what it needs, applies the pure rules and the gate, fires the lifecycle machine
(whose persist callback writes a compare-and-set), and returns the new record. The store runs it
inside one transaction, so a refused operation changes nothing and two racing ones serialise.
Units run on the store's thread: no awaits, no logging; the transitions they fire are collected
in `Unit.fired` and reported by the caller after the commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from engine.core import gate, validation
from engine.core.endpoints import EndpointId
from engine.core.enums import (
    AppDeploymentLocation,
    BackupStatus,
    BackupType,
    JobKind,
    Origin,
    RestoreStatus,
)
from engine.core.errors import QRadarError
from engine.core.lifecycle import BACKUP, LIFECYCLES, REMOVED, RESTORE, Event
from engine.core.progression import Mode, Outcome, Progression
from engine.core.records import Backup, BackupConfiguration, Host, Restore, World
from engine.core.versions import ApiVersion
from engine.runtime.machines import Fired, JobModel, Machines
from engine.store.base import (
    ConsoleState,
    Credential,
    Job,
    StaleState,
    StoredBackup,
    StoredRestore,
    Tx,
)

E = EndpointId
_RESTORE_STATUS = {s.value: s for s in RestoreStatus}
_BACKUP_STATUS = {s.value: s for s in BackupStatus}
_RESTORE_FINAL = frozenset(RestoreStatus(s) for s in RESTORE.final)


class ConsoleMissing(LookupError):
    """The console was deleted (or never created) in the store."""


class ConsoleTaken(ValueError):
    """A console of that id is already in the store (perhaps created by another process)."""


class CredentialTaken(ValueError):
    """A credential belongs to another console; `name` says which argument gave it."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name}: belongs to another console")
        self.name = name


@dataclass(slots=True)
class Unit:
    """The context of one unit: which console, when, and what it fired."""

    console: str
    now_ms: int
    machines: Machines
    fired: list[Fired] = field(default_factory=list)
    #: jobs this unit left waiting for a phase to end: the worker must look at them
    scheduled: set[tuple[JobKind, int]] = field(default_factory=set)
    _state: ConsoleState | None = None

    def schedule(self, kind: JobKind, id: int, due_at: int | None) -> None:
        if due_at is None:
            self.scheduled.discard((kind, id))
        else:
            self.scheduled.add((kind, id))

    def state(self, tx: Tx) -> ConsoleState:
        if self._state is None:
            self._state = tx.console(self.console)
            if self._state is None:
                raise ConsoleMissing(self.console)
        return self._state

    def rule(self, tx: Tx, kind: JobKind, job: Job | None = None) -> Progression:
        state = self.state(tx)
        rule = _console_rules(state.fingerprint, kind, state.settings)
        if job is not None and job.rule:
            rule = Progression.read(kind, job.rule, rule)
        return rule

    def seed(self, tx: Tx) -> int:
        return int(self.state(tx).settings.get("seed", 0))


_RULES: dict[tuple[str, JobKind], Progression] = {}


def _console_rules(fingerprint: str, kind: JobKind, settings: dict[str, Any]) -> Progression:
    """A console's rule for a kind, parsed once per distinct settings text (a hot path: every
    transition asks for it). Without a fingerprint it is parsed each time."""
    if not fingerprint:
        return Progression.read(kind, settings.get("rules", {}).get(kind.value, {}))
    key = (fingerprint, kind)
    rule = _RULES.get(key)
    if rule is None:
        if len(_RULES) > 8192:
            _RULES.clear()
        rule = _RULES[key] = Progression.read(kind, settings.get("rules", {}).get(kind.value, {}))
    return rule


def _phase_end(
    rule: Progression, kind: JobKind, state: str, outcome: Outcome | None, since: int
) -> int | None:
    """When the phase of `state` that began at `since` is over: None when `state` is not timed
    (it lasts until the job is moved), when the job hangs in it, or when the rule's mode waits
    for a step."""
    lifecycle = LIFECYCLES[kind]
    if lifecycle.phase(state) is None or (outcome is Outcome.HANG and lifecycle.hangs(state)):
        return None
    duration = rule.duration_ms(kind, state)
    return None if duration is None else since + duration


def _fire(
    unit: Unit,
    kind: JobKind,
    id: int,
    status: str,
    persist: Callable[[str, str], None],
    event: Event,
) -> None:
    """Fire `event` on a transient model of the job; `persist` writes the change."""
    model = JobModel(kind, unit.console, id, status, unit.now_ms, persist, unit.fired)
    unit.machines.fire(model, event)


# --- restores --------------------------------------------------------------------------------


class _RestoreMoves:
    """The transitions of one restore in a unit (a chain of `immediate` phases fires four): the
    persist callback of its transient model. With `write`, each is written at once with a
    compare-and-set; without, the caller writes the job once at the end of a chain
    (`_chain_restore`): the unit holds the write lock throughout, so one compare-and-set
    against the status the store had covers every transition of it. Without `write`, the
    moved record and job are built once, when asked for (`moved`), not at every transition of
    the chain: a transition only notes what changed."""

    __slots__ = (
        "due", "initiated", "job", "ordinal", "outcome", "pending", "record", "rule", "state",
        "status", "tx", "unit", "write",
    )  # fmt: skip

    def __init__(self, tx: Tx, unit: Unit, stored: StoredRestore, *, write: bool) -> None:
        self.tx, self.unit, self.write = tx, unit, write
        self.record, self.job = stored.record, stored.job  # as last built
        self.rule: Progression | None = None  # the job's rule: the same for every transition
        job = stored.job
        # where the restore is now (ahead of `record` and `job` while `pending`)
        self.state: str = job.status
        self.status: RestoreStatus = stored.record.status
        self.due, self.outcome, self.ordinal = job.due_at, job.outcome, job.ordinal
        self.initiated = False  # went through INITIALIZING since `record` was built
        self.pending = False  # moved since `record` and `job` were built

    def moved(self) -> tuple[Restore, Job]:
        """The record and job where the restore is now."""
        if self.pending:
            job, now = self.job, self.unit.now_ms
            self.record = self.record.reached(self.status, now, initiated=self.initiated)
            self.job = Job(
                JobKind.RESTORE, job.id, self.state, job.visible, job.origin, self.due,
                self.outcome, job.rule, self.ordinal, now,
            )  # fmt: skip
            self.pending = self.initiated = False
        return self.record, self.job

    @property
    def stored(self) -> StoredRestore:
        return StoredRestore(*self.moved())

    def model(self) -> JobModel:
        """The model to fire: it holds this callback, this holds nothing of it (no cycle left
        for the garbage collector, on every transition)."""
        record, unit = self.record, self.unit
        return JobModel(
            JobKind.RESTORE, unit.console, record.id, record.status._value_, unit.now_ms,
            self._persist, unit.fired,
        )  # fmt: skip

    def _persist(self, source: str, dest: str) -> None:
        tx, unit = self.tx, self.unit
        job = self.job
        rule = self.rule
        if rule is None:
            rule = self.rule = unit.rule(tx, JobKind.RESTORE, job)
        status = _RESTORE_STATUS[dest]
        ordinal, outcome = self.ordinal, self.outcome
        if status is RestoreStatus.REQUESTING:
            ordinal = tx.next_ordinal(unit.console, JobKind.RESTORE)
            outcome = rule.outcome.choose(unit.seed(tx), JobKind.RESTORE, ordinal)
        # a UI restore moves only when told to finish
        due = None
        if job.origin is not Origin.EXTERNAL:
            due = _phase_end(rule, JobKind.RESTORE, dest, outcome, unit.now_ms)
        unit.schedule(JobKind.RESTORE, job.id, due)
        self.state, self.status, self.due, self.outcome, self.ordinal = (
            dest, status, due, outcome, ordinal,
        )  # fmt: skip
        if status is RestoreStatus.INITIALIZING:
            self.initiated = True
        self.pending = True
        if self.write:
            _write_restore(tx, unit, source, *self.moved())


def _move_restore(
    tx: Tx, unit: Unit, stored: StoredRestore, event: Event, *, write: bool = True
) -> StoredRestore:
    """Fire one restore transition; `write` as for `_RestoreMoves`."""
    moves = _RestoreMoves(tx, unit, stored, write=write)
    unit.machines.fire(moves.model(), event)
    return moves.stored


def _chain_restore(moves: _RestoreMoves, model: JobModel, written: str) -> int:
    """Move a restore through every phase that is already over (zero-length ones included),
    then write it once over the row whose status is `written`; the count of transitions."""
    unit = moves.unit
    now, fire = unit.now_ms, unit.machines.fire
    count = 0
    while moves.due is not None and moves.due <= now:
        event = _next(JobKind.RESTORE, moves.state, moves.outcome)
        if event is None:
            break
        fire(model, event)
        count += 1
    record, job = moves.moved()
    if count or job.status != written:
        _write_restore(moves.tx, unit, written, record, job)
    return count


def _write_restore(tx: Tx, unit: Unit, expected: str, record: Restore, job: Job) -> None:
    """Write a moved restore over the row that had status `expected` (compare-and-set)."""
    if record.status in _RESTORE_FINAL and not job.visible:
        # the record was deleted while its job ran: the job ends, nothing is left to show
        tx.purge_restore(unit.console, record.id)
    elif not tx.update_restore(unit.console, record.id, expected, record, job):
        raise StaleState(f"restore {record.id} is no longer {expected}")


def create_restore(
    tx: Tx, unit: Unit, request: validation.RestoreRequest, version: ApiVersion, initiated_by: str
) -> Restore:
    backup = tx.visible_backup(unit.console, request.backup_id)
    if backup is None:
        unit.state(tx)  # a deleted console is `ConsoleMissing`, not 1003
    groups = validation.check_restorable(request, backup, version)
    assert backup is not None
    gate.check_restore_create(tx.unfinished_restore_record(unit.console))
    restore = Restore(
        id=tx.next_id(unit.console, JobKind.RESTORE),
        initiated_by=initiated_by,
        host_id=backup.host_id,  # a CONFIG backup belongs to the console: the host restored
        time_initiated=None,
        time_completed=None,
        status=RestoreStatus.PENDING,
        is_cross_deployment_restore=False,
        backup_id=backup.id,
        backup_name=backup.name,
        backup_version=backup.version,
        backup_type=backup.type,
        backup_filename=backup.content_file_path.rsplit("/", 1)[-1],
        groups=groups,
    )
    tx.insert_restore(unit.console, restore, Job(JobKind.RESTORE, restore.id, restore.status))
    return restore


#: Units that read the console's row only when they need to (`Console` runs the others after a
#: read of it): a backup of the console found in the unit's transaction means that the console
#: is there (its records are deleted with it), so a restore's creation reads the row only when
#: the backup is not found. A read less on every creation.
CONSOLE_READ_WHEN_NEEDED = frozenset({create_restore})


def visible_restore(tx: Tx, console: str, id: int, endpoint: EndpointId) -> StoredRestore:
    """A restore record the API can see, with its job; 404/1001 as `endpoint` documents it."""
    stored = tx.restore(console, id)
    if stored is None or not stored.job.visible:
        raise QRadarError.at(endpoint, 1001, id=id)
    return stored


def request_restore(tx: Tx, unit: Unit, id: int, site: validation.RestoreSite) -> Restore:
    stored = visible_restore(tx, unit.console, id, E.RESTORE_UPDATE)
    targets = site.host_id is not None or site.event_collector_id is not None
    validation.check_requestable(stored.record, site, tx.hosts(unit.console) if targets else ())
    gate.check_restore_start(tx.gate(unit.console))
    if site.elsewhere:
        stored = replace(stored, record=replace(stored.record, is_cross_deployment_restore=True))
    moves = _RestoreMoves(tx, unit, stored, write=False)
    model = moves.model()
    unit.machines.fire(model, Event.REQUEST)
    requested, _ = moves.moved()  # the answer shows REQUESTING, as the client caused it
    _chain_restore(moves, model, written=stored.job.status)
    return requested


def delete_restore(tx: Tx, unit: Unit, id: int) -> None:
    stored = visible_restore(tx, unit.console, id, E.RESTORE_DELETE)
    validation.check_restore_deletable(stored.record)
    if stored.record.status is RestoreStatus.PENDING:
        tx.purge_restore(unit.console, id)  # no job behind it
    else:
        tx.hide_restore(unit.console, id)  # the job runs on and keeps the gate


# --- backups ---------------------------------------------------------------------------------


def _file_path(
    configuration: BackupConfiguration | None, name: str, kind: BackupType, host: int
) -> str:
    directory = configuration.backup_directory_path if configuration else "/store/backup"
    return f"{directory}/backup.{name}.{host}.{kind.value.lower()}.tgz"


def _size(seed: int, console: str, id: int) -> int:
    digest = hashlib.blake2b(f"{seed}:{console}:{id}".encode(), digest_size=4).digest()
    return 10_485_760 + int.from_bytes(digest, "big") % 524_288_000


def _move_backup(
    tx: Tx, unit: Unit, stored: StoredBackup, event: Event, *, write: bool = True
) -> StoredBackup | None:
    """Fire one backup transition; `write` as for `_move_restore`. Removal deletes at once."""
    record, job = stored.record, stored.job
    result: list[StoredBackup | None] = [stored]
    now = unit.now_ms

    def persist(source: str, dest: str) -> None:
        if dest == REMOVED:
            tx.remove_backup(unit.console, record.id)
            unit.schedule(JobKind.BACKUP, job.id, None)
            result[0] = None
            return
        rule = unit.rule(tx, JobKind.BACKUP, job)
        due = _phase_end(rule, JobKind.BACKUP, dest, job.outcome, now)
        jb = Job(
            JobKind.BACKUP,
            job.id,
            dest,
            job.visible,
            job.origin,
            due,
            job.outcome,
            job.rule,
            job.ordinal,
            now,
        )
        unit.schedule(JobKind.BACKUP, job.id, due)
        moved = StoredBackup(_backup_reached(tx, unit, record, _BACKUP_STATUS[dest]), jb)
        if write:
            _write_backup(tx, unit, source, moved)
        result[0] = moved

    _fire(unit, JobKind.BACKUP, record.id, record.status.value, persist, event)
    return result[0]


def _backup_reached(tx: Tx, unit: Unit, record: Backup, status: BackupStatus) -> Backup:
    """The record on entering `status`: a finished backup has its completion time, a successful
    one its size on disk, a failed one is not valid."""
    if status is BackupStatus.SUCCESS:
        size = _size(unit.seed(tx), unit.console, record.id)
        return replace(record, status=status, time_completed=unit.now_ms, size_on_disk=size)
    if status is BackupStatus.FAILED:
        return replace(record, status=status, time_completed=unit.now_ms, is_valid=False)
    return replace(record, status=status)


def _write_backup(tx: Tx, unit: Unit, expected: str, stored: StoredBackup) -> None:
    record = stored.record
    if not tx.update_backup(unit.console, record.id, expected, record, stored.job):
        raise StaleState(f"backup {record.id} is no longer {expected}")


def create_backup(
    tx: Tx, unit: Unit, backup_type: Any, body: Mapping[str, Any], initiated_by: str
) -> Backup:
    configurations = tx.configurations(unit.console)
    hosts = tx.hosts(unit.console)
    request = validation.read_backup_create(backup_type, body, hosts, configurations)
    validation.check_backup_world_conflicts(
        request, configurations, tx.backup_name_taken(unit.console, request.name)
    )
    gate.check_backup_start(tx.gate(unit.console), request.host_id)
    host = next(h for h in hosts if h.id == request.host_id)
    configuration = next(
        c for c in configurations if c.configuration_id == request.configuration_id
    )
    rule = unit.rule(tx, JobKind.BACKUP)
    ordinal = tx.next_ordinal(unit.console, JobKind.BACKUP)
    outcome = rule.outcome.choose(unit.seed(tx), JobKind.BACKUP, ordinal)
    now = unit.now_ms
    backup = Backup(
        id=tx.next_id(unit.console, JobKind.BACKUP),
        configuration_id=request.configuration_id,
        host_id=request.host_id,
        name=request.name,
        description=request.description,
        type=request.type,
        version=host.version,
        time_initiated=now,
        time_completed=None,
        initiated_by=initiated_by,
        status=BackupStatus.INITIALIZING,
        size_on_disk=0,
        content_file_path=_file_path(configuration, request.name, request.type, host.id),
        is_valid=True,
        is_version_compatible=True,
        app_deployment_location=(
            AppDeploymentLocation.CONSOLE
            if request.type is BackupType.CONFIG
            else AppDeploymentLocation.NA
        ),
        build_version=f"{host.version}.20260101",
    )
    job = Job(
        JobKind.BACKUP,
        backup.id,
        BackupStatus.INITIALIZING,
        ordinal=ordinal,
        outcome=outcome,
        phase_since=now,
        due_at=_phase_end(rule, JobKind.BACKUP, BackupStatus.INITIALIZING, outcome, now),
    )
    tx.insert_backup(unit.console, backup, job)
    unit.schedule(JobKind.BACKUP, backup.id, job.due_at)
    unit.fired.append(
        Fired(unit.console, JobKind.BACKUP, backup.id, "", backup.status, "create", now)
    )
    _run_job(tx, unit, StoredBackup(backup, job))
    return backup


def visible_backup(tx: Tx, console: str, id: int, endpoint: EndpointId) -> StoredBackup:
    stored = tx.backup(console, id)
    if stored is None or not stored.job.visible:
        raise QRadarError.at(endpoint, 1001, id=id)
    return stored


def update_backup(tx: Tx, unit: Unit, id: int, body: Mapping[str, Any]) -> Backup:
    stored = visible_backup(tx, unit.console, id, E.BACKUP_UPDATE)
    present, description = validation.read_backup_update(body)
    if not present:
        return stored.record
    record = replace(stored.record, description=description)
    if not tx.update_backup(unit.console, id, record.status.value, record, stored.job):
        raise StaleState(f"backup {id} changed")
    return record


def delete_backup(tx: Tx, unit: Unit, id: int) -> Backup:
    stored = visible_backup(tx, unit.console, id, E.BACKUP_DELETE)
    validation.check_backup_deletable(stored.record)
    running = BACKUP.target(stored.record.status, Event.CANCEL) is not None
    event = Event.CANCEL if running else Event.DELETE
    moved = _move_backup(tx, unit, stored, event, write=False)
    assert moved is not None
    _run_job(tx, unit, moved, written=stored.job.status)
    return moved.record


# --- the engine ------------------------------------------------------------------------------


def _next_event(job: Job) -> Event | None:
    """What the engine fires when a job's phase is over (None: the state is not timed)."""
    return _next(job.kind, job.status, job.outcome)


def _next(kind: JobKind, status: str, outcome: Outcome | None) -> Event | None:
    """`_next_event` of a job of `kind` in `status` with `outcome`."""
    phase = LIFECYCLES[kind].phase(status)
    return None if phase is None else phase.next_event(outcome is Outcome.FAILED)


def _advance(
    tx: Tx, unit: Unit, stored: StoredRestore | StoredBackup, event: Event, *, write: bool = True
) -> StoredRestore | StoredBackup | None:
    if isinstance(stored, StoredRestore):
        return _move_restore(tx, unit, stored, event, write=write)
    return _move_backup(tx, unit, stored, event, write=write)


#: A job in one state: (kind, id, status).
JobKey = tuple[JobKind, int, str]


def job_key(stored: StoredRestore | StoredBackup) -> JobKey:
    return stored.job.kind, stored.job.id, stored.job.status


def run_due(tx: Tx, unit: Unit, limit: int = 256, skip: frozenset[JobKey] = frozenset()) -> int:
    """Advance every job whose phase is over (but those in the state `skip` names); chain
    phases that take no time. Returns the count."""
    return sum(
        _run_job(tx, unit, stored)
        for stored in tx.due_jobs(unit.console, unit.now_ms, limit + len(skip))
        if not skip or job_key(stored) not in skip
    )


def worker_pass(tx: Tx, unit: Unit, limit: int, held: frozenset[JobKey]) -> tuple[int, int | None]:
    """The worker's pass: `run_due`, then when the next phase of a job it does not hold ends."""
    return run_due(tx, unit, limit, held), next_due(tx, unit.console, held)


def next_due(tx: Tx, console: str, held: frozenset[JobKey]) -> int | None:
    """The next deadline of the console's jobs, but those in `held` (rarely any)."""
    due = tx.next_due(console)
    if not held or due is None:
        return due
    # among the len(held) + 1 earliest of each kind, at least one is not held
    ahead = tx.due_jobs(console, 2**62, len(held) + 1)
    free = [s.job.due_at for s in ahead if job_key(s) not in held and s.job.due_at]
    return min(free, default=None)


def _stored(tx: Tx, console: str, kind: JobKind, id: int) -> StoredRestore | StoredBackup | None:
    return tx.restore(console, id) if kind is JobKind.RESTORE else tx.backup(console, id)


def run_one(tx: Tx, unit: Unit, kind: JobKind, id: int) -> int:
    """`run_due` for one job: the worker's unit when a pass failed and each job runs alone."""
    stored = _stored(tx, unit.console, kind, id)
    if stored is None or stored.job.due_at is None or stored.job.due_at > unit.now_ms:
        return 0
    return _run_job(tx, unit, stored)


def fault_job(tx: Tx, unit: Unit, kind: JobKind, id: int) -> str | None:
    """A job whose own next step cannot be computed or written (not a storage fault): it fails
    where its lifecycle table has a FAIL transition (which frees the gate as any failure does);
    from any other state it is held where it is, with no next phase, keeping what it holds
    until stepped. Written without the progression rules that may be the cause. The history
    shows it as a `fault` transition. Returns the status it was left in (None: the record is
    gone)."""
    stored = _stored(tx, unit.console, kind, id)
    if stored is None:
        return None
    job, now = stored.job, unit.now_ms
    failed = LIFECYCLES[kind].target(job.status, Event.FAIL) is not None
    if failed:

        def persist(source: str, dest: str) -> None:
            ended = replace(job, status=dest, due_at=None, outcome=Outcome.FAILED, phase_since=now)
            if isinstance(stored, StoredRestore):
                record = stored.record.reached(RestoreStatus.FAILED, now)
                _write_restore(tx, unit, source, record, ended)
            else:
                backup = _backup_reached(tx, unit, stored.record, BackupStatus.FAILED)
                _write_backup(tx, unit, source, StoredBackup(backup, ended))

        _fire(unit, kind, id, job.status, persist, Event.FAIL)
        unit.fired[-1] = replace(unit.fired[-1], event="fault")
    else:
        held = replace(job, due_at=None)
        if isinstance(stored, StoredRestore):
            _write_restore(tx, unit, job.status, stored.record, held)
        else:
            _write_backup(tx, unit, job.status, StoredBackup(stored.record, held))
        unit.fired.append(Fired(unit.console, kind, id, job.status, job.status, "fault", now))
    unit.schedule(kind, id, None)
    return str(unit.fired[-1].dest)


def _run_job(
    tx: Tx, unit: Unit, stored: StoredRestore | StoredBackup | None, written: str | None = None
) -> int:
    """Move one job through every phase that is already over (zero-length ones included), so
    that `immediate` jobs finish in the unit that started them. The chain is written once, at
    its end, over the row whose status is `written` (the job's own when the caller wrote it)."""
    if stored is None:
        return 0
    written = stored.job.status if written is None else written
    now = unit.now_ms
    if isinstance(stored, StoredRestore):
        job = stored.job
        if job.due_at is not None and job.due_at <= now:
            moves = _RestoreMoves(tx, unit, stored, write=False)
            return _chain_restore(moves, moves.model(), written)
        if job.status != written:
            _write_restore(tx, unit, written, stored.record, job)
        return 0
    moved = 0
    while stored is not None and stored.job.due_at is not None:
        if stored.job.due_at > now:
            break
        event = _next_event(stored.job)
        if event is None:
            break
        stored = _move_backup(tx, unit, stored, event, write=False)
        moved += 1
    if stored is not None and (moved or stored.job.status != written):
        _write_backup(tx, unit, written, stored)
    return moved


def step_job(
    tx: Tx, unit: Unit, kind: JobKind, id: int | None, outcome: Outcome | None
) -> StoredRestore | StoredBackup | None:
    """Manual progression: the next phase of a running job, now (a hung one fails)."""
    running = [j for j in tx.running_jobs(unit.console) if j.job.kind is kind]
    if id is not None:
        running = [j for j in running if j.job.id == id]
    running = [j for j in running if j.job.origin is Origin.API]
    if not running:
        return None
    stored = running[0]
    job = stored.job
    if outcome is not None or job.outcome is Outcome.HANG:
        job = replace(job, outcome=outcome or Outcome.FAILED)
        stored = replace(stored, job=job)
    event = _next_event(job)
    if event is None:
        return None
    return _advance(tx, unit, stored, event)


#: Poll mode's count of reads per job in its current phase: (kind, id, status) -> reads.
PollReads = dict[JobKey, int]


def poll_job(tx: Tx, unit: Unit, kind: JobKind, id: int | None, reads: PollReads) -> bool:
    """Poll mode: a read of one job (`id`) or of the list of its kind (None: every job of the
    kind, a deleted restore's included, so that none holds the gate for ever). Returns whether
    the read counted for some job (it moves on, or will after more reads)."""
    if id is not None:
        stored = _stored(tx, unit.console, kind, id)
        return stored is not None and stored.job.visible and _poll(tx, unit, stored, reads)
    polled = [
        _poll(tx, unit, s, reads) for s in tx.running_jobs(unit.console) if s.job.kind is kind
    ]
    return any(polled)


def _poll(tx: Tx, unit: Unit, stored: StoredRestore | StoredBackup, reads: PollReads) -> bool:
    """The `reads_per_phase`-th read of an unfinished job in poll mode moves it one phase on
    (a hung one stays IN_PROGRESS; a UI restore moves only when told to finish)."""
    job = stored.job
    lifecycle = LIFECYCLES[job.kind]
    if job.origin is not Origin.API or job.due_at is not None:
        return False
    if lifecycle.phase(job.status) is None:
        return False
    if job.outcome is Outcome.HANG and lifecycle.hangs(job.status):
        return False
    rule = unit.rule(tx, job.kind, job)
    event = _next_event(job)
    if rule.mode is not Mode.POLL or event is None:
        return False
    key = job_key(stored)
    count = reads.pop(key, 0) + 1
    if count < rule.reads_per_phase:
        if len(reads) > 65_536:  # jobs deleted mid-phase leave counts behind
            reads.clear()
        reads[key] = count
    else:
        _advance(tx, unit, stored, event)
    return True


def start_external_restore(tx: Tx, unit: Unit) -> Restore:
    """A restore started from the console's UI: not listed by the API, but it holds the gate."""
    if tx.gate(unit.console).restore_running:
        raise QRadarError.at(E.RESTORE_UPDATE, 1016)
    console_host = next((h for h in tx.hosts(unit.console) if h.console), None)
    restore = Restore(
        id=tx.next_id(unit.console, JobKind.RESTORE),
        initiated_by="console-ui",
        host_id=console_host.id if console_host else 0,
        time_initiated=unit.now_ms,
        time_completed=None,
        status=RestoreStatus.IN_PROGRESS,
        is_cross_deployment_restore=False,
        backup_id=None,
        backup_name="",
        backup_version="",
        backup_type=BackupType.CONFIG,
        backup_filename="",
        groups=(),
    )
    job = Job(
        JobKind.RESTORE,
        restore.id,
        restore.status,
        visible=False,
        origin=Origin.EXTERNAL,
        phase_since=unit.now_ms,
    )
    tx.insert_restore(unit.console, restore, job)
    unit.fired.append(
        Fired(
            unit.console, JobKind.RESTORE, restore.id, "", restore.status, "external", unit.now_ms
        )
    )
    return restore


def finish_external_restore(tx: Tx, unit: Unit, outcome: Outcome) -> bool:
    for stored in tx.running_jobs(unit.console):
        if isinstance(stored, StoredRestore) and stored.job.origin is Origin.EXTERNAL:
            _move_restore(
                tx, unit, stored, Event.FAIL if outcome is Outcome.FAILED else Event.SUCCEED
            )
            return True
    return False


def backup_missing(tx: Tx, unit: Unit, id: int) -> Backup:
    """The file of a finished backup vanished outside the engine."""
    stored = visible_backup(tx, unit.console, id, E.BACKUP_GET)
    moved = _move_backup(tx, unit, stored, Event.VANISH)
    assert moved is not None
    return moved.record


def recover(tx: Tx, unit: Unit, fail_in_flight: bool) -> int:
    """After a restart: jobs in flight resume where they were (overdue phases end on the
    worker's first pass), or, with `fail_in_flight`, those in a state the restart interrupts
    (`Lifecycle.interrupted`) fail. Returns how many failed."""
    if not fail_in_flight:
        return 0
    count = 0
    for stored in tx.running_jobs(unit.console):
        job = stored.job
        if job.origin is not Origin.EXTERNAL and job.status in LIFECYCLES[job.kind].interrupted:
            stored = replace(stored, job=replace(job, outcome=Outcome.FAILED))
            _advance(tx, unit, stored, Event.FAIL)
            count += 1
    return count


def set_job_rule(tx: Tx, unit: Unit, kind: JobKind, id: int, spec: dict[str, Any]) -> None:
    """Override the progression of one job (by its record id); the phase under way follows the
    new rule from when it began."""
    stored = _stored(tx, unit.console, kind, id)
    if stored is None:
        raise LookupError(f"no {kind.value} {id}")
    job = replace(stored.job, rule=spec)
    rule = unit.rule(tx, kind, job)
    if job.ordinal is not None and "outcome" in spec:
        job = replace(job, outcome=rule.outcome.choose(unit.seed(tx), kind, job.ordinal))
    if job.due_at is not None or LIFECYCLES[kind].phase(job.status) is not None:
        since = job.phase_since if job.phase_since is not None else unit.now_ms
        job = replace(job, due_at=_phase_end(rule, kind, job.status, job.outcome, since))
    if isinstance(stored, StoredRestore):
        tx.update_restore(unit.console, id, stored.record.status.value, stored.record, job)
    else:
        tx.update_backup(unit.console, id, stored.record.status.value, stored.record, job)


# --- the console: creation, settings, world ----------------------------------------------------


def create_console(
    tx: Tx,
    unit: Unit,
    settings: dict[str, Any],
    credentials: Sequence[tuple[str, Credential]],
    world: World,
) -> None:
    """A new console with its credentials (`(argument, credential)` pairs) and its world, in one
    unit: a process sharing the store never sees the console without them (a restore of backup
    1 refused with 1003 by a console half made)."""
    if tx.console(unit.console) is not None:
        raise ConsoleTaken(unit.console)
    tx.put_console(ConsoleState(unit.console, settings=settings))
    for name, credential in credentials:
        if not tx.put_credential(credential):  # never moved from another console
            raise CredentialTaken(name)
    put_world(tx, unit, world)


def put_world(tx: Tx, unit: Unit, world: World) -> None:
    """Put a world in a console: records and the world's switches together, so that no other
    process sharing the store sees one without the other."""
    load_world(tx, unit, world.hosts, world.configurations, world.backups)
    state = unit.state(tx)
    settings = {**state.settings, "outage_during_restore": world.outage_during_restore}
    tx.put_console(replace(state, rebalancing=world.rebalancing, settings=settings))


def set_rebalancing(tx: Tx, unit: Unit, on: bool) -> None:
    tx.put_console(replace(unit.state(tx), rebalancing=on))


def set_outage_mode(tx: Tx, unit: Unit, on: bool) -> None:
    _put_settings(tx, unit, outage_during_restore=on)


def set_seed(tx: Tx, unit: Unit, seed: int) -> None:
    _put_settings(tx, unit, seed=seed)


def set_rule(tx: Tx, unit: Unit, kind: JobKind, spec: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `spec` into the console's rule for `kind`; returns the merged rule as written.
    A rule that cannot be read raises `RuleError` naming the key, and nothing changes."""
    by_kind = unit.state(tx).settings.get("rules", {})
    merged = {**by_kind.get(kind.value, {}), **spec}
    Progression.read(kind, merged)
    _put_settings(tx, unit, rules={**by_kind, kind.value: merged})
    return merged


def reset_settings(tx: Tx, unit: Unit) -> None:
    """Back to the defaults: no progression rules (those given at creation included), no
    outage mode, no rebalancing; the seed, clock and release stay."""
    state = unit.state(tx)
    settings = {
        k: v for k, v in state.settings.items() if k not in ("rules", "outage_during_restore")
    }
    tx.put_console(replace(state, rebalancing=False, settings=settings))


def _put_settings(tx: Tx, unit: Unit, **changes: Any) -> None:
    state = unit.state(tx)
    tx.put_console(replace(state, settings={**state.settings, **changes}))


def load_world(
    tx: Tx,
    unit: Unit,
    hosts: tuple[Host, ...],
    configurations: tuple[BackupConfiguration, ...],
    backups: tuple[Backup, ...],
) -> None:
    """Replace a console's world (hosts, configurations, records) in one unit."""
    tx.clear_world(unit.console)
    for host in hosts:
        tx.put_host(unit.console, host)
    for configuration in configurations:
        tx.put_configuration(unit.console, configuration)
    for backup in backups:
        add_backup(tx, unit, backup)


def add_backup(tx: Tx, unit: Unit, backup: Backup) -> Backup:
    """Seed a backup record in any status (the world, not the API)."""
    if tx.backup(unit.console, backup.id) is not None:
        raise ValueError(f"backup {backup.id} already exists")
    if tx.backup_name_taken(unit.console, backup.name):  # names are unique per console (1005)
        raise ValueError(f"a backup named {backup.name!r} exists")
    in_flight = BACKUP.phase(backup.status) is not None
    rule = unit.rule(tx, JobKind.BACKUP)
    ordinal = tx.next_ordinal(unit.console, JobKind.BACKUP) if in_flight else None
    outcome = rule.outcome.choose(unit.seed(tx), JobKind.BACKUP, ordinal) if ordinal else None
    job = Job(
        JobKind.BACKUP,
        backup.id,
        backup.status,
        ordinal=ordinal,
        phase_since=unit.now_ms,
        outcome=outcome,
        due_at=_phase_end(rule, JobKind.BACKUP, backup.status, outcome, unit.now_ms),
    )
    tx.insert_backup(unit.console, backup, job)
    tx.reserve_id(unit.console, JobKind.BACKUP, backup.id)
    return backup
