"""Units of work: each operation of the engine as one atomic function of the store's `Tx`.

A unit reads what it needs, applies the pure rules and the gate, fires the lifecycle machine
(whose persist callback writes a compare-and-set), and returns the new record. The store runs it
inside one transaction, so a refused operation changes nothing and two racing ones serialise.
Units run on the store's thread: no awaits, no logging; the transitions they fire are collected
in `Step.fired` and reported by the caller after the commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from engine.core import gate, rules
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
from engine.core.lifecycle import BACKUP, REMOVED, RESTORE, Event
from engine.core.progression import PHASES, Mode, Outcome, Progression
from engine.core.records import Backup, BackupConfiguration, Host, Restore
from engine.core.versions import ApiVersion
from engine.runtime.machines import Fired, JobModel, Machines
from engine.store.base import ConsoleState, Job, StaleState, StoredBackup, StoredRestore, Tx

E = rules.E
_RESTORE_STATUS = {s.value: s for s in RestoreStatus}
_BACKUP_STATUS = {s.value: s for s in BackupStatus}
_RESTORE_FINAL = frozenset(RestoreStatus(s) for s in RESTORE.final)


class ConsoleMissing(LookupError):
    """The console was deleted (or never created) in the store."""


@dataclass(slots=True)
class Step:
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


def _due(now: int, duration: int | None) -> int | None:
    return None if duration is None else now + duration


def _fire(
    step: Step, kind: JobKind, id: int, status: str, persist: Callable[[str, str], None],
    event: Event,
) -> None:  # fmt: skip
    """Fire `event` on a transient model of the job; `persist` writes the change."""
    model = JobModel(kind, step.console, id, status, step.now_ms, persist, step.fired)
    step.machines.fire(model, event)


# --- restores --------------------------------------------------------------------------------


def _move_restore(
    tx: Tx, step: Step, stored: StoredRestore, event: Event, *, write: bool = True
) -> StoredRestore:
    """Fire one restore transition. With `write`, its persist callback writes it at once with a
    compare-and-set; without, the caller writes the job once at the end of a chain (`_run_job`):
    the unit holds the write lock throughout, so one compare-and-set against the status the
    store had covers every transition of the chain."""
    record, job = stored.record, stored.job
    result: list[StoredRestore] = [stored]
    now = step.now_ms

    def persist(source: str, dest: str) -> None:
        rule = step.rule(tx, JobKind.RESTORE, job)
        status = _RESTORE_STATUS[dest]
        ordinal, outcome = job.ordinal, job.outcome
        if status is RestoreStatus.REQUESTING:
            ordinal = tx.next_ordinal(step.console, JobKind.RESTORE)
            outcome = rule.outcome.choose(step.seed(tx), JobKind.RESTORE, ordinal)
        # a final or hung job has no next phase; a UI restore moves only when told to finish
        hung = status is RestoreStatus.IN_PROGRESS and outcome is Outcome.HANG
        due: int | None = None
        if not (status in _RESTORE_FINAL or hung or job.origin is Origin.EXTERNAL):
            due = _due(now, rule.duration_ms(JobKind.RESTORE, dest))
        jb = Job(JobKind.RESTORE, job.id, dest, job.visible, job.origin, due, outcome, job.rule,
                 ordinal, now)  # fmt: skip
        step.schedule(JobKind.RESTORE, job.id, due)
        moved = StoredRestore(record.reached(status, now), jb)
        if write:
            _write_restore(tx, step, source, moved)
        result[0] = moved

    _fire(step, JobKind.RESTORE, record.id, record.status.value, persist, event)
    return result[0]


def _write_restore(tx: Tx, step: Step, expected: str, stored: StoredRestore) -> None:
    """Write a moved restore over the row that had status `expected` (compare-and-set)."""
    record, job = stored.record, stored.job
    if record.status in _RESTORE_FINAL and not job.visible:
        # the record was deleted while its job ran: the job ends, nothing is left to show
        tx.purge_restore(step.console, record.id)
    elif not tx.update_restore(step.console, record.id, expected, record, job):
        raise StaleState(f"restore {record.id} is no longer {expected}")


def create_restore(
    tx: Tx, step: Step, request: rules.RestoreRequest, version: ApiVersion, initiated_by: str
) -> Restore:
    stored = tx.backup(step.console, request.backup_id)
    backup = stored.record if stored and stored.job.visible else None
    groups = rules.check_restorable(request, backup, version)
    assert backup is not None
    gate.check_restore_create(tx.unfinished_restore_record(step.console))
    restore = Restore(
        id=tx.next_id(step.console, JobKind.RESTORE),
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
    tx.insert_restore(step.console, restore, Job(JobKind.RESTORE, restore.id, restore.status))
    return restore


def visible_restore(tx: Tx, console: str, id: int, endpoint: EndpointId) -> StoredRestore:
    """A restore record the API can see, with its job; 404/1001 as `endpoint` documents it."""
    stored = tx.restore(console, id)
    if stored is None or not stored.job.visible:
        raise QRadarError.at(endpoint, 1001, id=id)
    return stored


def request_restore(tx: Tx, step: Step, id: int, site: rules.RestoreSite) -> Restore:
    stored = visible_restore(tx, step.console, id, E.RESTORE_UPDATE)
    targets = site.host_id is not None or site.event_collector_id is not None
    rules.check_requestable(stored.record, site, tx.hosts(step.console) if targets else ())
    gate.check_restore_start(tx.gate(step.console))
    if site.elsewhere:
        stored = replace(stored, record=replace(stored.record, is_cross_deployment_restore=True))
    requested = _move_restore(tx, step, stored, Event.REQUEST, write=False)
    _run_job(tx, step, requested, written=stored.job.status)
    return requested.record  # the answer shows REQUESTING, as the client caused it


def delete_restore(tx: Tx, step: Step, id: int) -> None:
    stored = visible_restore(tx, step.console, id, E.RESTORE_DELETE)
    rules.check_restore_deletable(stored.record)
    if stored.record.status is RestoreStatus.PENDING:
        tx.purge_restore(step.console, id)  # no job behind it
    else:
        tx.hide_restore(step.console, id)  # the job runs on and keeps the gate


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
    tx: Tx, step: Step, stored: StoredBackup, event: Event, *, write: bool = True
) -> StoredBackup | None:
    """Fire one backup transition; `write` as for `_move_restore`. Removal deletes at once."""
    record, job = stored.record, stored.job
    result: list[StoredBackup | None] = [stored]
    now = step.now_ms

    def persist(source: str, dest: str) -> None:
        if dest == REMOVED:
            tx.remove_backup(step.console, record.id)
            step.schedule(JobKind.BACKUP, job.id, None)
            result[0] = None
            return
        rule = step.rule(tx, JobKind.BACKUP, job)
        status = _BACKUP_STATUS[dest]
        changes: dict[str, Any] = {"status": status}
        if status is BackupStatus.SUCCESS:
            changes["time_completed"] = now
            changes["size_on_disk"] = _size(step.seed(tx), step.console, record.id)
        elif status is BackupStatus.FAILED:
            changes["time_completed"] = now
            changes["is_valid"] = False
        settled = status in (BackupStatus.SUCCESS, BackupStatus.FAILED, BackupStatus.MISSING)
        hung = status is BackupStatus.IN_PROGRESS and job.outcome is Outcome.HANG
        due = None if settled or hung else _due(now, rule.duration_ms(JobKind.BACKUP, dest))
        jb = Job(JobKind.BACKUP, job.id, dest, job.visible, job.origin, due, job.outcome, job.rule,
                 job.ordinal, now)  # fmt: skip
        step.schedule(JobKind.BACKUP, job.id, due)
        moved = StoredBackup(replace(record, **changes), jb)
        if write:
            _write_backup(tx, step, source, moved)
        result[0] = moved

    _fire(step, JobKind.BACKUP, record.id, record.status.value, persist, event)
    return result[0]


def _write_backup(tx: Tx, step: Step, expected: str, stored: StoredBackup) -> None:
    record = stored.record
    if not tx.update_backup(step.console, record.id, expected, record, stored.job):
        raise StaleState(f"backup {record.id} is no longer {expected}")


def create_backup(
    tx: Tx, step: Step, backup_type: Any, body: Mapping[str, Any], initiated_by: str
) -> Backup:
    configurations = tx.configurations(step.console)
    hosts = tx.hosts(step.console)
    request = rules.read_backup_create(backup_type, body, hosts, configurations)
    rules.check_backup_world_conflicts(
        request, configurations, tx.backup_name_taken(step.console, request.name)
    )
    gate.check_backup_start(tx.gate(step.console), request.host_id)
    host = next(h for h in hosts if h.id == request.host_id)
    configuration = next(
        c for c in configurations if c.configuration_id == request.configuration_id
    )
    rule = step.rule(tx, JobKind.BACKUP)
    ordinal = tx.next_ordinal(step.console, JobKind.BACKUP)
    outcome = rule.outcome.choose(step.seed(tx), JobKind.BACKUP, ordinal)
    now = step.now_ms
    backup = Backup(
        id=tx.next_id(step.console, JobKind.BACKUP),
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
        JobKind.BACKUP, backup.id, BackupStatus.INITIALIZING, ordinal=ordinal, outcome=outcome,
        phase_since=now,
        due_at=_due(now, rule.duration_ms(JobKind.BACKUP, BackupStatus.INITIALIZING)),
    )  # fmt: skip
    tx.insert_backup(step.console, backup, job)
    step.schedule(JobKind.BACKUP, backup.id, job.due_at)
    step.fired.append(
        Fired(step.console, JobKind.BACKUP, backup.id, "", backup.status, "create", now)
    )
    _run_job(tx, step, StoredBackup(backup, job))
    return backup


def visible_backup(tx: Tx, console: str, id: int, endpoint: EndpointId) -> StoredBackup:
    stored = tx.backup(console, id)
    if stored is None or not stored.job.visible:
        raise QRadarError.at(endpoint, 1001, id=id)
    return stored


def update_backup(tx: Tx, step: Step, id: int, body: Mapping[str, Any]) -> Backup:
    stored = visible_backup(tx, step.console, id, E.BACKUP_UPDATE)
    present, description = rules.read_backup_update(body)
    if not present:
        return stored.record
    record = replace(stored.record, description=description)
    if not tx.update_backup(step.console, id, record.status.value, record, stored.job):
        raise StaleState(f"backup {id} changed")
    return record


def delete_backup(tx: Tx, step: Step, id: int) -> Backup:
    stored = visible_backup(tx, step.console, id, E.BACKUP_DELETE)
    rules.check_backup_deletable(stored.record)
    running = stored.record.status in (BackupStatus.INITIALIZING, BackupStatus.IN_PROGRESS)
    event = Event.CANCEL if running else Event.DELETE
    moved = _move_backup(tx, step, stored, event, write=False)
    assert moved is not None
    _run_job(tx, step, moved, written=stored.job.status)
    return moved.record


# --- the engine ------------------------------------------------------------------------------


def _next_event(job: Job) -> Event | None:
    """What the engine does when a job's phase is over."""
    if job.kind is JobKind.RESTORE:
        return {
            RestoreStatus.REQUESTING: Event.RECEIVE,
            RestoreStatus.INITIALIZING: Event.BEGIN,
            RestoreStatus.IN_PROGRESS: Event.FAIL
            if job.outcome is Outcome.FAILED
            else Event.SUCCEED,
        }.get(RestoreStatus(job.status))
    if job.status == REMOVED:
        return None
    return {
        BackupStatus.INITIALIZING: Event.BEGIN,
        BackupStatus.IN_PROGRESS: Event.FAIL if job.outcome is Outcome.FAILED else Event.SUCCEED,
        BackupStatus.CANCELLING: Event.REMOVE,
        BackupStatus.DELETING: Event.REMOVE,
    }.get(BackupStatus(job.status))


