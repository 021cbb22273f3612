"""Two OS processes on one SQLite file: they start on a new file together, and they race for
the same gate and never both win.

The gate check runs inside the store's `BEGIN IMMEDIATE` transaction that records the start, so
it sees every commit of every process sharing the file. Each round, both children (each with
several concurrent tasks) try to create a CONFIG backup on host 53 at the same moment; exactly
one attempt may succeed, every other one gets 409/1015. Backups are held in manual mode so that
the winner still runs when the loser tries; the winner then steps it to SUCCESS, freeing host 53
for the next round.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from engine.core.enums import BackupStatus
from engine.simulator import Settings, Simulator

from .children import Child

ROUNDS = 60
TASKS_PER_CHILD = 4
OPEN_ROUNDS = 30


async def _create(db: str) -> None:
    async with Simulator(Settings(db=db, clock="real", rules={"backup": {"mode": "manual"}})):
        pass


async def _backups(db: str) -> list[tuple[str, str]]:
    async with Simulator(Settings(db=db, clock="real")) as sim:
        return [(b.name, b.status.value) for b in await sim.console().list_backups()]


def test_two_processes_never_both_hold_the_gate(tmp_path: Path) -> None:
    db = str(tmp_path / "race.db")
    asyncio.run(_create(db))  # the default console exists before either child attaches
    children = {
        role: Child("race_worker.py", db, role, log=tmp_path / f"{role}.log") for role in "ab"
    }
    wins: Counter[str] = Counter()
    try:
        assert {children[r].read()["ready"] for r in "ab"} == {"a", "b"}
        for round_no in range(ROUNDS):
            order = "ab" if round_no % 2 == 0 else "ba"
            for role in order:
                children[role].send(f"try {round_no} {TASKS_PER_CHILD}")
            results = {role: children[role].read() for role in order}
            won = [(role, bid) for role, r in results.items() for bid in r["won"]]
            codes = [code for r in results.values() for code in r["codes"]]
            assert len(won) == 1, f"round {round_no}: {won} all won"
            assert codes == [1015] * (2 * TASKS_PER_CHILD - 1), f"round {round_no}: {codes}"
            ((role, bid),) = won
            wins[role] += 1
            children[role].send(f"finish {bid}")
            assert children[role].read() == {"role": role, "finished": bid, "status": "SUCCESS"}
    finally:
        for child in children.values():
            child.close()
    assert sum(wins.values()) == ROUNDS
    for child in children.values():
        assert child.process.returncode == 0, child.stderr()
    stored = asyncio.run(_backups(db))
    ours = [(name, status) for name, status in stored if not name.startswith("nightly_")]
    assert len(ours) == ROUNDS
    assert {status for _, status in ours} == {BackupStatus.SUCCESS.value}


def test_two_processes_can_start_on_one_new_file_at_the_same_moment(tmp_path: Path) -> None:
    """Two simulators started together on a file that does not exist yet (two `bre serve` in
    one compose file): both start, and between them they create one default console."""
    children = {
        role: Child("open_worker.py", role, log=tmp_path / f"open-{role}.log") for role in "ab"
    }
    try:
        assert {children[r].read()["ready"] for r in "ab"} == {"a", "b"}
        for round_no in range(OPEN_ROUNDS):
            db = str(tmp_path / f"new-{round_no}.db")
            for role in "ab":
                children[role].send(f"open {db}")
            answers = [children[role].read() for role in "ab"]
            assert [a["ok"] for a in answers] == [True, True], f"round {round_no}: {answers}"
            # one default console between them: one restore, the other refused by it (1011)
            outcomes = sorted((a.get("restore", 0), a.get("refused", 0)) for a in answers)
            assert outcomes == [(0, 1011), (1, 0)], f"round {round_no}: {answers}"
    finally:
        for child in children.values():
            child.close()
