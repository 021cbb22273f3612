"""Poll mode: each read of an unfinished job moves it one phase on, with no clock to move."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

import httpx
import pytest

from engine.api.app import create_app
from engine.control.actions import Control
from engine.control.schema import ControlError
from engine.core.errors import NotFound
from engine.runtime.clock import VirtualClock
from engine.runtime.console import Console
from engine.simulator import Simulator
from tests.support.worlds import GROUPS


async def requested(console: Console) -> int:
    restore = await console.create_restore(1, GROUPS)
    await console.request_restore(restore.id)
    return restore.id


async def test_each_read_of_a_restore_moves_it_one_phase_and_time_stands_still(
    console: Console,
) -> None:
    await console.set_rule("restore", {"mode": "poll"})
    assert isinstance(console.clock, VirtualClock)
    before = console.clock.now_ms()
    id = await requested(console)
    seen = [(await console.get_restore(id)).status.value for _ in range(4)]
    assert seen == ["INITIALIZING", "IN_PROGRESS", "SUCCESS", "SUCCESS"]
    done = await console.get_restore(id)
    assert done.backup_id is None
    assert done.time_completed == before
    assert console.clock.now_ms() == before


async def test_reads_per_phase_and_a_failed_outcome(console: Console) -> None:
    await console.set_rule("restore", {"mode": "poll", "reads_per_phase": 3, "outcome": "FAILED"})
    id = await requested(console)
    seen = [(await console.get_restore_json(id))["status"] for _ in range(9)]
    assert seen == ["REQUESTING"] * 2 + ["INITIALIZING"] * 3 + ["IN_PROGRESS"] * 3 + ["FAILED"]


async def test_no_read_no_progress(console: Console) -> None:
    await console.set_rule("restore", {"mode": "poll"})
    id = await requested(console)
    assert isinstance(console.clock, VirtualClock)
    await console.clock.advance(86_400)
    assert not await console.clock.jump_to_next(console.clock.now_ms() + 1000)
    stored = await console.read(lambda tx: tx.restore(console.id, id))
    assert stored is not None
    assert stored.record.status.value == "REQUESTING"


async def test_a_list_is_a_read_of_every_job_of_its_kind(console: Console) -> None:
    await console.set_rule("restore", {"mode": "poll"})
    id = await requested(console)
    await console.list_restores()
    await console.list_backups()  # another kind: no read of the restore
    assert [r.status.value for r in await console.list_restores() if r.id == id] == ["IN_PROGRESS"]


async def test_a_deleted_running_restore_ends_on_list_reads_and_frees_the_gate(
    console: Console,
) -> None:
    await console.set_rule("restore", {"mode": "poll"})
    id = await requested(console)
    await console.delete_restore(id)
    with pytest.raises(NotFound):
        await console.get_restore(id)  # a read of nothing moves nothing
    assert await console.restore_running()
    for _ in range(3):
        await console.list_restores()
    assert not await console.restore_running()


async def test_a_hung_job_stays_in_progress_however_often_it_is_read(console: Console) -> None:
    await console.set_rule("restore", {"mode": "poll", "outcome": "HANG"})
    id = await requested(console)
    seen = {(await console.get_restore(id)).status.value for _ in range(10)}
    assert seen == {"INITIALIZING", "IN_PROGRESS"}
    await console.step("restore")
    assert (await console.get_restore(id)).status.value == "FAILED"


async def test_backups_and_the_embedded_waiters_poll(console: Console) -> None:
    await console.set_rule("backup", {"mode": "poll", "reads_per_phase": 2})
    backup = await console.create_backup(name="polled")
    assert backup.status.value == "INITIALIZING"
    done = await console.wait_for_backup(backup.id)
    assert done is not None
    assert done.status.value == "SUCCESS"
    await console.set_rule("restore", {"mode": "poll"})
    assert (await console.wait_for_restore(await requested(console))).status.value == "SUCCESS"


async def test_one_job_in_poll_mode_among_timed_ones(console: Console) -> None:
    first = await requested(console)
    await console.set_job_rule("restore", first, {"mode": "poll"})
    assert (await console.get_restore(first)).status.value == "INITIALIZING"
    assert (await console.wait_for_restore(first)).status.value == "SUCCESS"


async def test_a_reset_ends_poll_mode(console: Console) -> None:
    await console.set_rule("restore", {"mode": "poll"})
    assert console.polls
    await console.reset()
    assert not console.polls


async def test_a_console_created_with_poll_rules_polls_over_http(sim: Simulator) -> None:
    other = await sim.create_console(tokens=("polling-token",), rules={"restore": {"mode": "poll"}})
    transport = httpx.ASGITransport(app=create_app(sim))
    headers = {"SEC": "polling-token"}
    async with httpx.AsyncClient(transport=transport, base_url="http://q", headers=headers) as c:
        api = "/api/backup_and_restore/restores"
        created = (await c.post(api, json={"backup_id": 1, "groups": GROUPS})).json()
        await c.post(f"{api}/{created['id']}", json={"status": "REQUESTING"})
        seen = [(await c.get(f"{api}/{created['id']}")).json()["status"] for _ in range(3)]
    assert seen == ["INITIALIZING", "IN_PROGRESS", "SUCCESS"]
    assert other.polls


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"mode": "polling"}, 'rules.restore.mode: "polling" is not one of auto, manual, '),
        ({"reads_per_phase": 0}, "rules.restore.reads_per_phase: 0 is not between 1 and"),
        ({"reads_per_phase": "2"}, "rules.restore.reads_per_phase: expected an integer"),
    ],
)
async def test_a_bad_poll_rule_is_refused_naming_the_field(
    sim: Simulator, rule: dict[str, object], message: str
) -> None:
    with pytest.raises(ControlError) as caught:
        await sim.create_console(rules={"restore": rule})
    assert str(caught.value).startswith(message)


async def test_the_control_language_sets_poll_mode(console: Console, sim: Simulator) -> None:
    answer = await Control(sim).apply(console, {"engine": {"backup": {"mode": "poll"}}})
    assert console.polls
    assert "poll" in str(answer)


async def test_a_refused_job_rule_leaves_reads_read_only(console: Console) -> None:
    """Regression (review): a poll rule for a job that does not exist turned poll mode on
    anyway, and every later read became a write."""
    with pytest.raises(LookupError):
        await console.set_job_rule("restore", 999, {"mode": "poll"})
    assert not console.polls


async def test_ha_action_is_not_a_read_of_the_restores(bre_simulator: Simulator) -> None:
    """haAction answers with the newest restore; in poll mode it must not move the restores
    on as a client's read would (only GET by id and lists are reads)."""
    console = await bre_simulator.create_console(
        "ha", tokens=("ha-token",), rules={"restore": {"mode": "poll"}}
    )
    id = await requested(console)
    transport = httpx.ASGITransport(app=create_app(bre_simulator))
    async with httpx.AsyncClient(transport=transport, base_url="http://qradar.test") as client:
        for _ in range(3):
            answer = await client.get(
                "/api/backup_and_restore/haAction/failover", headers={"SEC": "ha-token"}
            )
            assert answer.status_code == 200
            assert answer.json()["status"] == "REQUESTING"
    assert (await console.get_restore(id)).status.value == "INITIALIZING"  # the first read


