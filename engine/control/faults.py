"""Fault and latency rules on endpoints, toggled at run time (the control surface's `fault`).

A rule matches a method and a path (exact, with `{id}`-style placeholders, or `*` for any
segment); it answers with a QRadar error of the catalogue (the endpoint's own entry for that
code when there is one) for its next `times` requests, and/or delays them by `latency_ms`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_PLACEHOLDER = re.compile(r"\\\{[^/]*?\\\}|\\\*")


class FaultError(ValueError):
    """A fault rule that cannot be read; the message names the key."""


@dataclass(slots=True)
class Fault:
    method: str
    path: str
    status: int | None = None
    code: int | None = None
    message: str | None = None
    times: int | None = 1  # None: until cleared
    latency_ms: int = 0
    hits: int = 0
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._pattern = re.compile(_PLACEHOLDER.sub("[^/]+", re.escape(self.path)) + "/?")

    def matches(self, method: str, path: str) -> bool:
        if self.method not in ("*", method):
            return False
        return self._pattern.fullmatch(path) is not None

    @property
    def spent(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "status": self.status,
                "code": self.code, "message": self.message, "times": self.times,
                "latency_ms": self.latency_ms, "hits": self.hits}  # fmt: skip


_KEYS = ("method", "path", "status", "code", "message", "times", "latency", "latency_ms")


def read_fault(spec: Any) -> Fault:
    if not isinstance(spec, Mapping):
        raise FaultError("fault: expected a mapping")
    for key in spec:
        if key not in _KEYS:
            raise FaultError(f"fault.{key}: unknown key (allowed: {', '.join(_KEYS)})")
    path = spec.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise FaultError("fault.path: expected a path such as /api/backup_and_restore/backups")
    status = spec.get("status")
    if status is not None and (not isinstance(status, int) or not 400 <= status <= 599):
        raise FaultError(f"fault.status: {status!r} is not an HTTP error status")
    code = spec.get("code")
    if code is not None and (isinstance(code, bool) or not isinstance(code, int)):
        raise FaultError(f"fault.code: {code!r} is not an integer")
    times = spec.get("times", 1)
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise FaultError(f"fault.times: {times!r} is not a positive integer (or null: always)")
    latency = spec.get("latency_ms", 0)
    if "latency" in spec:
        from engine.core.progression import RuleError, parse_duration_ms

        try:
            latency = parse_duration_ms(spec["latency"], "fault.latency")
        except RuleError as error:
            raise FaultError(str(error)) from None
    if isinstance(latency, bool) or not isinstance(latency, int) or latency < 0:
        raise FaultError(f"fault.latency_ms: {latency!r} is not a non-negative integer")
    if status is None and latency == 0:
        raise FaultError("fault: give a status (with an optional code), a latency, or both")
    return Fault(
        method=str(spec.get("method", "*")).upper(), path=path, status=status, code=code,
        message=spec.get("message"), times=times, latency_ms=latency,
    )  # fmt: skip


class FaultTable:
    """The fault rules of one console; the first live match applies."""

    def __init__(self) -> None:
        self.rules: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self.rules.append(fault)

    def clear(self) -> None:
        self.rules.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The matching rule, counted as used; spent rules are dropped."""
        if not self.rules:
            return None
        for fault in self.rules:
            if not fault.spent and fault.matches(method, path):
                fault.hits += 1
                self.rules = [f for f in self.rules if not f.spent]
                return fault
        return None
