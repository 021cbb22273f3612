"""The lifecycles of restores and backups as plain data: one table per kind of job.

The tables are the one place the job engine's rules are written: the transitions, which states
are timed (a phase with a duration, and what ends it), which hold the engine gate, what a hung
job is, and what a restart does to a job in flight. The `transitions` machines
(`engine.runtime.machines`), the units of work (`engine.runtime.units`), the progression rules'
keys and default durations, the store's status lists, the deletable-state lists, the diagrams in
`docs/lifecycles.md` and the property tests all read them.

Rules the tables keep (reference section 5):
- a client causes exactly one restore transition, PENDING -> REQUESTING; the engine drives the rest;
- a backup is created INITIALIZING; a DELETE cancels it while it runs (CANCELLING) and deletes it
  otherwise (DELETING); both end with the record removed;
- SUCCESS and FAILED restores are permanent.
"""

from __future__ import annotations

from dataclasses import field
from enum import StrEnum

from engine.core.enums import BackupStatus, JobKind, RestoreStatus
from engine.core.frozen import record

#: The pseudo-state of a backup whose record the engine has removed (not an API status).
REMOVED = "REMOVED"


class Actor(StrEnum):
    """Who may fire a transition."""

    CLIENT = "client"  #: a REST or embedded API call
    ENGINE = "engine"  #: the worker, by the progression model
    CONTROL = "control"  #: the simulator's control surface (the world changing under the engine)


class Event(StrEnum):
    """Transition names, shared by both tables where the meaning is the same."""

    REQUEST = "request"
    RECEIVE = "receive"
    BEGIN = "begin"
    SUCCEED = "succeed"
    FAIL = "fail"
    CANCEL = "cancel"
    DELETE = "delete"
    VANISH = "vanish"
    REMOVE = "remove"


@record
class Transition:
    """An event that moves a job from any of `sources` to `dest`, and who may fire it."""

    event: Event
    sources: tuple[str, ...]
    dest: str
    actor: Actor
    note: str


@record
class Phase:
    """A timed state: the job spends a duration in it (the progression rule's key, in lower
    case), then the engine fires `ends`, or `fails` when the job's outcome is FAILED."""

    state: str
    ends: Event
    #: how long the phase lasts when served and no rule says otherwise: a few seconds, so that
    #: polling clients see each state
    default_ms: int
    fails: Event | None = None
    #: a job whose outcome is HANG stays in this phase until stepped (and then fails)
    hangs: bool = False

    def next_event(self, failed: bool) -> Event:
        """What the engine fires when the phase is over (`failed`: the job's outcome)."""
        return self.fails if failed and self.fails is not None else self.ends


@record
class Lifecycle:
    """The states and transitions of one kind of job."""

    kind: JobKind
    states: tuple[str, ...]
    initial: str
    final: tuple[str, ...]
    #: active states: the job holds the engine gate (for backups: the gate of its host)
    running: tuple[str, ...]
    #: the timed states, in the order a job goes through them; every other state lasts until
    #: a client or the control surface moves the job (or forever)
    phases: tuple[Phase, ...]
    #: states a restart interrupts: with the recovery policy `fail` the job fails from them
    #: (a restore started from the console's UI excepted); otherwise every job in flight
    #: resumes, and phases that ended while the process was down end on the first pass
    interrupted: tuple[str, ...]
    transitions: tuple[Transition, ...]
    #: the phases by state (every unit of work asks)
    _by_state: dict[str, Phase] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_state", {str(p.state): p for p in self.phases})

    @property
    def timed(self) -> tuple[str, ...]:
        """The states of a job in flight: those with a phase."""
        return tuple(p.state for p in self.phases)

    @property
    def unfinished(self) -> tuple[str, ...]:
        return tuple(s for s in self.states if s not in self.final)

    @property
    def outcomes(self) -> tuple[str, ...]:
        """Where a job's run ends: the destinations of SUCCEED and FAIL."""
        ends = (Event.SUCCEED, Event.FAIL)
        return tuple(dict.fromkeys(t.dest for t in self.transitions if t.event in ends))

    @property
    def settled(self) -> tuple[str, ...]:
        """States in which the engine has nothing more to do with the job: neither the initial
        state (where a restore waits for its client) nor a timed one."""
        timed = self.timed
        return tuple(s for s in self.states if s != self.initial and s not in timed)

    def phase(self, state: str) -> Phase | None:
        """The phase of a timed state; None for a state that lasts until the job is moved."""
        return self._by_state.get(state)

    def hangs(self, state: str) -> bool:
        """Whether a job whose outcome is HANG stays in `state` until stepped."""
        phase = self.phase(state)
        return phase is not None and phase.hangs

    def target(self, state: str, event: Event) -> str | None:
        """Where `event` leads from `state`, or None when the table refuses it."""
        for t in self.transitions:
            if t.event is event and state in t.sources:
                return t.dest
        return None

    def sources(self, event: Event) -> tuple[str, ...]:
        return next(t.sources for t in self.transitions if t.event is event)

    def events(self) -> tuple[Event, ...]:
        return tuple(dict.fromkeys(t.event for t in self.transitions))


