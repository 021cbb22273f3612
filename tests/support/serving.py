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

from engine.load.servers import children
from engine.ready import read_ready

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
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
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
