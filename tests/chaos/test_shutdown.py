"""SIGTERM and SIGINT end `bre serve` within its bound (10 s), whatever the engine is doing, and
without a traceback: idle, in the middle of a burst of writes, while the writer waits for a lock
another process holds, while the disk is full, after a job faulted, and, with a unit of work
that never returns, by the watchdog.

Regression (issue 9, point 1): after one job's write failed, SIGTERM printed an ExceptionGroup
and the process never exited (seen alive 15 minutes later).
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.chaos import Served, assert_no_traceback, fill, signals
from tests.support.http import API

pytestmark = pytest.mark.chaos

HERE = Path(__file__).resolve().parent
GUARD_S = 30  # against a hang, not a measurement
BACKUP = {"headers": {"backup_type": "CONFIG"}}
RESTORE = {"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"]}


def backup_names(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM backups")}
    conn.close()
    return names


def until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + GUARD_S
    while not check():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.02)


@pytest.mark.parametrize("signum", signals())
def test_a_signal_when_idle_ends_it_cleanly(
    tmp_path: Path, serve: Callable[..., Served], signum: signal.Signals
) -> None:
    served = serve(str(tmp_path / "bre.db"))
    assert served.stop(signum) == 0
    assert [e["signal"] for e in served.events("shutdown_requested")] == [signum.name]
    assert served.events("simulator_stopped")
    assert_no_traceback(served.stderr())


def test_sigterm_during_a_burst_of_writes_keeps_every_acknowledged_record(
    tmp_path: Path, serve: Callable[..., Served]
) -> None:
    config = tmp_path / "bre.yaml"
    config.write_text("rules: {backup: {mode: immediate}}\n")  # each create ends in its unit
    db = tmp_path / "bre.db"
    served = serve(str(db), "--config", str(config))
    acknowledged: list[str] = []
    stopping = threading.Event()

    def write(client_no: int) -> None:
        with served.client() as client:
            for n in range(100_000):
                if stopping.is_set():
                    return
                name = f"burst_{client_no}_{n}"
                try:
                    answer = client.post(f"{API}/backups", **BACKUP,
                                         json={"name": name, "configuration_id": 1})  # fmt: skip
                except httpx.HTTPError:
                    return  # the server stopped accepting
                if answer.status_code == 201:
                    acknowledged.append(name)

    writers = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for writer in writers:
        writer.start()
    try:
        until(lambda: len(acknowledged) >= 40)
        assert served.stop() == 0
    finally:
        stopping.set()
        for writer in writers:
            writer.join(GUARD_S)
    assert set(acknowledged) <= backup_names(db)
    assert_no_traceback(served.stderr())


def test_sigterm_while_the_writer_waits_for_a_lock_another_process_holds(
    tmp_path: Path, serve: Callable[..., Served]
) -> None:
    db = tmp_path / "bre.db"
    served = serve(str(db))
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's write lock, held throughout
    outcome: list[object] = []

    def post() -> None:
        with served.client() as client:
            body = {"name": "while_locked", "configuration_id": 1}
            try:
                outcome.append(client.post(f"{API}/backups", **BACKUP, json=body).status_code)
            except httpx.HTTPError as error:
                outcome.append(error)

    poster = threading.Thread(target=post)
    poster.start()
    try:
        time.sleep(0.5)  # lets the request reach the writer (the test holds either way)
        assert served.stop() == 0
        poster.join(GUARD_S)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert outcome
    assert outcome[0] != 201  # nothing acknowledged that was not written
    assert "while_locked" not in backup_names(db)
    assert_no_traceback(served.stderr())


def test_sigterm_while_the_disk_is_full_and_the_worker_waits_for_space(
    small_disk: Path, serve: Callable[..., Served]
) -> None:
    served = serve(str(small_disk / "bre.db"))
    with served.client() as client:
        created = client.post(
            f"{API}/restores", json={"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"]}
        )
        rid = created.json()["id"]
        client.post(f"{API}/restores/{rid}", json={"status": "REQUESTING"})  # ends in 1 s
        fill(small_disk)
        until(lambda: client.get("/simulator/ready").status_code == 503)
    until(lambda: bool(served.events("worker_waiting_for_storage")))
    assert served.stop() == 0
    assert_no_traceback(served.stderr())


def test_sigterm_after_a_job_faulted_ends_it_cleanly(
    tmp_path: Path, serve: Callable[..., Served]
) -> None:
    """Over HTTP: a job whose next phase cannot be built (`faulty_server.py`), then SIGTERM."""
    script = [sys.executable, str(Path(__file__).with_name("faulty_server.py")), "serve"]
    served = serve(str(tmp_path / "bre.db"), "--clock", "virtual", script=script)
    control = "/simulator/consoles/default/control"
    with served.client() as client:
        rid = client.post(f"{API}/restores", json=RESTORE).json()["id"]
        client.post(f"{API}/restores/{rid}", json={"status": "REQUESTING"})
        assert client.post(control, json={"advance": "10s"}).is_success
        until(lambda: client.get(f"{API}/restores/{rid}").json()["status"] == "FAILED")
        history = client.get("/simulator/consoles/default/history").json()
        assert history[-1]["event"] == "fault"
        assert (history[-1]["from"], history[-1]["to"]) == ("INITIALIZING", "FAILED")
        assert client.get("/simulator/ready").json() == {"ready": True}
        # the engine goes on: a new restore is accepted
        again = client.post(
            f"{API}/restores", json={"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"]}
        )
        assert again.status_code == 201, again.text
    assert [e["id"] for e in served.events("job_faulted")] == [rid]
    assert served.stop() == 0
    assert "ExceptionGroup" not in served.stderr()


def test_a_unit_that_never_returns_is_ended_by_the_watchdog(
    tmp_path: Path, serve: Callable[..., Served]
) -> None:
    stuck = tmp_path / "stuck"
    served = serve(
        str(tmp_path / "bre.db"),
        script=[sys.executable, str(HERE / "stuck_server.py"), "serve"],
        env={"BRE_TEST_BOUND_S": "2", "BRE_TEST_STUCK_FILE": str(stuck)},
    )

    def post() -> None:
        body = {"name": "stuck", "configuration_id": 1}
        with contextlib.suppress(httpx.HTTPError), served.client() as client:  # ended under it
            client.post(f"{API}/backups", **BACKUP, json=body)

    threading.Thread(target=post, daemon=True).start()
    until(stuck.exists)  # the unit spins on the event loop's thread from now on
    assert served.stop() == 1
    (forced,) = served.events("shutdown_forced")
    assert forced["reason"] == "2 s passed"


_BROKEN_LOG = """
import os, signal, time
from engine import server

class BrokenPipe:  # the logs' pipe closed by its reader (`bre serve 2>&1 | head -3`)
    def info(self, *args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")
    error = warning = info

server.log = BrokenPipe()
shutdown = server.Shutdown(1.0)
shutdown.start()
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(20)
print("still running")
"""


def test_sigterm_ends_the_process_when_its_log_pipe_is_closed() -> None:
    """Regression: a log line that cannot be written (the reader of the logs' pipe has gone)
    killed the signal thread before it armed the watchdog, and SIGTERM was ignored for good."""
    import subprocess

    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _BROKEN_LOG], capture_output=True, text=True, timeout=GUARD_S
    )
    assert "still running" not in done.stdout
    assert done.returncode != 0
    assert time.monotonic() - started < GUARD_S
