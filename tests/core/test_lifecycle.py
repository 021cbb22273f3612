"""The lifecycle tables (engine/core/lifecycle.py) and the diagrams committed in the docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.core.enums import BackupStatus, RestoreStatus
from engine.core.lifecycle import (
    BACKUP,
    BACKUP_DELETABLE,
    LIFECYCLES,
    REMOVED,
    RESTORE,
    RESTORE_DELETABLE,
    Actor,
    Event,
    Lifecycle,
    engine_table,
    mermaid,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "lifecycles.md"
TABLES = pytest.mark.parametrize("table", [RESTORE, BACKUP], ids=lambda t: t.kind.value)


def _mermaid_blocks(text: str) -> list[str]:
    return re.findall(r"^```mermaid\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def test_committed_engine_tables_are_current() -> None:
    """docs/lifecycles.md holds the engine's rules as the tables generate them, restore first."""
    text = DOC.read_text(encoding="utf-8")
    restore, backup = engine_table(RESTORE), engine_table(BACKUP)
    stale = "docs/lifecycles.md is out of date: regenerate it with lifecycle.engine_table()"
    assert restore in text, stale
    assert backup in text, stale
    assert text.index(restore) < text.index(backup), stale


def test_committed_diagrams_are_current() -> None:
    """docs/lifecycles.md holds exactly the diagrams the tables generate, restore first."""
    blocks = _mermaid_blocks(DOC.read_text(encoding="utf-8"))
    assert blocks == [mermaid(RESTORE), mermaid(BACKUP)], (
        "docs/lifecycles.md is out of date: regenerate it with engine.core.lifecycle.mermaid()"
    )


@TABLES
def test_diagram_has_every_edge_of_the_table(table: Lifecycle) -> None:
    lines = mermaid(table).splitlines()
    assert lines[:2] == ["stateDiagram-v2", f"    [*] --> {table.initial}"]
    for t in table.transitions:
        for source in t.sources:
            assert f"    {source} --> {t.dest}: {t.event.value} ({t.actor.value})" in lines
    for state in table.final:
        assert f"    {state} --> [*]" in lines


@TABLES
def test_table_is_well_formed(table: Lifecycle) -> None:
    states = set(table.states)
    assert table.initial in states
    assert set(table.final) <= states
    assert set(table.running) <= states
    assert not set(table.running) & set(table.final)
    for t in table.transitions:
        assert set(t.sources) <= states, t
        assert t.dest in states, t
        assert not set(t.sources) & set(table.final), f"{t.event}: leaves a final state"
    # deterministic: one destination per (state, event)
    for state in table.states:
        for event in Event:
            dests = {t.dest for t in table.transitions if t.event is event and state in t.sources}
            assert len(dests) <= 1


@TABLES
def test_every_state_is_reachable_and_every_unfinished_state_can_end(table: Lifecycle) -> None:
    edges = {(s, t.dest) for t in table.transitions for s in t.sources}
    reach = {table.initial}
    while True:
        more = {d for s, d in edges if s in reach} - reach
        if not more:
            break
        reach |= more
    # MISSING is reached from SUCCESS/FAILED through the control surface: still reachable
    assert reach == set(table.states)
    for state in table.states:
        seen, frontier = {state}, {state}
        while frontier:
            frontier = {d for s, d in edges if s in frontier} - seen
            seen |= frontier
        assert seen & set(table.final), f"{state} can never end"


def test_restore_table_is_the_documented_one() -> None:
    R = RestoreStatus
    assert RESTORE.states == tuple(s.value for s in R)
    assert RESTORE.initial == R.PENDING
    assert set(RESTORE.final) == {R.SUCCESS, R.FAILED}
    assert set(RESTORE.running) == {R.REQUESTING, R.INITIALIZING, R.IN_PROGRESS}
    # the client causes exactly one restore transition, PENDING -> REQUESTING
    client = [t for t in RESTORE.transitions if t.actor is Actor.CLIENT]
    assert [(t.sources, t.dest) for t in client] == [((R.PENDING,), R.REQUESTING)]
    assert RESTORE.target(R.PENDING, Event.REQUEST) == R.REQUESTING
    assert RESTORE.target(R.REQUESTING, Event.RECEIVE) == R.INITIALIZING
    assert RESTORE.target(R.INITIALIZING, Event.BEGIN) == R.IN_PROGRESS
    assert RESTORE.target(R.IN_PROGRESS, Event.SUCCEED) == R.SUCCESS
    assert RESTORE.target(R.IN_PROGRESS, Event.FAIL) == R.FAILED
    assert RESTORE_DELETABLE == (R.PENDING, R.REQUESTING, R.INITIALIZING, R.IN_PROGRESS)