def _advance(
    tx: Tx, step: Step, stored: StoredRestore | StoredBackup, event: Event, *, write: bool = True
) -> StoredRestore | StoredBackup | None:
    if isinstance(stored, StoredRestore):
        return _move_restore(tx, step, stored, event, write=write)
    return _move_backup(tx, step, stored, event, write=write)


#: A job in one state: (kind, id, status).
JobKey = tuple[JobKind, int, str]


def job_key(stored: StoredRestore | StoredBackup) -> JobKey:
    return stored.job.kind, stored.job.id, stored.job.status


def run_due(tx: Tx, step: Step, limit: int = 256, skip: frozenset[JobKey] = frozenset()) -> int:
    """Advance every job whose phase is over (but those in the state `skip` names); chain
    phases that take no time. Returns the count."""
    return sum(
        _run_job(tx, step, stored)
        for stored in tx.due_jobs(step.console, step.now_ms, limit + len(skip))
        if not skip or job_key(stored) not in skip
    )


def _stored(tx: Tx, console: str, kind: JobKind, id: int) -> StoredRestore | StoredBackup | None:
    return tx.restore(console, id) if kind is JobKind.RESTORE else tx.backup(console, id)


def run_one(tx: Tx, step: Step, kind: JobKind, id: int) -> int:
    """`run_due` for one job: the worker's unit when a pass failed and each job runs alone."""
    stored = _stored(tx, step.console, kind, id)
    if stored is None or stored.job.due_at is None or stored.job.due_at > step.now_ms:
        return 0
    return _run_job(tx, step, stored)


