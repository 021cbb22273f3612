"""The invariants a load run must keep, checked from its observed history alone.

Soundness first: a check reports a violation only when the observations prove one, whatever
the delays between a client and the server. Times are wall-clock seconds on both sides (the
served simulator stamps records with the same clock); a server time is a floor in milliseconds
taken *before* its transaction committed, so it never lies after the real moment.

For each job the checker derives the interval in which it was **certainly** running: a record
shown in a running state by an answer that left at `sent` and arrived at `received` was running
at some instant of `[sent, received]`, hence it had started by `received` and not ended before
`sent`; a finished record's `time_completed` is a lower bound of its end. The certain interval is
`[earliest such received, latest such sent or time_completed]`. Two certain intervals that must be
exclusive and overlap (beyond a tolerance for the millisecond floor) are a violation:

- two restores running at once (the engine gate, 1016);
- a restore and a backup running at once (1015 / 1016);
- two backups running on one host (1015);
- two restore records unfinished (not SUCCESS or FAILED) and visible at once (1011).

The other checks:
- a list answer is one read: two running restores, two unfinished restore records, or two
  running backups on one host in one list are a violation by themselves;
- one client sees one record's status only move forward along the lifecycle tables;
- a SUCCESS or FAILED restore has `backup_id` null and `time_completed` set;
- no 5xx, no transport error (no lost answer);
- every 4xx of `/api` has QRadar's error body; a 409 carries a code its endpoint documents;
- every request of the bad-input mix gets a QRadar-shaped 4xx;
- while rebalancing is certainly on, no restore start succeeds; while certainly off, no 1014;
- every acknowledged create is retrievable at the end: 200, or 404 only when a delete of it was
  acknowledged (or its outcome is unknown);
- a record that a client saw gone (404 after it was acknowledged) never comes back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.core.endpoints import kind_of_path
from engine.core.enums import JobKind
from engine.core.lifecycle import BACKUP, RESTORE, Lifecycle
from engine.load.history import Exchange, History, Seen

#: Which 409 codes each endpoint documents (reference section 4.2).
CONFLICTS: dict[str, frozenset[int]] = {
    "POST /restores": frozenset({1011}),
    "POST /restores/{id}": frozenset({1014, 1015, 1016}),
    "POST /backups": frozenset({1005, 1011, 1015, 1016}),
}

RESTORE_RUNNING = frozenset(RESTORE.running)
RESTORE_FINAL = frozenset(RESTORE.final)
RESTORE_UNFINISHED = frozenset(s for s in RESTORE.states if s not in RESTORE.final)
BACKUP_RUNNING = frozenset(BACKUP.running)
BACKUP_FINISHED = frozenset({"SUCCESS", "FAILED"})


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken invariant, with the evidence in words."""

    invariant: str
    message: str
    at: float | None = None  # when it was seen (the answer that showed it), if one did

    def to_json(self) -> dict[str, Any]:
        return {"invariant": self.invariant, "message": self.message, "at": self.at}


