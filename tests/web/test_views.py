"""The page's read model: each job's phases on the console's clock, and who held the gate."""

from __future__ import annotations

from engine.api.journal import Journal
from engine.runtime.console import Console
from engine.runtime.phases import Phases
from engine.web import views

GROUPS = ["CUSTOM_RULES_CONFIG"]


async def test_a_job_finished_in_the_request_that_created_it_starts_with_its_creation(
    bre_console: Console,
) -> None:
    await bre_console.set_rule("backup", {"mode": "immediate"})
    backup = await bre_console.create_backup("CONFIG", "nightly")
    snap = await views.snapshot(bre_console, None)
    job = next(j for j in snap.jobs if j.key == f"backup-{backup.id}")
    assert [s.status for s in job.segments] == ["INITIALIZING", "IN_PROGRESS", "SUCCESS"]
    assert job.segments[-1].final


async def test_a_refusal_is_tied_to_the_job_that_held_the_gate_at_that_instant(
    bre_console: Console,
) -> None:
    first = await bre_console.create_restore(1, GROUPS)
    await bre_console.request_restore(first.id)
    await bre_console.clock.advance(60)
    second = await bre_console.create_restore(1, GROUPS)
    await bre_console.request_restore(second.id)
    await bre_console.clock.advance(1)
    snap = await views.snapshot(bre_console, Journal())
    blame = views.Blame(snap.jobs)
    start = next(j for j in snap.jobs if j.key == f"restore-{first.id}").segments[0].start_ms
    assert blame.at(409, 1016, start + 500) == f"restore-{first.id}"
    assert blame.at(409, 1016, start + 60_500) == f"restore-{second.id}"
    assert blame.at(409, 1016, start + 30_000) is None  # between the two: the gate was free
    assert blame.at(409, 1014, start + 500) is None  # rebalancing: no job holds it
    assert snap.summary.gate.holder == f"restore-{second.id}"


def test_phases_forget_the_jobs_changed_longest_ago() -> None:
    phases = Phases(limit=2)
    phases.record("restore", 1, "PENDING", 0)
    phases.record("restore", 2, "PENDING", 1)
    phases.record("restore", 1, "REQUESTING", 2)  # restore 1 changed last: restore 2 goes
    phases.record("restore", 3, "PENDING", 3)
    assert set(phases.jobs()) == {("restore", 1), ("restore", 3)}
    assert phases.of("restore", 1) == (("PENDING", 0), ("REQUESTING", 2))
