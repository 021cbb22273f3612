"""A job: the engine's side of a record, what the worker needs and the API does not show."""

from __future__ import annotations

from typing import Any

from engine.core.enums import JobKind, Origin
from engine.core.frozen import record
from engine.core.progression import Outcome


@record
class Job:
    """The engine's side of a record: what the worker needs, not shown by the API."""

    kind: JobKind
    id: int
    status: str
    visible: bool = True
    origin: Origin = Origin.API
    due_at: int | None = None
    outcome: Outcome | None = None
    rule: dict[str, Any] | None = None  # a per-job progression rule, as written
    ordinal: int | None = None  # the n-th job of its kind on the console (for outcome plans)
    phase_since: int | None = None