async def _units_of(console: Console, read: Callable[[], Awaitable[object]]) -> int:
    """How many units of work (write transactions) `read` ran on the console's store."""
    before = console.store.stats()["units"]
    with contextlib.suppress(NotFound):
        await read()
    return console.store.stats()["units"] - before


async def test_a_read_that_moves_nothing_writes_nothing(console: Console) -> None:
    """Poll mode: a GET of a finished job, or of an id that does not exist, reads and runs no
    unit of work (each was a write transaction); a read of an unfinished job still moves it."""
    await console.set_rule("restore", {"mode": "poll"})
    await console.set_rule("backup", {"mode": "poll"})
    id = await requested(console)
    assert await _units_of(console, lambda: console.get_restore(id)) == 1  # REQUESTING: moves
    assert (await console.wait_for_restore(id)).status.value == "SUCCESS"
    backup = await console.create_backup(name="polled")
    done = await console.wait_for_backup(backup.id)
    assert done is not None
    assert done.status.value == "SUCCESS"
    reads: list[Callable[[], Awaitable[object]]] = [
        lambda: console.get_restore(id),
        lambda: console.get_restore_json(id),
        lambda: console.get_restore(10_000),
        lambda: console.get_restore_json(10_000),
        lambda: console.get_backup(backup.id),
        lambda: console.get_backup(10_000),
    ]
    assert [await _units_of(console, read) for read in reads] == [0] * len(reads)


async def test_a_polling_wait_gives_up_once_its_time_is_over(console: Console) -> None:
    """`wait_for` in poll mode: reads that move the job on went on past `within_s` of the
    console's time (the deadline was only looked at when nothing was polled)."""
    await console.set_rule("restore", {"mode": "poll", "reads_per_phase": 50})
    id = await requested(console)
    assert isinstance(console.clock, VirtualClock)
    clock = console.clock
    started = clock.now_ms()

    async def check() -> bool:
        await clock.advance(1)  # a second of the console's time between two reads
        return (await console.get_restore(id)).status.value == "SUCCESS"

    with pytest.raises(TimeoutError):
        await console.wait_for(check, within_s=10)
    assert clock.now_ms() - started == 11_000  # the read after the deadline is the last
    assert (await console.get_restore(id)).status.value != "SUCCESS"
