"""How faults are answered: a storage fault is 503/21 with QRadar's body on every /api path
and 503 on the control surface; any other failure is the 500 of the endpoint asked, also when it
happens inside authentication (never the help family's 1020 on backup_and_restore paths);
readiness says why it is false.

Regression (issue 9, point 7): a failure inside authentication answered 500/1020 on
backup_and_restore paths; a storage fault answered 500/1000.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from engine.api.app import create_app
from engine.simulator import Simulator
from engine.store.base import StorageUnavailable
from tests.support.http import API, TOKEN

pytestmark = pytest.mark.chaos


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(create_app(sim))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sim",
        headers={"SEC": TOKEN, "Authorization": f"Bearer {sim.admin_token}"},
    ) as client:  # fmt: skip
        yield client


def failing(error: Exception) -> Any:
    async def fail(*args: Any, **kwargs: Any) -> Any:
        raise error

    return fail


@pytest.mark.parametrize(
    ("method", "path", "code", "description"),
    [
        ("GET", f"{API}/restores", 1000, "An error occurred during the attempt to retrieve the "
         "restores."),
        ("POST", f"{API}/backups", 1000, "An error occurred during the attempt to create the "
         "backup."),
        ("DELETE", f"{API}/restores/7", 1000, "An error occurred during the attempt to delete the "
         "restore."),
        ("GET", f"{API}/no_such_thing", 1000, ""),
        ("GET", "/api/help/versions", 1020, ""),
    ],
    ids=["list", "create", "delete", "unknown-family-path", "help"],
)  # fmt: skip
async def test_a_failure_inside_authentication_answers_the_endpoint_s_500(
    sim: Simulator, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch,
    method: str, path: str, code: int, description: str,
) -> None:  # fmt: skip
    monkeypatch.setattr(sim, "authenticate", failing(RuntimeError("injected: a bug")))
    answer = await client.request(method, path)
    assert answer.status_code == 500
    body = answer.json()
    assert body["code"] == code
    assert body["description"] == description
    assert body["http_response"] == {"code": 500, "message": "Unexpected internal server error"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", f"{API}/restores"), ("POST", f"{API}/backups"), ("GET", "/api/help/versions")],
    ids=["list", "create", "help"],
)
async def test_a_storage_fault_answers_503_with_a_qradar_body(
    sim: Simulator, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch,
    method: str, path: str,
) -> None:  # fmt: skip
    fault = StorageUnavailable("bre.db", "disk I/O error")
    monkeypatch.setattr(sim, "authenticate", failing(fault))
    answer = await client.request(method, path)
    assert answer.status_code == 503
    assert answer.json() == {
        "message": "The console cannot store or read its data now (disk I/O error). Retry later.",
        "details": {},
        "description": "",
        "code": 21,
        "http_response": {"code": 503, "message": "The server is currently unavailable."},
    }


async def test_a_storage_fault_on_the_control_surface_answers_503(
    sim: Simulator, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        sim, "find_console", failing(StorageUnavailable("bre.db", "disk I/O error"))
    )
    answer = await client.get("/simulator/consoles/default")
    assert answer.status_code == 503
    assert "disk I/O error" in answer.json()["error"]


async def test_readiness_is_false_while_stopping(sim: Simulator, client: httpx.AsyncClient) -> None:
    assert (await client.get("/simulator/ready")).json() == {"ready": True}
    sim.begin_stop()
    answer = await client.get("/simulator/ready")
    assert answer.status_code == 503
    assert answer.json() == {"ready": False, "reason": "stopping"}


async def test_the_store_s_writer_stopping_turns_readiness_false_and_writes_503(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    """Never expected (it ends only when the store closes), so not left unseen either."""
    writer = sim.store._writer  # type: ignore[attr-defined]
    writer.cancel()
    await asyncio.wait({writer})
    ready = await client.get("/simulator/ready")
    assert ready.status_code == 503
    assert "writer stopped" in ready.json()["reason"]
    created = await client.post(
        f"{API}/restores", json={"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"]}
    )
    assert created.status_code == 503
    assert created.json()["code"] == 21
