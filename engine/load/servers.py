"""`bre serve` processes started by a load run (or a benchmark) and stopped after it.

Several processes share one port under one `bre serve --workers N` (its parent owns the port,
the kernel spreads connections over its children) or listen on a port each; they share one
SQLite file, which is what keeps the gate one gate across them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from engine import launch
from engine.core.credentials import new_secret
from engine.ready import read_ready


class ServerError(RuntimeError):
    """A server that did not start, with what it printed."""


@dataclass(slots=True)
class Server:
    """One `bre serve` process."""

    process: subprocess.Popen[bytes]
    url: str
    token: str
    log: Path
    admin_token: str | None = None  # the control surface's credential (from the ready line)

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_kib(self) -> int | None:
        return rss_kib(self.pid)


def rss_kib(pid: int) -> int | None:
    """VmRSS of a process in KiB (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    """The child processes of `pid` (Linux): the workers of `bre serve --workers N`."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as file:
                found.extend(int(p) for p in file.read().split())
        except OSError:
            continue
    return found


def start_server(
    *, db: str, port: int = 0, host: str = "127.0.0.1", token: str = "bre-load-token",
    cpu: int | None = None, log: Path, timeout_s: float = 30.0, extra: tuple[str, ...] = (),
    admin_token: str | None = None,
) -> Server:  # fmt: skip
    """Start `bre serve` (`engine.launch`) and wait for its `ready:` line. `admin_token` (handed
    over in the environment, not on the command line where `ps` shows it) is the control
    surface's credential: processes sharing a port must share it."""
    command = [
        *launch.bre("serve"), "--host", host, "--port", str(port), "--db", db, "--token", token,
        "--log-level", "WARNING", "--log-format", "json", *extra,
    ]  # fmt: skip
    if cpu is not None:
        command += ["--cpu", str(cpu)]
    errors = log.open("wb")
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1",
             **({"BRE_ADMIN_TOKEN": admin_token} if admin_token else {})},
    )  # fmt: skip
    errors.close()
    assert process.stdout is not None
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout_s)
    text = line[0].decode(errors="replace").strip() if line else ""
    ready = read_ready(text)
    if ready is None:
        stop(process)
        raise ServerError(
            f"`bre serve` did not start (got {text!r}); its log: {log.read_text()[-2000:]}"
        )
    # The server prints nothing else on stdout: leaving the pipe unread cannot block it.
    return Server(process, ready.url, token, log, ready.admin)


def stop(process: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


@dataclass(slots=True)
class Servers:
    """N serving processes on one SQLite file: one port (`--workers N`) or a port each."""

    count: int
    db: str
    directory: Path
    shared_port: bool = True
    token: str = "bre-load-token"
    cpu: int | None = None
    port: int = 0  # 0: free ports; else the shared port, or the first of a port each
    servers: list[Server] = field(default_factory=list)
    #: one admin credential for all: a control request may reach any of them
    admin_token: str = field(default_factory=new_secret)

    def start(self) -> list[Server]:
        one_port = self.shared_port and self.count > 1
        for i in range(1 if one_port else self.count):
            self.servers.append(
                start_server(
                    db=self.db,
                    port=self.port + i if self.port else 0,
                    token=self.token,
                    cpu=self.cpu,
                    log=self.directory / ("serve.log" if one_port else f"serve-{i}.log"),
                    extra=("--workers", str(self.count)) if one_port else (),
                    admin_token=self.admin_token,
                )
            )
        return self.servers

    @property
    def urls(self) -> list[str]:
        return sorted({s.url for s in self.servers})

    def processes(self) -> list[tuple[int, str]]:
        """(pid, url) of every process that serves requests: a `--workers` parent's children."""
        return [(pid, s.url) for s in self.servers for pid in (children(s.pid) or [s.pid])]

    def exited(self) -> list[int]:
        """Pids of serving processes that exited during the run (a crash is a failed run),
        including workers that their parent restarted."""
        gone = [s.pid for s in self.servers if s.process.poll() is not None]
        for server in self.servers:
            text = server.log.read_text(errors="replace") if server.log.exists() else ""
            for line in text.splitlines():  # JSON log lines (`--log-format json`)
                if '"worker_exited"' in line:
                    with contextlib.suppress(ValueError):
                        gone.append(int(json.loads(line)["pid"]))
        return sorted(set(gone))

    def stop(self) -> None:
        for server in self.servers:
            stop(server.process)

    def logs(self) -> str:
        parts = []
        for server in self.servers:
            text = server.log.read_text(errors="replace") if server.log.exists() else ""
            if text.strip():
                parts.append(f"--- server {server.pid} ---\n{text[-4000:]}")
        return "\n".join(parts)
