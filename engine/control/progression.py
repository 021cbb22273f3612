"""Progression rules as control inputs: `engine:` in scenarios, `rules` of a new console, the
`engine` and `job_rule` actions, `Console.set_rule`.

The keys come from the core's tables (the modes, the phases of each kind, the outcomes), so a
new phase or outcome is declared once. Rules are stored as written: reading one here only
checks it (durations within `MAX_DURATION_MS`, so that no phase can end beyond what the store's
integers hold); the engine parses the stored text with `Progression.read`.
"""

from __future__ import annotations

from typing import Any

from engine.control.schema import Duration, Either, Integer, ListOf, Number, Obj, OneOf
from engine.core.enums import JobKind
from engine.core.progression import MAX_READS_PER_PHASE, PHASES, Mode, Outcome

#: The most outcomes a sequence may list (one per job, the last repeating).
MAX_SEQUENCE = 1000

_OUTCOME_NAME = OneOf(tuple(o.value for o in Outcome), ignore_case=True)
OUTCOME = Either(
    (
        _OUTCOME_NAME,
        ListOf(_OUTCOME_NAME, min_items=1, max_items=MAX_SEQUENCE),
        Obj(
            {Outcome.FAILED.value: Number(0, 1, description="The share of jobs that fail.")},
            required=(Outcome.FAILED.value,),
        ),
    ),
    expected="SUCCESS, FAILED, HANG, a list of them, or {FAILED: rate}",
    description="How jobs end: one outcome, a sequence (one per job), or a seeded rate.",
)


def _rule(kind: JobKind) -> Obj:
    phases = {p.lower(): Duration(description=f"How long {p} lasts.") for p in PHASES[kind]}
    return Obj(
        {
            "mode": OneOf(
                tuple(m.value for m in Mode),
                description="auto: phases last their durations; manual: each waits for a "
                "step; immediate: no phase takes time; poll: each phase lasts reads_per_phase "
                "reads of the job.",
            ),
            **phases,
            "outcome": OUTCOME,
            "reads_per_phase": Integer(
                1,
                MAX_READS_PER_PHASE,
                description="Poll mode: the read of a job (GET by id or in a list) that moves "
                "it to its next phase; that read answers with the new phase.",
            ),
        },
        as_written=True,
        description=f"How {kind.value} jobs progress (the keys given change, the others stay).",
    )


#: The rule of each kind of job (read as written).
RULE: dict[JobKind, Obj] = {kind: _rule(kind) for kind in JobKind}
#: Rules for both kinds, as `engine:` and `rules` write them (read as written).
RULES = Obj({kind.value: RULE[kind] for kind in JobKind})
#: A rule of either kind (one job's rule; its kind is checked with it).
ANY_RULE = Obj({k: f for kind in JobKind for k, f in RULE[kind].fields.items()}, as_written=True)


def checked_rules(rules: Any, path: str = "rules") -> dict[str, dict[str, Any]]:
    """Rules of both kinds checked, returned as written."""
    checked: dict[str, dict[str, Any]] = RULES.read(rules, path)
    return checked