_R = RestoreStatus
RESTORE = Lifecycle(
    kind=JobKind.RESTORE,
    states=tuple(s.value for s in _R),
    initial=_R.PENDING,
    final=(_R.SUCCESS, _R.FAILED),
    running=(_R.REQUESTING, _R.INITIALIZING, _R.IN_PROGRESS),
    phases=(
        Phase(_R.REQUESTING, Event.RECEIVE, 1_000),
        Phase(_R.INITIALIZING, Event.BEGIN, 2_000),
        Phase(_R.IN_PROGRESS, Event.SUCCEED, 5_000, fails=Event.FAIL, hangs=True),
    ),
    interrupted=(_R.INITIALIZING, _R.IN_PROGRESS),
    transitions=(
        Transition(Event.REQUEST, (_R.PENDING,), _R.REQUESTING, Actor.CLIENT,
                   "POST /restores/{id} {status: REQUESTING}"),
        Transition(Event.RECEIVE, (_R.REQUESTING,), _R.INITIALIZING, Actor.ENGINE,
                   "the engine receives the request"),
        Transition(Event.BEGIN, (_R.INITIALIZING,), _R.IN_PROGRESS, Actor.ENGINE,
                   "the restore begins; services stop"),
        Transition(Event.SUCCEED, (_R.IN_PROGRESS,), _R.SUCCESS, Actor.ENGINE,
                   "finished; backup_id becomes null"),
        Transition(Event.FAIL, (_R.INITIALIZING, _R.IN_PROGRESS), _R.FAILED, Actor.ENGINE,
                   "finished with errors; backup_id becomes null"),
    ),
)  # fmt: skip

_B = BackupStatus
BACKUP = Lifecycle(
    kind=JobKind.BACKUP,
    states=(*(s.value for s in _B), REMOVED),
    initial=_B.INITIALIZING,
    final=(REMOVED,),
    running=(_B.INITIALIZING, _B.IN_PROGRESS, _B.CANCELLING),
    phases=(
        Phase(_B.INITIALIZING, Event.BEGIN, 1_000),
        Phase(_B.IN_PROGRESS, Event.SUCCEED, 3_000, fails=Event.FAIL, hangs=True),
        Phase(_B.CANCELLING, Event.REMOVE, 1_000),
        Phase(_B.DELETING, Event.REMOVE, 1_000),
    ),
    interrupted=(_B.INITIALIZING, _B.IN_PROGRESS),
    transitions=(
        Transition(Event.BEGIN, (_B.INITIALIZING,), _B.IN_PROGRESS, Actor.ENGINE,
                   "the engine accepts the request"),
        Transition(Event.SUCCEED, (_B.IN_PROGRESS,), _B.SUCCESS, Actor.ENGINE, "finished"),
        Transition(Event.FAIL, (_B.INITIALIZING, _B.IN_PROGRESS), _B.FAILED, Actor.ENGINE,
                   "finished with errors"),
        Transition(Event.CANCEL, (_B.INITIALIZING, _B.IN_PROGRESS), _B.CANCELLING, Actor.CLIENT,
                   "DELETE /backups/{id} while it runs"),
        Transition(Event.DELETE, (_B.FAILED, _B.SUCCESS, _B.MISSING), _B.DELETING, Actor.CLIENT,
                   "DELETE /backups/{id} when finished"),
        Transition(Event.VANISH, (_B.SUCCESS, _B.FAILED), _B.MISSING, Actor.CONTROL,
                   "the file moved or deleted outside the engine"),
        Transition(Event.REMOVE, (_B.CANCELLING, _B.DELETING), REMOVED, Actor.ENGINE,
                   "the engine removes record and file"),
    ),
)  # fmt: skip

LIFECYCLES: dict[JobKind, Lifecycle] = {JobKind.RESTORE: RESTORE, JobKind.BACKUP: BACKUP}

#: States from which DELETE is accepted: the sources of the client's delete transitions for
#: backups, and every unfinished state for restore records (deleting a record never stops a job).
#: The 1017 texts of the catalogue list them, in this order.
BACKUP_DELETABLE: tuple[str, ...] = (*BACKUP.sources(Event.CANCEL), *BACKUP.sources(Event.DELETE))
RESTORE_DELETABLE: tuple[str, ...] = RESTORE.unfinished


def engine_table(lifecycle: Lifecycle) -> str:
    """The engine's rules per state as a markdown table, for the docs (compared by a test)."""
    rows = [
        "| state | timed (served default) | when the phase is over | outcome HANG | holds the gate "
        "| restart with `--recovery fail` |",
        "|---|---|---|---|---|---|",
    ]
    for state in lifecycle.states:
        phase = lifecycle.phase(state)
        if phase is None:
            timed = ends = "-"
        else:
            timed = f"{phase.default_ms / 1000:g} s"
            ends = f"`{phase.ends.value}`"
            if phase.fails is not None:
                ends += f" (`{phase.fails.value}` when the outcome is FAILED)"
        hangs = "stays until stepped" if lifecycle.hangs(state) else "-"
        gate = "yes" if state in lifecycle.running else "-"
        restart = "fails" if state in lifecycle.interrupted else "-"
        rows.append(f"| {state} | {timed} | {ends} | {hangs} | {gate} | {restart} |")
    return "\n".join(rows) + "\n"


def mermaid(lifecycle: Lifecycle) -> str:
    """A mermaid state diagram of a table, for the docs (regenerated and compared by a test)."""
    lines = ["stateDiagram-v2", f"    [*] --> {lifecycle.initial}"]
    for t in lifecycle.transitions:
        for source in t.sources:
            lines.append(f"    {source} --> {t.dest}: {t.event.value} ({t.actor.value})")
    for state in lifecycle.final:
        lines.append(f"    {state} --> [*]")
    return "\n".join(lines) + "\n"
