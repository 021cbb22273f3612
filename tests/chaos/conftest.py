"""The chaos suite: the engine under the faults a user meets (marker `chaos`, run by `make test`).

Real faults, not doubles: a disk that fills up is a small tmpfs mounted for the test, a lock
held by another process is another SQLite connection, a signal is a signal to a real `bre
serve` process, a damaged file is a file whose pages were overwritten. Faults that cannot be
made for real (a bug in a job's step) are injected at the one place the brief names.

Mounting a tmpfs needs root: where the machine cannot, the tests that need one skip with the
reason, except in CI (`CI` set), where they fail instead, so they can never silently not run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.chaos import Served, mount_tmpfs, unmount


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A directory on a 4 MiB tmpfs of its own: a disk the test can fill."""
    directory = tmp_path / "disk"
    mount_tmpfs(directory, "size=4m")
    try:
        yield directory
    finally:
        unmount(directory)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start `bre serve` processes; every one still running at the end is killed."""
    started: list[Served] = []

    def start(db: str, *args: str, **options: Any) -> Served:
        served = Served(db, *args, log=tmp_path / f"serve-{len(started)}.log", **options)
        started.append(served)
        return served

    yield start
    for served in started:
        served.close()
