"""A list larger than a page is built by the store as the JSON it sends, in parts (issue 12.1):
what a client receives is what the page-by-page path answers, byte for byte."""

from __future__ import annotations

import httpx
import pytest

from engine.api.app import create_app
from engine.api.handlers import LARGE_PAGE
from engine.core.enums import BackupStatus, JobKind
from engine.simulator import Simulator
from engine.store.base import Job
from tests.support.worlds import backup_record

API = "/api/backup_and_restore"
COUNT = 3 * LARGE_PAGE + 17


@pytest.fixture
async def client(sim: Simulator) -> httpx.AsyncClient:
    def seed(tx: object) -> None:
        for i in range(10, 10 + COUNT):
            status = BackupStatus.FAILED if i % 7 == 0 else BackupStatus.SUCCESS
            backup = backup_record(i, name=f"b{i}", status=status,
                                 description=None if i % 5 == 0 else f"d\u00e9\n{i}")  # fmt: skip
            tx.insert_backup("default", backup, Job(JobKind.BACKUP, i, str(status)))  # type: ignore[attr-defined]

    await sim.store.transact(seed)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(sim)), base_url="http://bre",
        headers={"SEC": "bre-sim-token"},
    )  # fmt: skip


async def _paged(client: httpx.AsyncClient, params: dict[str, str], total: int) -> bytes:
    """The same list, asked for in small pages and put together."""
    items = []
    for start in range(0, total, LARGE_PAGE):
        end = min(start + LARGE_PAGE, total) - 1
        response = await client.get(f"{API}/backups", params=params,
                                    headers={"Range": f"items={start}-{end}"})  # fmt: skip
        assert response.status_code == 200
        assert response.headers["Content-Range"] == f"items {start}-{end}/{total}"
        items.append(response.content[1:-1])
    return b"[" + b",".join(items) + b"]"


@pytest.mark.parametrize(
    "params",
    [{}, {"filter": "status = SUCCESS"}, {"sort": "-name", "fields": "id,name,description"},
     {"filter": "description is null or id > 1000", "sort": "description"}],
)  # fmt: skip
async def test_a_large_list_is_what_its_pages_say(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    whole = await client.get(f"{API}/backups", params=params)
    assert whole.status_code == 200
    total = int(whole.headers["Content-Range"].rsplit("/", 1)[1])
    assert total > LARGE_PAGE
    assert int(whole.headers["Content-Length"]) == len(whole.content)
    assert whole.content == await _paged(client, params, total)