def fault_job(tx: Tx, step: Step, kind: JobKind, id: int) -> str | None:
    """A job whose own next step cannot be computed or written (not a storage fault): it fails
    where its lifecycle table lets it (restore INITIALIZING / IN_PROGRESS, backup INITIALIZING
    / IN_PROGRESS: FAILED, which frees the gate as any failure does); from any other state it
    is held where it is, with no next phase, keeping what it holds until stepped. Written
    without the rules that may be the cause. The history shows it as a `fault` transition.
    Returns the status it was left in (None: the record is gone)."""
    stored = _stored(tx, step.console, kind, id)
    if stored is None:
        return None
    job, now = stored.job, step.now_ms
    lifecycle = RESTORE if kind is JobKind.RESTORE else BACKUP
    failed = lifecycle.target(job.status, Event.FAIL) is not None
    if failed:

        def persist(source: str, dest: str) -> None:
            ended = replace(job, status=dest, due_at=None, outcome=Outcome.FAILED, phase_since=now)
            if isinstance(stored, StoredRestore):
                record = stored.record.reached(RestoreStatus.FAILED, now)
                _write_restore(tx, step, source, StoredRestore(record, ended))
            else:
                backup = replace(stored.record, status=BackupStatus.FAILED, time_completed=now,
                                 is_valid=False)  # fmt: skip
                _write_backup(tx, step, source, StoredBackup(backup, ended))

        _fire(step, kind, id, job.status, persist, Event.FAIL)
        step.fired[-1] = replace(step.fired[-1], event="fault")
    else:
        held = replace(job, due_at=None)
        if isinstance(stored, StoredRestore):
            _write_restore(tx, step, job.status, StoredRestore(stored.record, held))
        else:
            _write_backup(tx, step, job.status, StoredBackup(stored.record, held))
        step.fired.append(Fired(step.console, kind, id, job.status, job.status, "fault", now))
    step.schedule(kind, id, None)
    return str(step.fired[-1].dest)


