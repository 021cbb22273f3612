"""Bounds on what one request may cost: a `filter` that would hold the event loop (and with it
every other console) is refused with QRadar's 422/12 before any record is tested."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from engine.api.app import create_app
from engine.core.query import FILTER_WORK_BUDGET, MAX_FILTER_TERMS, MAX_IN_VALUES
from engine.simulator import Settings, Simulator
from tests.support.http import API, make_client
from tests.support.worlds import backup_record, make_world

BACKUPS = 2_100  # with MAX_FILTER_TERMS tests a record, past the work budget


@pytest.fixture
async def big() -> AsyncIterator[httpx.AsyncClient]:
    """A console of BACKUPS finished backups."""
    world = make_world(backups=tuple(backup_record(i) for i in range(1, BACKUPS + 1)))
    async with Simulator(Settings(world=world)) as sim, make_client(create_app(sim)) as client:
        yield client


async def test_an_in_list_of_the_longest_length_is_answered(big: httpx.AsyncClient) -> None:
    ids = [(7 * i) % 300 + 1 for i in range(MAX_IN_VALUES)]  # repeats: the text fits its cap
    resp = await big.get(
        f"{API}/backups",
        params={"filter": f"id in ({','.join(map(str, ids))})", "fields": "id"},
        headers={"Range": "items=0-9"},
    )
    assert resp.status_code == 200, resp.text
    expected = sorted(set(ids))
    assert resp.json() == [{"id": i} for i in expected[:10]]
    assert resp.headers["Content-Range"] == f"items 0-9/{len(expected)}"


async def test_a_filter_over_the_work_budget_is_422_12(big: httpx.AsyncClient) -> None:
    text = " or ".join(["id=0"] * MAX_FILTER_TERMS)
    assert MAX_FILTER_TERMS * BACKUPS > FILTER_WORK_BUDGET
    resp = await big.get(f"{API}/backups", params={"filter": text})
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["code"] == 12
    assert "too costly" in body["message"]
    assert f"over the limit of {FILTER_WORK_BUDGET} per request" in body["message"]
    cheap = await big.get(f"{API}/backups", params={"filter": "id=0 or id=5"})
    assert cheap.status_code == 200
    assert [b["id"] for b in cheap.json()] == [5]
