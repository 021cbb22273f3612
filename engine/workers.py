"""`bre serve --workers N`: one command owns the port and runs N simulator processes behind it.

The parent binds the listening socket once and starts N children, each a whole `bre serve` on
the shared database that accepts on the inherited socket (the kernel spreads connections over
them). It prints one ready line when every child is ready, restarts a child that dies (with a
growing pause if it keeps dying), and on SIGTERM or SIGINT stops them all: SIGTERM to each, a
bounded wait, then SIGKILL. This is the only way several processes share a port: a plain
`bre serve` on a port in use is an error (`engine.server.bind`).

Children start as `python -P -m engine serve ...` (`engine.launch`): `-P` keeps the current
directory off `sys.path`, so a project with its own `engine` package does not shadow this one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

import structlog

from engine import launch
from engine.server import Listen, bind
from engine.store.factory import HOST_PROCESSES

log = structlog.get_logger("server")

#: How long a stop waits for the children before it kills them.
STOP_TIMEOUT_S = 10.0
READY_TIMEOUT_S = 60.0


class WorkersError(RuntimeError):
    """A child that could not start; the message says which and what it printed."""


@dataclass(slots=True)
class _Child:
    index: int
    process: subprocess.Popen[str]
    started: float
    ready: threading.Event = field(default_factory=threading.Event)
    line: str = ""


def _drain(child: _Child, stream: IO[str]) -> None:
    """Read a child's stdout: its ready line, then whatever else, so the pipe never fills."""
    for line in stream:
        if not child.ready.is_set() and line.startswith("ready: "):
            child.line = line.strip()
            child.ready.set()
    child.ready.set()  # it exited: whoever waits stops waiting


def child_env(environ: Mapping[str, str], count: int) -> dict[str, str]:
    """A child's environment: the parent's, unbuffered, and how many simulator processes
    share this host (`HOST_PROCESSES`), from which a store sizes its threads."""
    return {**environ, "PYTHONUNBUFFERED": "1", HOST_PROCESSES: str(count)}


class Workers:
    """N `bre serve` children on one inherited socket, supervised."""

    def __init__(self, argv: Sequence[str], listen: Listen, count: int) -> None:
        self.argv = list(argv)  # the serve arguments, without --workers
        self.listen = listen
        self.count = count
        self.children: list[_Child] = []
        self.restarts = 0
        self._stopping = threading.Event()
        self._sock = bind(listen)
        self._sock.set_inheritable(True)

    def _spawn(self, index: int) -> _Child:
        fd = self._sock.fileno()
        command = launch.bre("serve", *self.argv, "--fd", str(fd))
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            pass_fds=(fd,),
            env=child_env(os.environ, self.count),
        )
        child = _Child(index, process, time.monotonic())
        assert process.stdout is not None
        threading.Thread(
            target=_drain, args=(child, process.stdout), name=f"worker-{index}-stdout", daemon=True
        ).start()
        return child

    def start(self) -> str:
        """Start every child and wait until each is ready; returns the ready line to print."""
        self.children = [self._spawn(i) for i in range(self.count)]
        deadline = time.monotonic() + READY_TIMEOUT_S
        for child in self.children:
            child.ready.wait(max(deadline - time.monotonic(), 0))
            if not child.line:
                self.stop()
                code = child.process.poll()
                raise WorkersError(
                    f"worker {child.index} did not start"
                    + (f" (exit code {code})" if code is not None else " in time")
                )
        return f"{self.children[0].line} workers={self.count}"

    def supervise(self, poll_s: float = 0.2) -> None:
        """Restart children that die until `stop`; a child that keeps dying waits longer."""
        pauses: dict[int, float] = {}
        while not self._stopping.wait(poll_s):
            for slot, child in enumerate(self.children):
                code = child.process.poll()
                if code is None or self._stopping.is_set():
                    continue
                lived = time.monotonic() - child.started
                pause = pauses.get(child.index, 0.0)
                pause = min(max(pause * 2, 0.1), 5.0) if lived < 5.0 else 0.0
                pauses[child.index] = pause
                log.warning(
                    "worker_exited",
                    worker=child.index,
                    pid=child.process.pid,
                    code=code,
                    restart_in_s=pause,
                )
                if self._stopping.wait(pause):
                    return
                self.children[slot] = self._spawn(child.index)
                self.restarts += 1

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM to every child, a bounded wait, then SIGKILL for those still running."""
        self._stopping.set()
        for child in self.children:
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for child in self.children:
            try:
                child.process.wait(max(deadline - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                log.warning("worker_killed", worker=child.index, pid=child.process.pid)
                child.process.kill()
                child.process.wait()
        self._sock.close()

    def pids(self) -> list[int]:
        return [c.process.pid for c in self.children]


def run(argv: Sequence[str], listen: Listen, count: int) -> int:
    """The parent of `bre serve --workers N`: start, print the ready line, supervise, stop."""
    workers = Workers(argv, listen, count)

    def on_signal(signum: int, frame: object) -> None:
        workers._stopping.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        try:
            line = workers.start()
        except WorkersError as error:
            print(f"bre: {error}", file=sys.stderr)
            return 1
        print(line, flush=True)
        log.info("workers_ready", count=count, pids=workers.pids())
        workers.supervise()
    finally:
        workers.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0