def _run_job(
    tx: Tx, step: Step, stored: StoredRestore | StoredBackup | None, written: str | None = None
) -> int:
    """Move one job through every phase that is already over (zero-length ones included), so
    that `immediate` jobs finish in the unit that started them. The chain is written once, at
    its end, over the row whose status is `written` (the job's own when the caller wrote it)."""
    if stored is None:
        return 0
    written = stored.job.status if written is None else written
    moved = 0
    while stored is not None and stored.job.due_at is not None and stored.job.due_at <= step.now_ms:
        event = _next_event(stored.job)
        if event is None:
            break
        stored = _advance(tx, step, stored, event, write=False)
        moved += 1
    if isinstance(stored, StoredRestore):
        if moved or stored.job.status != written:
            _write_restore(tx, step, written, stored)
    elif isinstance(stored, StoredBackup) and (moved or stored.job.status != written):
        _write_backup(tx, step, written, stored)
    return moved


def step_job(
    tx: Tx, step: Step, kind: JobKind, id: int | None, outcome: Outcome | None
) -> StoredRestore | StoredBackup | None:
    """Manual progression: the next phase of a running job, now (a hung one fails)."""
    running = [j for j in tx.running_jobs(step.console) if j.job.kind is kind]
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
    return _advance(tx, step, stored, event)


#: Poll mode's count of reads per job in its current phase: (kind, id, status) -> reads.
PollReads = dict[JobKey, int]


def poll_job(tx: Tx, step: Step, kind: JobKind, id: int | None, reads: PollReads) -> bool:
    """Poll mode: a read of one job (`id`) or of the list of its kind (None: every job of the
    kind, a deleted restore's included, so that none holds the gate for ever). Returns whether
    the read counted for some job (it moves on, or will after more reads)."""
    if id is not None:
        stored = _stored(tx, step.console, kind, id)
        return stored is not None and stored.job.visible and _poll(tx, step, stored, reads)
    polled = [
        _poll(tx, step, s, reads) for s in tx.running_jobs(step.console) if s.job.kind is kind
    ]
    return any(polled)


def _poll(tx: Tx, step: Step, stored: StoredRestore | StoredBackup, reads: PollReads) -> bool:
    """The `reads_per_phase`-th read of an unfinished job in poll mode moves it one phase on
    (a hung one stays IN_PROGRESS; a UI restore moves only when told to finish)."""
    job = stored.job
    if job.origin is not Origin.API or job.due_at is not None or job.status not in PHASES[job.kind]:
        return False
    if job.status == "IN_PROGRESS" and job.outcome is Outcome.HANG:
        return False
    rule = step.rule(tx, job.kind, job)
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
        _advance(tx, step, stored, event)
    return True


