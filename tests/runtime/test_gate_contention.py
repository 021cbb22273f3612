"""The gate under contention: many tasks race to start a job on one console, round after round.

Each round, 200 tasks race: half request the one PENDING restore, half create a CONFIG backup on
the console host (53). Exactly one may win; every loser gets the code the rules give it:
- the restore won: other requests 422/1012 (no longer PENDING), backups 409/1016;
- a backup won: requests 409/1015 (a backup runs), other backups 409/1015 (host 53 is busy).
Every phase lasts one simulated second, so the winner's job holds the gate for the whole round;
advancing the virtual clock past its phases finishes it and the next round starts from a free
gate. The task order is shuffled (seeded) per round so
that both kinds win.
"""

from __future__ import annotations

import random
from collections import Counter

import anyio
import pytest

from engine.core.enums import BackupStatus, RestoreStatus
from engine.core.errors import QRadarError
from engine.runtime.clock import VirtualClock
from engine.runtime.console import Console
from tests.support.worlds import GROUPS

TASKS = 200
Outcome = tuple[str, int | None, int | None]  # (kind, error code or None, backup id)


async def request(console: Console, rid: int, outcomes: list[Outcome]) -> None:
    try:
        await console.request_restore(rid)
        outcomes.append(("restore", None, None))
    except QRadarError as error:
        outcomes.append(("restore", error.code.unique, None))


async def backup(console: Console, name: str, outcomes: list[Outcome]) -> None:
    try:
        created = await console.create_backup("CONFIG", name)
        outcomes.append(("backup", None, created.id))
    except QRadarError as error:
        outcomes.append(("backup", error.code.unique, None))


@pytest.mark.parametrize(
    "rounds",
    [
        pytest.param(100, id="100-rounds"),
        # ~35 s on an idle 2-CPU machine: 200,000 units at ~175 us each (mostly the store's
        # thread running the refused units); `-m "not slow"` keeps the 100-round run
        pytest.param(1_000, id="1000-rounds", marks=pytest.mark.slow),
    ],
)
async def test_exactly_one_winner_per_round(
    console: Console, quiet_logs: None, rounds: int
) -> None:
    assert isinstance(console.clock, VirtualClock)
    clock = console.clock
    await console.set_rule(
        "restore", {"requesting": "1s", "initializing": "1s", "in_progress": "1s"}
    )
    await console.set_rule("backup", {"initializing": "1s", "in_progress": "1s"})
    shuffle = random.Random(20260101).shuffle
    wins: Counter[str] = Counter()
    losses: Counter[tuple[str, str, int]] = Counter()
    pending = None
    for round_no in range(rounds):
        if pending is None:
            pending = (await console.create_restore(1, GROUPS)).id
        outcomes: list[Outcome] = []
        racers = [(request, console, pending, outcomes)] * (TASKS // 2) + [
            (backup, console, f"r{round_no}_{i}", outcomes) for i in range(TASKS // 2)
        ]
        shuffle(racers)
        async with anyio.create_task_group() as group:
            for racer, *args in racers:
                group.start_soon(racer, *args)

        winners = [o for o in outcomes if o[1] is None]
        assert len(outcomes) == TASKS
        assert len(winners) == 1, f"round {round_no}: {len(winners)} winners"
        winner = winners[0][0]
        wins[winner] += 1
        allowed = (
            {("restore", 1012), ("backup", 1016)}
            if winner == "restore"
            else {("restore", 1015), ("backup", 1015)}
        )
        for kind, code, _ in outcomes:
            if code is not None:
                assert (kind, code) in allowed, f"round {round_no}: {kind} lost with {code}"
                losses[(winner, kind, code)] += 1

        await clock.advance(10)  # the winner's job finishes: the gate is free again
        if winner == "restore":
            done = await console.get_restore(pending)
            assert (done.status, done.backup_id) == (RestoreStatus.SUCCESS, None)
            pending = None
        else:
            bid = winners[0][2]
            assert bid is not None
            assert (await console.get_backup(bid)).status == BackupStatus.SUCCESS
    assert wins["restore"] > 0, wins
    assert wins["backup"] > 0, wins
    assert sum(wins.values()) == rounds
    assert sum(losses.values()) == rounds * (TASKS - 1)
    # one record per winning backup, none for the losers
    assert len(await console.list_backups()) == 3 + wins["backup"]
    assert len(await console.list_restores()) == wins["restore"] + (pending is not None)
