"""What each job of a console went through: its statuses with the console-clock instant each
began, for the web page's timeline (`engine.web`).

Fed from the transitions a unit fired (after its commit) and from the creation of a restore,
which fires none (it is created PENDING). Bounded: the jobs changed longest
ago are forgotten first, so a console that ran a million jobs keeps the last `limit`. A job's
statuses are kept as one flat tuple of strings and numbers (status, since, status, since, ...):
one object per job, where a pair per status made the garbage collector run more often (every
object that outlives a turn counts towards its next collection), and untracked by it.
"""

from __future__ import annotations

from typing import Any

#: one job's statuses, oldest first: (status, since_ms)
Steps = tuple[tuple[str, int], ...]

PHASE_JOBS = 200  # jobs remembered per console (two pages of the timeline: docs/decisions.md)


class Phases:
    """The statuses of the last `limit` jobs changed; `version` counts changes (a cheap way for
    a reader to see that something moved)."""

    __slots__ = ("_external", "_jobs", "limit", "version")

    def __init__(self, limit: int = PHASE_JOBS) -> None:
        self._jobs: dict[tuple[str, int], tuple[Any, ...]] = {}  # flat: status, since, ...
        self._external: set[tuple[str, int]] = set()
        self.limit = limit
        self.version = 0

    def record(
        self, kind: str, id: int, status: str, at_ms: int, external: bool = False,
        *, first: bool = False,
    ) -> None:  # fmt: skip
        """A status begun at `at_ms`; `first`: the creation, put before what the same unit of
        work fired."""
        key = (kind, id)
        jobs = self._jobs
        known = jobs.pop(key, ())  # re-inserted below: the newest changed
        jobs[key] = (status, at_ms, *known) if first else (*known, status, at_ms)
        if external:
            self._external.add(key)
        if len(jobs) > self.limit:
            oldest = next(iter(jobs))
            del jobs[oldest]
            self._external.discard(oldest)
        self.version += 1

    def of(self, kind: str, id: int) -> Steps:
        return _steps(self._jobs.get((kind, id), ()))

    def external(self, kind: str, id: int) -> bool:
        """Started from the console's UI, not through the API."""
        return (kind, id) in self._external

    def jobs(self) -> dict[tuple[str, int], Steps]:
        """A copy: (kind, id) -> statuses, least recently changed first."""
        return {key: _steps(flat) for key, flat in self._jobs.items()}

    def clear(self) -> None:
        """A new world: record ids start again at 1."""
        self._jobs.clear()
        self._external.clear()
        self.version += 1

    def __len__(self) -> int:
        return len(self._jobs)


def _steps(flat: tuple[Any, ...]) -> Steps:
    """A job's statuses as pairs, from its flat tuple."""
    return tuple(zip(flat[::2], flat[1::2], strict=True))
