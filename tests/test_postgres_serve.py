"""Several `bre serve` processes on one PostgreSQL database, each on its own port (as on several
hosts): the gate holds between them, a restore moves through any of them, and a job whose
process is killed is finished by another.

Clients are spread over the processes round robin; every answer is checked, a 5xx fails the
test. The processes run on the real clock (a virtual clock is one process's).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.serving import Served, children, create_backups, serve

API = "/api/backup_and_restore"
SEC = {"SEC": "bre-sim-token"}
ADMIN = "postgres-serve-admin-token-0123456789"
ROUNDS = 50
CLIENTS = 100


@contextmanager
def processes(
    count: int, pg_url: str, config: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[Served]]:
    """`count` separate `bre serve` commands on one database, each on its own port."""
    monkeypatch.setenv("BRE_ADMIN_TOKEN", ADMIN)  # one control credential for all of them
    args = ("--clock", "real", "--db", pg_url, "--config", str(config))
    with ExitStack() as stack:
        yield [
            # keep-alive past the longest round on a loaded machine: a connection the server
            # closes as idle just as the client reuses it is a ReadError of the client's
            stack.enter_context(serve(*args, "--keep-alive", "120"))
            for _ in range(count)
        ]


def _config(tmp_path: Path, rules: str) -> Path:
    path = tmp_path / "bre.yaml"
    path.write_text(f"rules: {rules}\nscan_interval_s: 0.2\n")
    return path


async def _step(client: httpx.AsyncClient, kind: str, id: int) -> None:
    answer = await client.post(
        "/simulator/consoles/default/control",
        headers={"Authorization": f"Bearer {ADMIN}"},
        json={"step": {"kind": kind, "id": id}},
    )
    assert answer.status_code == 200, answer.text


async def _race(urls: list[str]) -> tuple[Counter[int], list[int]]:
    """ROUNDS rounds of CLIENTS clients creating a CONFIG backup on host 53 through every
    process; the winner is stepped to SUCCESS through another process, freeing the host."""
    clients = [httpx.AsyncClient(base_url=u, headers=SEC, timeout=30) for u in urls]
    statuses: Counter[int] = Counter()
    winners: list[int] = []
    try:
        for round_no in range(ROUNDS):

            async def create(i: int, round_no: int = round_no) -> httpx.Response:
                return await clients[i % len(clients)].post(
                    f"{API}/backups", headers={"backup_type": "CONFIG"},
                    json={"name": f"r{round_no}_{i}", "configuration_id": 1},
                )  # fmt: skip

            answers = await asyncio.gather(*(create(i) for i in range(CLIENTS)))
            statuses.update(a.status_code for a in answers)
            won = [a.json()["id"] for a in answers if a.status_code == 201]
            lost = [a.json()["code"] for a in answers if a.status_code == 409]
            assert len(won) == 1, f"round {round_no}: {len(won)} winners"
            assert lost == [1015] * (CLIENTS - 1), f"round {round_no}: {Counter(lost)}"
            winners.extend(won)
            other = clients[(round_no + 1) % len(clients)]
            for _ in range(2):  # INITIALIZING -> IN_PROGRESS -> SUCCESS
                await _step(other, "backup", won[0])
            done = await clients[round_no % len(clients)].get(f"{API}/backups/{won[0]}")
            assert done.json()["status"] == "SUCCESS"
    finally:
        for client in clients:
            await client.aclose()
    return statuses, winners


@pytest.mark.slow
@pytest.mark.parametrize("count", [2, 4])
def test_a_race_over_several_processes_has_one_winner_per_round(
    count: int, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, "{backup: {mode: manual}}")
    with processes(count, pg_url, config, monkeypatch) as served:
        statuses, winners = asyncio.run(_race([s.url for s in served]))
    assert statuses == Counter({201: ROUNDS, 409: ROUNDS * (CLIENTS - 1)})  # no 5xx
    assert len(set(winners)) == ROUNDS


async def _restore_through_all(urls: list[str]) -> list[str]:
    clients = [httpx.AsyncClient(base_url=u, headers=SEC, timeout=30) for u in urls]
    seen: list[str] = []
    try:
        created = await clients[0].post(
            f"{API}/restores", json={"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"]}
        )
        assert created.status_code == 201, created.text
        rid = created.json()["id"]
        read = await clients[1].get(f"{API}/restores/{rid}")
        assert read.json()["status"] == "PENDING"
        requested = await clients[1].post(f"{API}/restores/{rid}", json={"status": "REQUESTING"})
        assert requested.status_code == 200, requested.text
        for i in range(3):  # REQUESTING -> INITIALIZING -> IN_PROGRESS -> SUCCESS
            await _step(clients[(2 + i) % len(clients)], "restore", rid)
            answers = [await c.get(f"{API}/restores/{rid}") for c in clients]
            states = {a.json()["status"] for a in answers}
            assert len(states) == 1, states  # every process reads the same record
            seen.extend(states)
    finally:
        for client in clients:
            await client.aclose()
    return seen


@pytest.mark.slow
def test_a_restore_moves_through_every_process(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, "{restore: {mode: manual}}")
    with processes(4, pg_url, config, monkeypatch) as served:
        seen = asyncio.run(_restore_through_all([s.url for s in served]))
    assert seen == ["INITIALIZING", "IN_PROGRESS", "SUCCESS"]


def _poll(client: httpx.Client, rid: int, wanted: str, timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        body: dict[str, Any] = client.get(f"{API}/restores/{rid}").json()
        if body["status"] == wanted or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


@pytest.mark.slow
def test_a_job_whose_process_is_killed_is_finished_by_another(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(
        tmp_path, "{restore: {requesting: 0.2s, initializing: 0.2s, in_progress: 1.5s}}"
    )
    with processes(2, pg_url, config, monkeypatch) as (first, second):
        with httpx.Client(base_url=first.url, headers=SEC) as client:
            created = client.post(
                f"{API}/restores", json={"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"]}
            ).json()
            rid = created["id"]
            client.post(f"{API}/restores/{rid}", json={"status": "REQUESTING"})
            assert _poll(client, rid, "IN_PROGRESS")["status"] == "IN_PROGRESS"
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(10)
        with httpx.Client(base_url=second.url, headers=SEC) as client:
            finished = _poll(client, rid, "SUCCESS")
            assert finished["status"] == "SUCCESS"
            assert finished["time_completed"] is not None
            listed = client.get(f"{API}/restores").json()
            assert [r["id"] for r in listed] == [rid]  # nothing acknowledged lost


def test_workers_share_a_postgresql_database(pg_url: str, tmp_path: Path) -> None:
    """`bre serve --workers 2` on PostgreSQL: one port, two processes, one id sequence."""
    config = _config(tmp_path, "{backup: {mode: immediate}}")  # no 1015 between creates
    with serve(
        "--workers", "2", "--clock", "real", "--db", pg_url, "--config", str(config)
    ) as served:
        assert len(children(served.process.pid)) == 2
        assert create_backups(served, 6) == list(range(4, 10))  # one sequence


def test_workers_share_one_virtual_clock_on_postgresql(pg_url: str) -> None:
    """`--workers 2 --clock virtual` on PostgreSQL: the clock moved through one process is the
    clock of both (each new connection may reach either)."""
    epoch = 1_767_225_600_000
    with serve("--workers", "2", "--clock", "virtual", "--db", pg_url) as served:
        admin = {"Authorization": f"Bearer {served.fields['admin']}"}
        clock = f"{served.url}/simulator/consoles/default/clock"
        moved = httpx.post(clock, headers=admin, json={"advance": "60s"})
        assert moved.status_code == 200, moved.text
        assert moved.json()["now_ms"] == epoch + 60_000
        deadline = time.monotonic() + 10
        while True:  # new connections: the kernel spreads them over both processes
            seen = {httpx.get(clock, headers=admin).json()["now_ms"] for _ in range(10)}
            if seen == {epoch + 60_000} or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert seen == {epoch + 60_000}
