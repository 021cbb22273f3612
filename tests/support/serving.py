"""Starting `bre serve` as a user does, for the tests of the server, its limits and its workers.

`serve(...)` runs `python -m engine serve --port 0 ...` and reads its ready line; the process is
stopped (SIGTERM, then SIGKILL) when the `with` block ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from engine.load.servers import children
from engine.ready import read_ready
from tests.support.http import API, TOKEN

__all__ = ["Served", "bre", "children", "serve"]


@dataclass(frozen=True, slots=True)
class Served:
    process: subprocess.Popen[str]
    url: str
    fields: dict[str, str]  # the key=value pairs of the ready line (token, admin, workers ...)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


def bre(*args: str) -> list[str]:
    return [sys.executable, "-m", "engine", *args]


@contextmanager
def serve(*args: str, timeout_s: float = 30.0) -> Iterator[Served]:
    process = subprocess.Popen(
        bre("serve", "--port", "0", "--log-level", "WARNING", "--log-format", "json", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("ready: "):
        process.kill()
        _, errors = process.communicate(timeout=timeout_s)
        raise AssertionError(f"bre serve did not start: {line!r}\n{errors[-3000:]}")
    ready = read_ready(line.strip())
    assert ready is not None
    try:
        yield Served(process, ready.url, ready.pairs)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
        process.communicate(timeout=timeout_s)


def create_backups(served: Served, count: int) -> list[int]:
    """`count` CONFIG backups, each on a new connection (the kernel spreads those over the
    processes of `--workers N`), each answered 201: their ids, sorted."""
    created = [
        httpx.post(
            f"{served.url}{API}/backups",
            headers={"SEC": TOKEN, "backup_type": "CONFIG"},
            json={"name": f"b{i}", "configuration_id": 1},
        )
        for i in range(count)
    ]
    assert [c.status_code for c in created] == [201] * count
    return sorted(c.json()["id"] for c in created)
