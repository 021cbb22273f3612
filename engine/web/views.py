"""What the page shows, read through the simulator's own read APIs: consoles, jobs as timelines
of phases on the console's clock, and journal rows tied to the job they touch or that refused
them.

Nothing here renders HTML or knows of requests: `render` draws these values. A refusal is tied
to the job that held the gate at the instant of the refusal, as the lifecycle tables define
holding it (`Lifecycle.running`; for 1011, a restore record not yet final).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.api.journal import Entry, Journal
from engine.core import codes
from engine.core.enums import JobKind, Origin
from engine.core.lifecycle import LIFECYCLES
from engine.core.progression import Outcome
from engine.runtime.clock import VirtualClock
from engine.runtime.console import Console
from engine.runtime.phases import Steps
from engine.store.base import StoredBackup, StoredRestore, Tx

FAMILY = "/api/backup_and_restore/"
_JOB_PATH = re.compile(r"/api/backup_and_restore/(restores|backups)/([0-9]{1,19})/?")
_CREATE_PATH = re.compile(r"/api/backup_and_restore/(restores|backups)/?")
_KIND_OF_PATH = {"restores": JobKind.RESTORE, "backups": JobKind.BACKUP}
#: Which running job a refusal's unique code blames: the kind, and the statuses that hold it.
_UNFINISHED = tuple(
    s for s in LIFECYCLES[JobKind.RESTORE].states if s not in LIFECYCLES[JobKind.RESTORE].final
)
#: The statuses of refusals a job can cause.
REFUSALS = (409, codes.SERVICES_STOPPED.http_status)
BLAMED: dict[tuple[int, int], tuple[JobKind, tuple[str, ...]]] = {
    (409, 1016): (JobKind.RESTORE, LIFECYCLES[JobKind.RESTORE].running),
    (409, 1015): (JobKind.BACKUP, LIFECYCLES[JobKind.BACKUP].running),
    (409, 1011): (JobKind.RESTORE, _UNFINISHED),
    (codes.SERVICES_STOPPED.http_status, codes.SERVICES_STOPPED.unique): (
        JobKind.RESTORE,
        LIFECYCLES[JobKind.RESTORE].running,
    ),
}
#: Backup statuses in which a backup rests (drawn as an end state, not as time running on).
_RESTING = {
    JobKind.RESTORE: set(LIFECYCLES[JobKind.RESTORE].final),
    JobKind.BACKUP: {"SUCCESS", "FAILED", "MISSING", *LIFECYCLES[JobKind.BACKUP].final},
}


def job_key(kind: str, id: int) -> str:
    return f"{kind}-{id}"


@dataclass(frozen=True, slots=True)
class Segment:
    """One status of a job, from `start_ms` to `end_ms` (None: still in it, or an end state)."""

    status: str
    start_ms: int
    end_ms: int | None
    final: bool = False


@dataclass(frozen=True, slots=True)
class JobView:
    kind: JobKind
    id: int
    status: str
    segments: tuple[Segment, ...]
    external: bool = False  # started from the console's UI
    hung: bool = False  # its outcome is HANG: it stays IN_PROGRESS until stepped
    listed: bool = True  # the API lists its record (False: deleted while running, external)
    holds_gate: bool = False
    known: bool = True  # its phases were seen by this process (False: from the record alone)
    faulted: bool = False  # the engine could not advance it (a bug, a value it cannot store)

    @property
    def key(self) -> str:
        return job_key(self.kind.value, self.id)

    @property
    def start_ms(self) -> int | None:
        return self.segments[0].start_ms if self.segments else None


Jobs = Sequence[JobView]


@dataclass(frozen=True, slots=True)
class Gate:
    """Who holds the engine gate: nobody, rebalancing, or a job since an instant."""

    holder: str | None = None  # a job key
    since_ms: int | None = None
    rebalancing: bool = False

    @property
    def free(self) -> bool:
        return self.holder is None and not self.rebalancing


@dataclass(frozen=True, slots=True)
class ConsoleSummary:
    id: str
    release: str
    virtual: bool
    now_ms: int
    next_deadline_ms: int | None
    rebalancing: bool
    outage: bool
    gate: Gate
    restores: int
    backups: int
    journal_total: int
    journal_kept: int
    revision: int


@dataclass(frozen=True, slots=True)
class Row:
    """One journal entry as the page lists it."""

    seq: int
    at_ms: int
    method: str
    path: str
    query: str
    status: int
    code: int | None  # the unique code of an error answer
    duration_ms: float
    job: str | None  # the job the request names or created
    blame: str | None  # the job that held the gate when this request was refused


@dataclass(frozen=True, slots=True)
class Snapshot:
    summary: ConsoleSummary
    jobs: tuple[JobView, ...]  # newest first


def _gather(console: str) -> Any:
    def read(tx: Tx) -> Any:
        return (
            tx.console(console),
            tx.gate(console),
            tx.restores(console),
            tx.backups(console),
            tx.running_jobs(console),
        )

    return read


def _segments(kind: JobKind, steps: Steps) -> tuple[Segment, ...]:
    resting = _RESTING[kind]
    out: list[Segment] = []
    for i, (status, at) in enumerate(steps):
        end = steps[i + 1][1] if i + 1 < len(steps) else None
        out.append(Segment(status, at, end, final=end is None and status in resting))
    return tuple(out)


async def snapshot(console: Console, journal: Journal | None) -> Snapshot:
    """The console and its jobs now: one read of the store, the phases this process saw."""
    state, gate, restores, backups, running = await console.read(_gather(console.id))
    if state is None:
        raise LookupError(console.id)
    phases = console.phases
    seen = phases.jobs()
    faulted = {(f["kind"], f["id"]) for f in console.faults}
    running_by_key: dict[tuple[str, int], StoredRestore | StoredBackup] = {
        (s.job.kind.value, s.job.id): s for s in running
    }
    jobs: list[JobView] = []
    done: set[tuple[str, int]] = set()

    def add(kind: JobKind, id: int, status: str, fallback: Steps, listed: bool) -> None:
        key = (kind.value, id)
        done.add(key)
        steps = seen.get(key, ())
        stored = running_by_key.get(key)
        job = stored.job if stored is not None else None
        jobs.append(
            JobView(
                kind,
                id,
                status,
                _segments(kind, steps or fallback),
                external=phases.external(kind.value, id)
                or (job is not None and job.origin is Origin.EXTERNAL),
                hung=job is not None and job.outcome is Outcome.HANG and status == "IN_PROGRESS",
                listed=listed,
                holds_gate=stored is not None and status in LIFECYCLES[kind].running,
                known=bool(steps),
                faulted=key in faulted,
            )
        )

    for r in restores:
        since = r.time_completed or r.time_initiated
        add(
            JobKind.RESTORE, r.id, r.status.value, ((r.status.value, since),) if since else (), True
        )
    for b in backups:
        since = b.time_completed or b.time_initiated
        add(JobKind.BACKUP, b.id, b.status.value, ((b.status.value, since),) if since else (), True)
    for key, stored in running_by_key.items():
        if key not in done:
            since = stored.job.phase_since or stored.record.time_initiated or 0
            add(
                stored.job.kind,
                stored.job.id,
                stored.job.status,
                ((stored.job.status, since),),
                False,
            )
    for (kind, id), steps in seen.items():
        if (kind, id) not in done and steps:
            add(JobKind(kind), id, steps[-1][0], steps, False)
    # the jobs this process saw first, newest first; then records it only knows as they are
    jobs.sort(key=lambda j: (j.known, j.start_ms or 0, j.kind, j.id), reverse=True)
    holder = next((j for j in jobs if j.holds_gate and j.kind is JobKind.RESTORE), None) or next(
        (j for j in jobs if j.holds_gate), None
    )
    since = None
    if holder is not None:
        running_states = LIFECYCLES[holder.kind].running
        since = next((s.start_ms for s in holder.segments if s.status in running_states), None)
    clock = console.clock
    virtual = isinstance(clock, VirtualClock)
    summary = ConsoleSummary(
        id=console.id,
        release=console.release.name,
        virtual=virtual,
        now_ms=clock.now_ms(),
        next_deadline_ms=clock.next_deadline() if isinstance(clock, VirtualClock) else None,
        rebalancing=gate.rebalancing,
        outage=bool(state.settings.get("outage_during_restore", False)),
        gate=Gate(holder.key if holder else None, since, gate.rebalancing),
        restores=len(restores),
        backups=len(backups),
        journal_total=journal.total if journal is not None else 0,
        journal_kept=len(journal) if journal is not None else 0,
        revision=state.revision,
    )
    return Snapshot(summary, tuple(jobs))


class Blame:
    """Which job held the gate at an instant: the intervals of each job in the statuses that
    hold it, searched by start (restores never overlap; backups may, one per host). Built per
    kind of refusal when first asked (most pages show no refusal)."""

    def __init__(self, jobs: Sequence[JobView]) -> None:
        self._jobs = jobs
        self._intervals: dict[tuple[int, int], tuple[list[int], list[tuple[int, int, str]]]] = {}

    def _spans(self, pair: tuple[int, int]) -> tuple[list[int], list[tuple[int, int, str]]]:
        found = self._intervals.get(pair)
        if found is None:
            kind, holding = BLAMED[pair]
            spans = sorted(
                (s.start_ms, s.end_ms if s.end_ms is not None else 2**63, key)
                for j in self._jobs
                if j.kind is kind
                for key in (j.key,)
                for s in j.segments
                if s.status in holding
            )
            found = self._intervals[pair] = ([s[0] for s in spans], spans)
        return found

    def at(self, status: int, code: int | None, at_ms: int) -> str | None:
        pair = (status, code or 0)
        if pair not in BLAMED:
            return None
        starts, spans = self._spans(pair)
        index = bisect.bisect_right(starts, at_ms)
        for start, end, key in reversed(spans[max(0, index - 16) : index]):
            if start <= at_ms <= end:  # an instant shared by two phases: either side
                return key
        return None


def _code(entry: Entry) -> int | None:
    if entry.status < 400 or not entry.payload.startswith(b"{"):
        return None
    response = entry.response
    code = response.get("code") if isinstance(response, dict) else None
    return code if isinstance(code, int) else None


def _job(entry: Entry) -> str | None:
    match = _JOB_PATH.fullmatch(entry.path)
    if match is not None:
        return job_key(_KIND_OF_PATH[match[1]].value, int(match[2]))
    if entry.method == "POST" and entry.status == 201:
        created = _CREATE_PATH.fullmatch(entry.path)
        response = entry.response if created is not None else None
        if (
            created is not None
            and isinstance(response, dict)
            and isinstance(response.get("id"), int)
        ):
            return job_key(_KIND_OF_PATH[created[1]].value, response["id"])
    return None


def row(entry: Entry, blame: Blame) -> Row:
    code = _code(entry)
    return Row(
        entry.seq,
        entry.at_ms,
        entry.method,
        entry.path,
        entry.query,
        entry.status,
        code,
        entry.duration_ms,
        _job(entry),
        blame.at(entry.status, code, entry.at_ms) if entry.status in REFUSALS else None,
    )


@dataclass(frozen=True, slots=True)
class Filter:
    """The journal filter: a status (`409`) or class (`4xx`), a path fragment, a job key."""

    status: str = ""
    path: str = ""
    job: str = ""

    def keeps(self, r: Row) -> bool:
        if self.status:
            text = str(r.status)
            if len(self.status) == 3 and self.status.endswith("xx"):
                if text[0] != self.status[0]:
                    return False
            elif text != self.status:
                return False
        if self.path and self.path not in r.path:
            return False
        return not self.job or self.job in (r.job, r.blame)


def rows(
    entries: Sequence[Entry],
    blame: Blame,
    keep: Filter,
    *,
    before: int | None = None,
    limit: int = 100,
) -> tuple[list[Row], int | None]:
    """The newest `limit` rows the filter keeps (older than `before`), and the cursor of the
    next older page (None: no more)."""
    found: list[Row] = []
    for entry in reversed(entries):
        if before is not None and entry.seq >= before:
            continue
        if keep.status and not str(entry.status).startswith(keep.status.rstrip("x")):
            continue  # cheap checks first: most entries of 10,000 are skipped here
        if keep.path and keep.path not in entry.path:
            continue
        r = row(entry, blame)
        if keep.keeps(r):
            if len(found) == limit:
                return found, found[-1].seq
            found.append(r)
    return found, None
