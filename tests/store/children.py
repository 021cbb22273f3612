"""Child processes for the store tests: start a script of this folder, talk JSON lines to it."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TIMEOUT_S = 20


class Child:
    """A Python script of this folder run in its own process; stdout is read as JSON lines."""

    def __init__(self, script: str, *args: str, log: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / script), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=ROOT,
            env=env,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        stdout = self.process.stdout
        self._reader = threading.Thread(target=self._read, args=(stdout,), daemon=True)
        self._reader.start()

    def _read(self, stdout: Any) -> None:
        for line in stdout:
            self._lines.put(line)
        self._lines.put("")

    def read(self, timeout: float = TIMEOUT_S) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no answer within {timeout} s; {self.stderr()}") from None
        if not line:
            raise AssertionError(f"the child exited ({self.process.poll()}); {self.stderr()}")
        result: dict[str, Any] = json.loads(line)
        return result

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind runs in the child."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(TIMEOUT_S)
        assert self.process.returncode == -signal.SIGKILL

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.send("quit")
                self.process.wait(TIMEOUT_S)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        self._reader.join(TIMEOUT_S)  # EOF once the child has exited
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self._log.close()

    def stderr(self) -> str:
        self._log.flush()
        return Path(self._log.name).read_text()[-2000:]