def start_external_restore(tx: Tx, step: Step) -> Restore:
    """A restore started from the console's UI: not listed by the API, but it holds the gate."""
    if tx.gate(step.console).restore_running:
        raise QRadarError.at(E.RESTORE_UPDATE, 1016)
    console_host = next((h for h in tx.hosts(step.console) if h.console), None)
    restore = Restore(
        id=tx.next_id(step.console, JobKind.RESTORE), initiated_by="console-ui",
        host_id=console_host.id if console_host else 0, time_initiated=step.now_ms,
        time_completed=None, status=RestoreStatus.IN_PROGRESS, is_cross_deployment_restore=False,
        backup_id=None, backup_name="", backup_version="", backup_type=BackupType.CONFIG,
        backup_filename="", groups=(),
    )  # fmt: skip
    job = Job(JobKind.RESTORE, restore.id, restore.status, visible=False, origin=Origin.EXTERNAL,
              phase_since=step.now_ms)  # fmt: skip
    tx.insert_restore(step.console, restore, job)
    step.fired.append(
        Fired(
            step.console, JobKind.RESTORE, restore.id, "", restore.status, "external", step.now_ms
        )
    )
    return restore


def finish_external_restore(tx: Tx, step: Step, outcome: Outcome) -> bool:
    for stored in tx.running_jobs(step.console):
        if isinstance(stored, StoredRestore) and stored.job.origin is Origin.EXTERNAL:
            _move_restore(
                tx, step, stored, Event.FAIL if outcome is Outcome.FAILED else Event.SUCCEED
            )
            return True
    return False


def backup_missing(tx: Tx, step: Step, id: int) -> Backup:
    """The file of a finished backup vanished outside the engine."""
    stored = visible_backup(tx, step.console, id, E.BACKUP_GET)
    moved = _move_backup(tx, step, stored, Event.VANISH)
    assert moved is not None
    return moved.record


def recover(tx: Tx, step: Step, fail_in_flight: bool) -> int:
    """After a restart: jobs in flight resume where they were, or fail (by policy)."""
    count = 0
    for stored in tx.running_jobs(step.console):
        job = stored.job
        if fail_in_flight and job.status in (RestoreStatus.INITIALIZING, RestoreStatus.IN_PROGRESS):
            if job.origin is Origin.EXTERNAL:
                continue
            stored = replace(stored, job=replace(job, outcome=Outcome.FAILED))
            _advance(tx, step, stored, Event.FAIL)
            count += 1
    return count  # the others resume: overdue phases end on the worker's first pass


def load_world(
    tx: Tx,
    step: Step,
    hosts: tuple[Host, ...],
    configurations: tuple[BackupConfiguration, ...],
    backups: tuple[Backup, ...],
) -> None:
    """Replace a console's world (hosts, configurations, records) in one unit."""
    tx.clear_world(step.console)
    for host in hosts:
        tx.put_host(step.console, host)
    for configuration in configurations:
        tx.put_configuration(step.console, configuration)
    for backup in backups:
        add_backup(tx, step, backup)


def add_backup(tx: Tx, step: Step, backup: Backup) -> Backup:
    """Seed a backup record in any status (the world, not the API)."""
    if tx.backup(step.console, backup.id) is not None:
        raise ValueError(f"backup {backup.id} already exists")
    if tx.backup_name_taken(step.console, backup.name):  # names are unique per console (1005)
        raise ValueError(f"a backup named {backup.name!r} exists")
    running = backup.status.value in BACKUP.running or backup.status is BackupStatus.DELETING
    rule = step.rule(tx, JobKind.BACKUP)
    ordinal = tx.next_ordinal(step.console, JobKind.BACKUP) if running else None
    job = Job(
        JobKind.BACKUP, backup.id, backup.status, ordinal=ordinal, phase_since=step.now_ms,
        outcome=rule.outcome.choose(step.seed(tx), JobKind.BACKUP, ordinal) if ordinal else None,
        due_at=(
            _due(step.now_ms, rule.duration_ms(JobKind.BACKUP, backup.status)) if running else None
        ),
    )  # fmt: skip
    tx.insert_backup(step.console, backup, job)
    tx.reserve_id(step.console, JobKind.BACKUP, backup.id)
    return backup