def _reachable(lifecycle: Lifecycle) -> dict[str, frozenset[str]]:
    """For each state, the states reachable from it (itself included), from the table."""
    edges: dict[str, set[str]] = defaultdict(set)
    for t in lifecycle.transitions:
        for source in t.sources:
            edges[source].add(t.dest)
    result: dict[str, frozenset[str]] = {}
    for state in lifecycle.states:
        seen = {state}
        todo = [state]
        while todo:
            for nxt in edges[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        result[state] = frozenset(seen)
    return result


REACHABLE: dict[str, dict[str, frozenset[str]]] = {
    "restore": _reachable(RESTORE),
    "backup": _reachable(BACKUP),
}


@dataclass(slots=True)
class Interval:
    """When a job (or an unfinished record) was certainly in a state of interest."""

    kind: str
    id: int
    host: int | None = None
    start: float | None = None  # the earliest `received` of an answer showing it
    end: float | None = None  # the latest `sent`, or the server's time_completed
    start_by: str = ""
    end_by: str = ""

    def starts(self, at: float, by: str) -> None:
        if self.start is None or at < self.start:
            self.start, self.start_by = at, by

    def ends(self, at: float, by: str) -> None:
        if self.end is None or at > self.end:
            self.end, self.end_by = at, by

    @property
    def certain(self) -> bool:
        return self.start is not None and self.end is not None and self.start <= self.end

    def describe(self) -> str:
        return (
            f"{self.kind} {self.id}{'' if self.host is None else f' (host {self.host})'} "
            f"certainly running from {self.start:.3f} ({self.start_by}) "
            f"to {self.end:.3f} ({self.end_by})"
        )


@dataclass(slots=True)
class Checker:
    """Run every check over a history; `violations` lists what broke."""

    tolerance_s: float = 0.002
    violations: list[Violation] = field(default_factory=list)
    limit: int = 1000  # violations kept per invariant (the count is always exact)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    #: when each violation was seen (None: not tied to one answer), for the plot
    seen_at: list[float | None] = field(default_factory=list)

    def fail(self, invariant: str, message: str, at: float | None = None) -> None:
        self.counts[invariant] += 1
        if len(self.seen_at) < 100_000:
            self.seen_at.append(at)
        if self.counts[invariant] <= self.limit:
            self.violations.append(Violation(invariant, message, at))

    # -------------------------------------------------------------------------------------
    def check(self, history: Iterable[Exchange]) -> list[Violation]:
        exchanges = sorted(history, key=lambda e: (e.sent, e.received))
        self._answers(exchanges)
        self._snapshots(exchanges)
        self._records(exchanges)
        self._monotonic(exchanges)
        self._intervals(exchanges)
        self._rebalancing(exchanges)
        self._retrievable(exchanges)
        return self.violations

    def _answers(self, exchanges: list[Exchange]) -> None:
        for e in exchanges:
            where = f"{e.op} by {e.client} at {e.sent:.3f}"
            if e.status == 0:
                self.fail("no_answer", f"{where}: no answer ({e.error})", at=e.received)
                continue
            if e.status >= 500:
                self.fail("server_error", f"{where}: {e.status} code {e.code}", at=e.received)
            if e.control:
                continue
            if 400 <= e.status < 600 and not e.shaped:
                self.fail(
                    "error_shape", f"{where}: {e.status} without QRadar's error body", at=e.received
                )
            if e.bad and not (400 <= e.status < 500):
                self.fail(
                    "bad_input", f"{where} ({e.detail}): {e.status}, expected a 4xx", at=e.received
                )
            if e.status == 409 and not e.bad:
                allowed = CONFLICTS.get(e.op, frozenset())
                if e.code not in allowed:
                    self.fail("conflict_code", f"{where}: 409 with code {e.code}", at=e.received)

    def _snapshots(self, exchanges: list[Exchange]) -> None:
        for e in exchanges:
            if not e.snapshot or not e.seen:
                continue
            where = f"{e.op} by {e.client} at {e.sent:.3f}"
            running = [s.id for s in e.seen if s.kind == "restore" and s.status in RESTORE_RUNNING]
            if len(running) > 1:
                self.fail(
                    "one_restore_running",
                    f"{where}: one list shows restores {running} running",
                    at=e.received,
                )
            unfinished = [
                s.id for s in e.seen if s.kind == "restore" and s.status in RESTORE_UNFINISHED
            ]
            if len(unfinished) > 1:
                self.fail(
                    "one_unfinished_restore",
                    f"{where}: one list shows restores {unfinished} unfinished",
                    at=e.received,
                )
            per_host: dict[int | None, list[int]] = defaultdict(list)
            for s in e.seen:
                if s.kind == "backup" and s.status in BACKUP_RUNNING:
                    per_host[s.host_id].append(s.id)
            for host, ids in per_host.items():
                if len(ids) > 1:
                    self.fail(
                        "one_backup_per_host",
                        f"{where}: one list shows backups {ids} running on host {host}",
                        at=e.received,
                    )

    def _records(self, exchanges: list[Exchange]) -> None:
        for e in exchanges:
            for s in e.seen:
                if s.kind == "restore" and s.status in RESTORE_FINAL:
                    if s.backup_id is not None:
                        self.fail(
                            "restore_completion",
                            f"restore {s.id} {s.status} with backup_id {s.backup_id} "
                            f"({e.op} by {e.client} at {e.sent:.3f})",
                            at=e.received,
                        )
                    if s.time_completed is None:
                        self.fail(
                            "restore_completion",
                            f"restore {s.id} {s.status} without time_completed "
                            f"({e.op} by {e.client} at {e.sent:.3f})",
                            at=e.received,
                        )

    def _monotonic(self, exchanges: list[Exchange]) -> None:
        last: dict[tuple[str, str, int], tuple[str, Exchange]] = {}
        for e in exchanges:  # sorted by sent: one client's requests are sequential
            for s in e.seen:
                key = (e.client, s.kind, s.id)
                before = last.get(key)
                if before is not None:
                    status, previous = before
                    allowed = REACHABLE[s.kind].get(status, frozenset({status}))
                    if s.status not in allowed:
                        self.fail(
                            "status_forward",
                            f"{e.client} saw {s.kind} {s.id} {status} "
                            f"({previous.op} at {previous.sent:.3f}) then {s.status} "
                            f"({e.op} at {e.sent:.3f})",
                            at=e.received,
                        )
                last[key] = (s.status, e)

    def _intervals(self, exchanges: list[Exchange]) -> None:
        running: dict[tuple[str, int], Interval] = {}
        unfinished: dict[int, Interval] = {}
        for e in exchanges:
            by = f"{e.op} by {e.client}"
            for s in e.seen:
                if s.kind == "restore":
                    interval = running.setdefault(("restore", s.id), Interval("restore", s.id))
                    record = unfinished.setdefault(s.id, Interval("restore record", s.id))
                    if s.status in RESTORE_RUNNING:
                        interval.starts(e.received, by)
                        interval.ends(e.sent, by)
                    if s.status in RESTORE_UNFINISHED:
                        record.starts(e.received, by)
                        record.ends(e.sent, by)
                    if s.status in RESTORE_FINAL and s.time_completed is not None:
                        interval.ends(s.time_completed / 1000, f"time_completed, {by}")
                        record.ends(s.time_completed / 1000, f"time_completed, {by}")
                else:
                    interval = running.setdefault(("backup", s.id), Interval("backup", s.id))
                    if s.host_id is not None:
                        interval.host = s.host_id
                    if s.status in BACKUP_RUNNING:
                        interval.starts(e.received, by)
                        interval.ends(e.sent, by)
                    if s.status in BACKUP_FINISHED and s.time_completed is not None:
                        interval.ends(s.time_completed / 1000, f"time_completed, {by}")
        jobs = [i for i in running.values() if i.certain]
        jobs.sort(key=lambda i: i.start or 0.0)
        for a, b in _overlapping(jobs, self.tolerance_s):
            if a.kind == "backup" and b.kind == "backup" and a.host != b.host:
                continue
            name = {
                ("restore", "restore"): "one_restore_running",
                ("backup", "backup"): "one_backup_per_host",
            }.get((a.kind, b.kind), "restore_excludes_backup")
            self.fail(name, f"{a.describe()}; {b.describe()}", at=b.start)
        records = sorted((i for i in unfinished.values() if i.certain), key=lambda i: i.start or 0)
        for a, b in _overlapping(records, self.tolerance_s):
            self.fail("one_unfinished_restore", f"{a.describe()}; {b.describe()}", at=b.start)

    def _rebalancing(self, exchanges: list[Exchange]) -> None:
        toggles = [e for e in exchanges if e.control and e.detail.startswith("rebalancing=")]
        if not toggles or len({t.client for t in toggles}) != 1:
            return  # certain on/off windows need one toggling client
        windows: list[tuple[float, float, bool]] = []  # (from, to, on) when certain
        acked = [t for t in toggles if 200 <= t.status < 300]
        for i, toggle in enumerate(acked):
            on = toggle.detail == "rebalancing=true"
            following = [t.sent for t in toggles if t.sent > toggle.sent]
            until = min(following) if following else float("inf")
            windows.append((toggle.received, until, on))
            del i
        for e in exchanges:
            if e.op != "POST /restores/{id}" or e.bad:
                continue
            for start, end, on in windows:
                if not (
                    start + self.tolerance_s <= e.sent and e.received <= end - self.tolerance_s
                ):
                    continue
                if on and 200 <= e.status < 300:
                    self.fail(
                        "rebalancing_gate",
                        f"restore {e.target} started by {e.client} at {e.sent:.3f} while "
                        f"rebalancing was certainly on ({start:.3f} to {end:.3f})",
                        at=e.received,
                    )
                if not on and e.status == 409 and e.code == 1014:
                    self.fail(
                        "rebalancing_gate",
                        f"1014 for restore {e.target} ({e.client} at {e.sent:.3f}) while "
                        f"rebalancing was certainly off ({start:.3f} to {end:.3f})",
                        at=e.received,
                    )

    def _retrievable(self, exchanges: list[Exchange]) -> None:
        created: dict[tuple[JobKind, int], Exchange] = {}
        deleted: set[tuple[JobKind, int]] = set()
        gone: dict[tuple[JobKind, int], Exchange] = {}
        finals: dict[tuple[JobKind, int], Exchange] = {}
        for e in exchanges:
            kind = kind_of_path(e.op)
            if kind is None:
                continue
            if e.op in ("POST /restores", "POST /backups") and e.status == 201 and e.seen:
                created[(kind, e.seen[0].id)] = e
            unknown = e.status == 0 or e.status >= 500  # the delete may have happened
            if (
                e.op.startswith("DELETE ")
                and e.target is not None
                and (e.status in (202, 204) or unknown)
            ):
                deleted.add((kind, e.target))
            if e.role == "final" and e.target is not None:
                finals[(kind, e.target)] = e
        for e in exchanges:  # a record once seen gone never comes back
            kind = kind_of_path(e.op)
            if kind is None or e.target is None or not e.op.startswith("GET "):
                continue
            key = (kind, e.target)
            if key not in created or e.sent < created[key].received:
                continue
            if e.status == 404:
                gone.setdefault(key, e)
            elif e.status == 200 and key in gone and gone[key].received < e.sent:
                first = gone[key]
                self.fail(
                    "record_reappeared",
                    f"{kind} {e.target}: 404 to {first.client} at {first.sent:.3f}, then 200 "
                    f"to {e.client} at {e.sent:.3f}",
                    at=e.received,
                )
        for key, ack in created.items():
            kind, id = key
            final = finals.get(key)
            if final is None:
                self.fail("retrievable", f"{kind} {id} (created by {ack.client}) was not re-read")
            elif final.status == 200 or (final.status == 404 and key in deleted):
                continue
            else:
                self.fail(
                    "retrievable",
                    f"{kind} {id} created by {ack.client} at {ack.sent:.3f}: the final GET "
                    f"answered {final.status}" + (" (never deleted)" if key not in deleted else ""),
                )


def _overlapping(
    intervals: list[Interval], tolerance: float
) -> Iterable[tuple[Interval, Interval]]:
    """Pairs whose certain intervals overlap by more than `tolerance` (sorted by start)."""
    active: list[Interval] = []
    for current in intervals:
        assert current.start is not None
        assert current.end is not None
        active = [a for a in active if a.end is not None and a.end > current.start + tolerance]
        for other in active:
            assert other.end is not None
            if min(other.end, current.end) - current.start > tolerance:
                yield other, current
        active.append(current)


def check(history: History | Iterable[Exchange], tolerance_s: float = 0.002) -> Checker:
    """Check a history; the returned checker holds `violations` and their `counts`."""
    checker = Checker(tolerance_s=tolerance_s)
    checker.check(history)
    return checker


def seen_ids(history: Iterable[Exchange]) -> dict[str, set[int]]:
    """The ids of records created (201) in a history, per kind: what the final check re-reads."""
    ids: dict[str, set[int]] = {"restore": set(), "backup": set()}
    for e in history:
        if e.op in ("POST /restores", "POST /backups") and e.status == 201 and e.seen:
            first: Seen = e.seen[0]
            ids[first.kind].add(first.id)
    return ids
