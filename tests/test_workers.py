"""`bre serve --workers N`: one command owns the port, runs N simulators on one database,
restarts one that dies, and stops them all on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.http import API, TOKEN
from tests.support.serving import bre, children, create_backups, serve

SEC = {"SEC": TOKEN}


def wait_until(condition: object, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_workers_share_one_port_and_one_database(tmp_path: Path) -> None:
    db = str(tmp_path / "shared.sqlite3")
    config = tmp_path / "bre.yaml"
    config.write_text("rules: {backup: {mode: immediate}}\n")  # no 1015 between the creates
    with serve("--workers", "2", "--clock", "real", "--db", db, "--config", str(config)) as served:
        assert served.fields["workers"] == "2"
        assert served.fields["token"] == TOKEN
        workers = children(served.process.pid)
        assert len(workers) == 2
        assert create_backups(served, 6) == list(range(4, 10))  # one id sequence: one database
        with httpx.Client(base_url=served.url, headers=SEC) as client:
            names = {b["name"] for b in client.get(f"{API}/backups").json()}
            assert {f"b{i}" for i in range(6)} <= names


def test_a_worker_that_dies_is_restarted(tmp_path: Path) -> None:
    db = str(tmp_path / "shared.sqlite3")
    with serve("--workers", "2", "--clock", "real", "--db", db) as served:
        before = children(served.process.pid)
        os.kill(before[0], signal.SIGKILL)
        wait_until(lambda: len(set(children(served.process.pid)) - {before[0]}) == 2)
        assert before[0] not in children(served.process.pid)
        for _ in range(4):
            assert httpx.get(f"{served.url}{API}/backups", headers=SEC).status_code == 200


def test_sigterm_stops_every_worker(tmp_path: Path) -> None:
    db = str(tmp_path / "shared.sqlite3")
    with serve("--workers", "3", "--clock", "real", "--db", db) as served:
        workers = children(served.process.pid)
        assert len(workers) == 3
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(15) == 0
        for pid in workers:
            wait_until(lambda pid=pid: not Path(f"/proc/{pid}").exists(), 5)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--clock", "virtual", "--db", "x.sqlite3"), "needs --clock real"),
        (("--clock", "real", "--db", ":memory:"), "needs a database the processes share"),
        (("--clock", "real", "--db", "memory:"), "needs a database the processes share"),
        (
            ("--clock", "real", "--db", "x.sqlite3", "--workers", "0"),
            "expected an integer from 1 to 64",
        ),
    ],
)
def test_workers_refuses_what_cannot_be_shared(
    tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    result = subprocess.run(
        bre("serve", "--port", "0", "--workers", "2", *args),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert says in result.stderr
