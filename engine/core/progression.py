"""How jobs progress and end: the simulator's model of the engine's timing and outcomes.

Per kind of job (and optionally per job): a mode (`auto`: each phase lasts its duration;
`manual`: each phase waits for a step; `immediate`: no phase takes time; `poll`: each phase
lasts `reads_per_phase` reads of the job, as moto's state manager does, so that a synchronous
client that polls sees every phase with no clock to move), phase durations, and
an outcome (`SUCCESS`, `FAILED`, `HANG`, a sequence used one job after another, or a seeded
failure rate). Outcomes are drawn per job from (seed, kind, job ordinal), so they do not depend
on the order in which jobs happen to be processed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import field, replace
from enum import StrEnum
from typing import Any

from engine.core.enums import JobKind
from engine.core.frozen import record
from engine.core.lifecycle import LIFECYCLES


class Mode(StrEnum):
    AUTO = "auto"
    MANUAL = "manual"
    IMMEDIATE = "immediate"
    POLL = "poll"


class Outcome(StrEnum):
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    HANG = "HANG"  #: stays IN_PROGRESS until stepped (then FAILED) or forever


#: The phases a job spends time in, per kind (the lifecycle tables' timed states); their
#: durations are the rule's keys.
PHASES: dict[JobKind, tuple[str, ...]] = {kind: lc.timed for kind, lc in LIFECYCLES.items()}

#: Default durations when served, from the lifecycle tables.
DEFAULT_DURATIONS_MS: dict[JobKind, dict[str, int]] = {
    kind: {p.state: p.default_ms for p in lc.phases} for kind, lc in LIFECYCLES.items()
}

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, None: 1000}


#: The most reads a phase may last in poll mode.
MAX_READS_PER_PHASE = 1_000_000


class RuleError(ValueError):
    """A progression rule that cannot be read; the message names the key and the value."""


#: The longest duration of anything (a phase, an advance, a latency): 100 years. An instant (at
#: most the end of year 9999) plus a duration stays a 64-bit integer of milliseconds, which the
#: store can hold; a phase that never ends is `outcome: HANG` or manual mode.
MAX_DURATION_MS = 100 * 365 * 86_400_000


def parse_duration_ms(value: Any, key: str = "duration") -> int:
    """`5s`, `500ms`, `2m`, `1h` or a number of seconds, as milliseconds (at most 100 years)."""
    if isinstance(value, bool):
        raise RuleError(f"{key}: {value!r} is not a duration")
    ms: float | None = None
    if isinstance(value, int | float):
        if value < 0:
            raise RuleError(f"{key}: {value!r} is negative")
        ms = value * 1000
    elif isinstance(value, str):
        match = _DURATION.fullmatch(value)
        if match:
            ms = float(match[1]) * _UNIT_MS[match[2]]
    if ms is None:
        raise RuleError(f"{key}: {value!r} is not a duration (use 500ms, 5s, 2m, 1h or seconds)")
    if not ms <= MAX_DURATION_MS:  # also infinity and NaN
        raise RuleError(
            f"{key}: {value!r} is longer than 100 years (876000h); for a phase that never ends "
            "use outcome HANG or mode manual"
        )
    return round(ms)


def format_duration_ms(ms: int) -> str:
    """A duration as `parse_duration_ms` reads it, in the largest unit that divides it."""
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms >= size and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


@record
class OutcomePlan:
    """SUCCESS / FAILED / HANG, a sequence (one per job, the last repeating), or a rate."""

    fixed: Outcome | None = Outcome.SUCCESS
    sequence: tuple[Outcome, ...] = ()
    failure_rate: float | None = None

    @classmethod
    def read(cls, value: Any, key: str = "outcome") -> OutcomePlan:
        if isinstance(value, str):
            return cls(fixed=_outcome(value, key))
        if isinstance(value, list | tuple) and value:
            return cls(fixed=None, sequence=tuple(_outcome(v, key) for v in value))
        if isinstance(value, Mapping) and len(value) == 1:
            ((name, rate),) = value.items()
            if _outcome(name, key) is not Outcome.FAILED:
                raise RuleError(f"{key}: only a FAILED rate is supported, got {name!r}")
            if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
                raise RuleError(f"{key}: the rate {rate!r} is not between 0 and 1")
            return cls(fixed=None, failure_rate=float(rate))
        raise RuleError(
            f"{key}: {value!r} is not SUCCESS, FAILED, HANG, a list of them, or {{FAILED: rate}}"
        )

    def choose(self, seed: int, kind: JobKind, ordinal: int) -> Outcome:
        """The outcome of the `ordinal`-th job of `kind` (1-based), deterministically."""
        if self.fixed is not None:
            return self.fixed
        if self.sequence:
            return self.sequence[min(ordinal, len(self.sequence)) - 1]
        draw = random.Random(f"{seed}:{kind.value}:{ordinal}").random()
        return Outcome.FAILED if draw < (self.failure_rate or 0.0) else Outcome.SUCCESS

    def to_json(self) -> Any:
        if self.fixed is not None:
            return self.fixed.value
        if self.sequence:
            return [o.value for o in self.sequence]
        return {"FAILED": self.failure_rate}


def _outcome(value: Any, key: str) -> Outcome:
    try:
        return Outcome(str(value).upper())
    except ValueError:
        raise RuleError(f"{key}: {value!r} is not SUCCESS, FAILED or HANG") from None


@record
class Progression:
    """The rule for one kind of job (or one job)."""

    mode: Mode = Mode.AUTO
    durations_ms: Mapping[str, int] = field(default_factory=dict)
    outcome: OutcomePlan = field(default_factory=OutcomePlan)
    reads_per_phase: int = 1  # poll mode: the read of a phase that moves the job on

    def duration_ms(self, kind: JobKind, phase: str) -> int | None:
        """How long `phase` lasts; None: until stepped (manual mode) or read (poll mode)."""
        if self.mode is Mode.MANUAL or self.mode is Mode.POLL:
            return None
        if self.mode is Mode.IMMEDIATE:
            return 0
        return self.durations_ms.get(phase, DEFAULT_DURATIONS_MS[kind].get(phase, 0))

    @classmethod
    def read(
        cls, kind: JobKind, spec: Mapping[str, Any], base: Progression | None = None
    ) -> Progression:
        """Read a rule as written in scenarios and control requests, over `base`."""
        rule = base or cls()
        durations = dict(rule.durations_ms)
        phases = {p.lower(): p for p in PHASES[kind]}
        for key, value in spec.items():
            if key == "mode":
                try:
                    rule = replace(rule, mode=Mode(value))
                except ValueError:
                    modes = ", ".join(m.value for m in Mode)
                    raise RuleError(f"mode: {value!r} is not one of {modes}") from None
            elif key == "outcome":
                rule = replace(rule, outcome=OutcomePlan.read(value))
            elif key == "reads_per_phase":
                rule = replace(rule, reads_per_phase=_reads(value))
            elif key in phases:
                durations[phases[key]] = parse_duration_ms(value, key)
            else:
                allowed = ", ".join(["mode", "outcome", "reads_per_phase", *phases])
                raise RuleError(f"{key}: not a key of a {kind.value} rule (allowed: {allowed})")
        return replace(rule, durations_ms=durations)

    def to_json(self, kind: JobKind) -> dict[str, Any]:
        body: dict[str, Any] = {"mode": self.mode.value}
        for phase in PHASES[kind]:
            body[phase.lower()] = self.duration_ms_raw(kind, phase) / 1000
        body["outcome"] = self.outcome.to_json()
        if self.mode is Mode.POLL:
            body["reads_per_phase"] = self.reads_per_phase
        return body

    def duration_ms_raw(self, kind: JobKind, phase: str) -> int:
        return self.durations_ms.get(phase, DEFAULT_DURATIONS_MS[kind].get(phase, 0))


def _reads(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleError(f"reads_per_phase: {value!r} is not a whole number")
    if not 1 <= value <= MAX_READS_PER_PHASE:
        raise RuleError(f"reads_per_phase: {value!r} is not between 1 and {MAX_READS_PER_PHASE}")
    return value
