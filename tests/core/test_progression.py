"""Progression rules directly: durations, outcome plans and per-kind rules as scenarios and the
control surface write them (hypothesis where text is parsed), and their deterministic choices."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.core.enums import JobKind
from engine.core.progression import (
    MAX_DURATION_MS,
    Mode,
    Outcome,
    OutcomePlan,
    Progression,
    RuleError,
    parse_duration_ms,
)


def phases(kind: JobKind) -> list[str]:
    """The phase keys of a rule of that kind, as a rule shows them."""
    return [k for k in Progression().to_json(kind) if k not in ("mode", "outcome")]


# --- durations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("500ms", 500),
        ("5s", 5000),
        ("2m", 120_000),
        ("1h", 3_600_000),
        ("1.5s", 1500),
        (" 7 s ", 7000),
        ("3", 3000),
        (0, 0),
        (2, 2000),
        (0.25, 250),
        ("876000h", MAX_DURATION_MS),
    ],
)
def test_durations(text: Any, ms: int) -> None:
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize(
    "value",
    [True, -1, "-1s", "5 sec", "1d", "", "s", None, [], math.inf, math.nan, "876001h"],
    ids=repr,
)
def test_what_is_no_duration(value: Any) -> None:
    with pytest.raises(RuleError, match="in_progress"):
        parse_duration_ms(value, "in_progress")


@given(
    st.integers(0, MAX_DURATION_MS),
    st.sampled_from([("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]),
)
def test_a_written_duration_reads_back(amount: int, unit: tuple[str, int]) -> None:
    name, factor = unit
    whole = amount // factor
    assert parse_duration_ms(f"{whole}{name}") == whole * factor


@given(st.one_of(st.text(max_size=12), st.floats(), st.integers(), st.booleans(), st.none()))
def test_any_value_is_a_bounded_duration_or_a_rule_error(value: Any) -> None:
    try:
        ms = parse_duration_ms(value)
    except RuleError:
        return
    assert isinstance(ms, int)
    assert 0 <= ms <= MAX_DURATION_MS


# --- outcomes ----------------------------------------------------------------------------------


def test_outcome_plans() -> None:
    assert OutcomePlan.read("failed") == OutcomePlan(Outcome.FAILED)
    assert OutcomePlan.read(["FAILED", "success"]).sequence == (Outcome.FAILED, Outcome.SUCCESS)
    assert OutcomePlan.read({"FAILED": 0.2}).failure_rate == 0.2
    for bad in (
        [],
        {},
        {"SUCCESS": 0.5},
        {"FAILED": 1.5},
        {"FAILED": True},
        "MAYBE",
        3,
        {"FAILED": 0.1, "x": 1},
    ):
        with pytest.raises(RuleError, match="outcome"):
            OutcomePlan.read(bad)


PLANS = st.one_of(
    st.sampled_from(list(Outcome)).map(lambda o: OutcomePlan(o)),
    st.lists(st.sampled_from(list(Outcome)), min_size=1, max_size=5).map(
        lambda s: OutcomePlan(None, tuple(s))
    ),
    st.floats(0, 1).map(lambda r: OutcomePlan(None, failure_rate=r)),
)


@given(PLANS)
def test_an_outcome_plan_reads_back_what_it_shows(plan: OutcomePlan) -> None:
    assert OutcomePlan.read(plan.to_json()) == plan


def test_a_sequence_is_used_job_after_job_and_its_last_repeats() -> None:
    plan = OutcomePlan.read(["FAILED", "HANG", "SUCCESS"])
    chosen = [plan.choose(7, JobKind.RESTORE, n) for n in range(1, 6)]
    assert chosen == [
        Outcome.FAILED,
        Outcome.HANG,
        Outcome.SUCCESS,
        Outcome.SUCCESS,
        Outcome.SUCCESS,
    ]


@given(st.integers(), st.sampled_from(list(JobKind)), st.integers(1, 10_000), st.floats(0, 1))
def test_a_rate_is_drawn_from_seed_kind_and_job(
    seed: int, kind: JobKind, ordinal: int, rate: float
) -> None:
    plan = OutcomePlan(None, failure_rate=rate)
    first = plan.choose(seed, kind, ordinal)
    assert first == plan.choose(seed, kind, ordinal)
    assert first in (Outcome.SUCCESS, Outcome.FAILED)
    if rate == 0:
        assert first is Outcome.SUCCESS
    if rate == 1:
        assert first is Outcome.FAILED


def test_a_rate_fails_about_that_share_of_jobs() -> None:
    plan = OutcomePlan.read({"FAILED": 0.3})
    failed = sum(plan.choose(1, JobKind.BACKUP, n) is Outcome.FAILED for n in range(1, 2001))
    assert 500 < failed < 700


# --- rules -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(JobKind), ids=str)
def test_a_rule_per_mode(kind: JobKind) -> None:
    first = phases(kind)[0]
    auto = Progression.read(kind, {first: "3s"})
    assert auto.duration_ms(kind, first.upper()) == 3000
    manual = Progression.read(kind, {"mode": "manual"}, auto)
    immediate = Progression.read(kind, {"mode": "immediate"})
    for phase in phases(kind):
        assert manual.duration_ms(kind, phase.upper()) is None
        assert immediate.duration_ms(kind, phase.upper()) == 0
        assert Progression().duration_ms(kind, phase.upper()) == Progression().duration_ms_raw(
            kind, phase.upper()
        )
    assert manual.durations_ms == auto.durations_ms  # the base's durations are kept


@pytest.mark.parametrize("kind", list(JobKind), ids=str)
def test_a_rule_refuses_what_it_does_not_know(kind: JobKind) -> None:
    with pytest.raises(
        RuleError, match="allowed: mode, outcome, reads_per_phase, " + phases(kind)[0]
    ):
        Progression.read(kind, {"speed": 1})
    with pytest.raises(RuleError, match="mode"):
        Progression.read(kind, {"mode": "fast"})
    other = {"restore": "cancelling", "backup": "requesting"}[kind.value]
    with pytest.raises(RuleError, match=other):
        Progression.read(kind, {other: "1s"})


RULES = st.fixed_dictionaries(
    {},
    optional={
        "mode": st.sampled_from([m.value for m in Mode]),
        "outcome": PLANS.map(lambda p: p.to_json()),
        "in_progress": st.integers(0, 10**9).map(lambda n: f"{n}ms"),
        "initializing": st.integers(0, 10**6),
        "reads_per_phase": st.integers(1, 1000),
    },
)


@given(st.sampled_from(list(JobKind)), RULES)
def test_a_rule_reads_back_what_it_shows(kind: JobKind, spec: dict[str, Any]) -> None:
    rule = Progression.read(kind, spec)
    shown = rule.to_json(kind)
    polled = ["reads_per_phase"] if rule.mode is Mode.POLL else []  # shown in poll mode only
    assert list(shown) == ["mode", *phases(kind), "outcome", *polled]
    again = Progression.read(kind, shown)
    assert again.to_json(kind) == shown
    assert again.mode == rule.mode
    assert again.outcome == rule.outcome
    for phase in phases(kind):
        assert again.duration_ms(kind, phase.upper()) == rule.duration_ms(kind, phase.upper())
