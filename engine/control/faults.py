"""Fault and latency rules on endpoints, toggled at run time (the control surface's `fault`).

A rule matches a method and a path (exact, with `{id}`-style placeholders, or `*` for any
segment); it answers with a QRadar error of the catalogue (the endpoint's own entry for that
code when there is one) for its next `times` requests, and/or delays them by `latency_ms`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from engine.control.schema import (
    ControlError,
    Duration,
    Integer,
    Nullable,
    Obj,
    Text,
    child,
)
from engine.core.progression import MAX_DURATION_MS

_PLACEHOLDER = re.compile(r"\\\{[^/]*?\\\}|\\\*")


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
        return {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "times": self.times,
            "latency_ms": self.latency_ms,
            "hits": self.hits,
        }


def _status_or_latency(data: dict[str, Any], path: str) -> None:
    if "status" not in data and not data.get("latency", data.get("latency_ms", 0)):
        raise ControlError(path, "give a status (with an optional code), a latency, or both")
    if "latency" in data and "latency_ms" in data:
        raise ControlError(child(path, "latency_ms"), "give latency or latency_ms, not both")


def _fault(data: dict[str, Any], path: str) -> Fault:
    return Fault(
        method=data.get("method", "*").upper(),
        path=data["path"],
        status=data.get("status"),
        code=data.get("code"),
        message=data.get("message"),
        times=data.get("times", 1),
        latency_ms=data.get("latency", data.get("latency_ms", 0)),
    )


FAULT = Obj(
    {
        "method": Text(
            max_length=16,
            pattern=r"^([A-Za-z]+|\*)$",
            meaning="a method or *",
            description="The method it applies to (default: any).",
        ),
        "path": Text(
            min_length=1,
            pattern=r"^/[^\x00-\x1f\x7f]*$",
            meaning="a path such as /api/...",
            description="Exact, with {id}-style placeholders, or * for a segment.",
        ),
        "status": Integer(400, 599, description="The HTTP error status to answer."),
        "code": Integer(description="The unique code (the endpoint's own entry if it has one)."),
        "message": Nullable(Text()),
        "times": Nullable(Integer(1), description="How many requests (default 1; null: all)."),
        "latency": Duration(description="Delay the matching requests."),
        "latency_ms": Integer(0, MAX_DURATION_MS),
    },
    required=("path",),
    check=_status_or_latency,
    build=_fault,
    description="A fault and/or latency rule on endpoints of the console.",
)


def read_fault(spec: Any, path: str = "fault") -> Fault:
    fault: Fault = FAULT.read(spec, path)
    return fault


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
