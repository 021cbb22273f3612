"""Helpers of the chaos suite (tests/chaos): real faults for a real `bre serve` process: a tmpfs
to fill, signals, and the process with its JSON log. Mounting a tmpfs needs root: where the
machine cannot, the tests that need one skip with the reason, except in CI (`CI` set), where
they fail instead, so they can never silently not run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from engine.ready import read_ready

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "chaos-token"
#: how long a test waits for a process the simulator promises to end within 10 s
#: (`engine.server.SHUTDOWN_BOUND_S`), with slack for a loaded machine: not a measurement
EXIT_WAIT_S = 20
READY_WAIT_S = 30


def mount_tmpfs(directory: Path, options: str) -> None:
    """`mount -t tmpfs -o OPTIONS tmpfs DIRECTORY`, or skip (fail in CI) where impossible."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(directory)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        problem = result.stderr.strip() if result.returncode else ""
    except OSError as error:
        problem = str(error)
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"CI must be able to mount a tmpfs (run as root): {problem}")
        pytest.skip(f"this machine cannot mount a tmpfs ({problem}); root can, and CI must")


def unmount(directory: Path) -> None:
    subprocess.run(["umount", "-l", str(directory)], capture_output=True, check=False)


def fill(directory: Path) -> Path:
    """Fill the file system of `directory` to the last byte; returns the filler file."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for size in (1 << 16, 1 << 12, 1 << 9, 1):
            block = b"\0" * size
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, block)
    finally:
        os.close(fd)
    assert os.statvfs(directory).f_bavail == 0
    return filler


async def eventually(check: Callable[[], bool], guard_s: float = 30) -> None:
    """Until `check()` holds: state that another task changes with no event to wait on (the
    store's health). The guard stops a hang; it is not a measurement."""
    with anyio.fail_after(guard_s):
        while not check():  # noqa: ASYNC110 - polled on purpose, as a user's probe would
            await anyio.sleep(0.02)


class Served:
    """A `bre serve` process on a free port: its URL, its stderr (JSON log lines), a client."""

    def __init__(self, db: str, *args: str, env: dict[str, str] | None = None,
                 log: Path, script: list[str] | None = None) -> None:  # fmt: skip
        command = script or [sys.executable, "-m", "engine", "serve"]
        self.log = log
        self._err = log.open("w")
        self.process = subprocess.Popen(
            [*command, "--port", "0", "--db", db, "--token", TOKEN, "--log-format", "json",
             *args],
            stdout=subprocess.PIPE, stderr=self._err, text=True, cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT), **(env or {})},
        )  # fmt: skip
        self.url = ""
        self.admin: str | None = None
        ready = threading.Event()
        self._reader = threading.Thread(target=self._read_stdout, args=(ready,), daemon=True)
        self._reader.start()
        if not ready.wait(READY_WAIT_S) or not self.url:
            self.kill()
            raise AssertionError(f"bre serve did not start:\n{self.stderr()}")

    def _read_stdout(self, ready: threading.Event) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            found = read_ready(line.strip())
            if found is not None and not self.url:
                self.url, self.admin = found.url, found.admin
                ready.set()
        ready.set()

    def client(self, token: str = TOKEN) -> httpx.Client:
        """A client with the console's SEC token and the control surface's admin credential."""
        headers = {"SEC": token}
        if self.admin:
            headers["Authorization"] = f"Bearer {self.admin}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def stderr(self) -> str:
        self._err.flush()
        return self.log.read_text()

    def events(self, name: str) -> list[dict[str, Any]]:
        """The JSON log events of that name the server wrote so far."""
        found = []
        for line in self.stderr().splitlines():
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict) and event.get("event") == name:
                    found.append(event)
        return found

    def stop(self, signum: signal.Signals = signal.SIGTERM) -> int:
        """Send a signal; the exit status (fails the test if the process does not end)."""
        self.process.send_signal(signum)
        try:
            return self.process.wait(EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"bre serve still alive after {signum.name}:\n{self.stderr()[-3000:]}"
            ) from None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(EXIT_WAIT_S)

    def close(self) -> None:
        self.kill()
        self._reader.join(EXIT_WAIT_S)  # EOF once the process has ended
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._err.close()


def assert_no_traceback(text: str) -> None:
    assert "Traceback" not in text, text[-3000:]
    assert "ExceptionGroup" not in text, text[-3000:]


def signals() -> list[Any]:
    return [pytest.param(s, id=s.name) for s in (signal.SIGTERM, signal.SIGINT)]