def test_backup_table_is_the_documented_one() -> None:
    B = BackupStatus
    assert BACKUP.initial == B.INITIALIZING
    assert BACKUP.final == (REMOVED,)
    assert set(BACKUP.running) == {B.INITIALIZING, B.IN_PROGRESS, B.CANCELLING}
    assert set(BACKUP_DELETABLE) == {B.INITIALIZING, B.IN_PROGRESS, B.FAILED, B.SUCCESS, B.MISSING}
    assert BACKUP.target(B.IN_PROGRESS, Event.CANCEL) == B.CANCELLING
    assert BACKUP.target(B.MISSING, Event.DELETE) == B.DELETING
    assert BACKUP.target(B.CANCELLING, Event.REMOVE) == REMOVED
    assert BACKUP.target(B.DELETING, Event.REMOVE) == REMOVED
    assert BACKUP.target(B.CANCELLING, Event.CANCEL) is None
    assert BACKUP.target(B.DELETING, Event.DELETE) is None


@TABLES
def test_phases_are_the_timed_states_and_end_by_a_transition(table: Lifecycle) -> None:
    """Each phase's ending events are transitions out of it; a final state is never timed; every
    state that holds the gate is timed (a job holding it always has a next step)."""
    timed = table.timed
    assert len(set(timed)) == len(timed)
    assert not set(timed) & set(table.final)
    assert set(table.running) <= set(timed)
    for phase in table.phases:
        assert table.target(phase.state, phase.ends) is not None, phase
        if phase.fails is not None:
            assert table.target(phase.state, phase.fails) is not None, phase
        assert phase.next_event(failed=False) is phase.ends
        assert phase.default_ms > 0
    assert [p.state for p in table.phases if p.hangs] == [s for s in timed if table.hangs(s)]
    assert table.phase(table.final[0]) is None


@TABLES
def test_a_restart_interrupts_only_states_a_job_can_fail_from(table: Lifecycle) -> None:
    for state in table.interrupted:
        assert table.target(state, Event.FAIL) is not None, state


def test_the_engine_rules_are_the_documented_ones() -> None:
    R, B = RestoreStatus, BackupStatus
    assert RESTORE.timed == (R.REQUESTING, R.INITIALIZING, R.IN_PROGRESS)
    assert BACKUP.timed == (B.INITIALIZING, B.IN_PROGRESS, B.CANCELLING, B.DELETING)
    # only IN_PROGRESS ends by the outcome, and only there does a job hang
    for table in (RESTORE, BACKUP):
        by_outcome = [p.state for p in table.phases if p.fails is not None]
        assert by_outcome == [p.state for p in table.phases if p.hangs] == ["IN_PROGRESS"]
        in_progress = table.phase("IN_PROGRESS")
        assert in_progress is not None
        assert in_progress.next_event(failed=True) is Event.FAIL
        assert in_progress.next_event(failed=False) is Event.SUCCEED
    assert RESTORE.phase(R.REQUESTING) is not None
    assert RESTORE.phase(R.PENDING) is None  # waits for the client
    assert BACKUP.phase(B.MISSING) is None
    assert RESTORE.interrupted == BACKUP.interrupted == ("INITIALIZING", "IN_PROGRESS")
    assert RESTORE.unfinished == RESTORE_DELETABLE


def test_lifecycles_cover_every_job_kind() -> None:
    assert {t.kind for t in LIFECYCLES.values()} == set(LIFECYCLES)


def test_outcomes_and_settled_states() -> None:
    R, B = RestoreStatus, BackupStatus
    assert RESTORE.outcomes == BACKUP.outcomes == (R.SUCCESS, R.FAILED)
    assert RESTORE.settled == (R.SUCCESS, R.FAILED)
    assert BACKUP.settled == (B.FAILED, B.SUCCESS, B.MISSING, REMOVED)
