"""Real Python clients of QRadar's API, installed from PyPI (pinned in the `dev` extra), against
`bre serve --tls` with its test CA: qradar4py 3.0 and qradar 0.0.4 (sync over `requests`,
async over `httpx`) drive a whole restore with a conflict, and a console on an old release
answers a client pinned to a newer version with 422."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
from qradar import QRadar, QRadarAsync
from qradar4py.api import QRadarApi

from engine.testing import ServerConsole, SimulatorServer

pytestmark = pytest.mark.slow

GROUPS = ["DEPLOYMENT_CONFIG"]
UNFINISHED_RESTORE = 1011  # 409: an unfinished restore record exists


@pytest.fixture(autouse=True)
def _no_bundle_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a Session's `verify` (as the
    clients set it): a user's test environment must not have them, nor may ours."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@pytest.fixture
def old_console(bre_tls_server: SimulatorServer) -> Iterator[ServerConsole]:
    """A console on QRadar 7.5.0 UP6, whose newest API version is 20.0."""
    console = bre_tls_server.new_console(release="7.5.0 UP6")
    try:
        yield console
    finally:
        bre_tls_server.delete_console(console)


def advance(console: ServerConsole, duration: str) -> None:
    """Move the console's virtual clock (the served engine runs the phases meanwhile)."""
    moved = httpx.post(
        f"{console.control_url}/control", json={"advance": duration},
        headers=console.control_headers, verify=console.ssl_context, timeout=10,
    )  # fmt: skip
    assert moved.status_code == 200, moved.text


def test_qradar4py_drives_a_restore_with_a_conflict(bre_tls_server_console: ServerConsole) -> None:
    console = bre_tls_server_console
    api = QRadarApi(console.url, console.token, version="27.0", verify=console.verify)
    restores = api.backup_and_restore

    status, backups = restores.get_backups(filter="status = SUCCESS", Range="items=0-1")
    assert status == 200
    assert [b["id"] for b in backups] == [1, 2]
    status, created = restores.post_restores(restore={"backup_id": 1, "groups": GROUPS})
    assert status == 201, created
    assert created["status"] == "PENDING"
    status, conflict = restores.post_restores(restore={"backup_id": 2, "groups": GROUPS})
    assert (status, conflict["code"]) == (409, UNFINISHED_RESTORE)
    status, requested = restores.post_restores_by_id(
        created["id"], restore={"status": "REQUESTING"}, fields="id,status"
    )
    assert (status, requested) == (200, {"id": created["id"], "status": "REQUESTING"})
    advance(console, "1h")
    status, done = restores.get_restores_by_id(created["id"])
    assert status == 200
    assert done["status"] == "SUCCESS"
    assert done["backup_id"] is None
    status, text = restores.delete_restores_by_id(created["id"])  # finished: kept
    assert (status, json.loads(text)["code"]) == (422, 1017)
    status, listed = restores.get_restores(fields="id, status")
    assert (status, listed) == (200, [{"id": created["id"], "status": "SUCCESS"}])


def test_qradar_over_requests_drives_a_restore_with_a_conflict(
    bre_tls_server_console: ServerConsole,
) -> None:
    console = bre_tls_server_console
    with requests.Session() as session:
        client: Any = QRadar(console.url, console.token, "27.0", session, verify=console.verify)
        created = client.post_backup_and_restore_restores(json={"backup_id": 1, "groups": GROUPS})
        assert created["status"] == "PENDING"
        conflict = client.post_backup_and_restore_restores(json={"backup_id": 3, "groups": GROUPS})
        assert conflict["code"] == UNFINISHED_RESTORE
        requested = client.post_backup_and_restore_restores_id(
            id=created["id"], json={"status": "REQUESTING"}
        )
        assert requested["status"] == "REQUESTING"
        advance(console, "1h")
        done = client.get_backup_and_restore_restores_id(id=created["id"])
        assert (done["status"], done["backup_id"]) == ("SUCCESS", None)


async def test_qradar_async_over_httpx_drives_a_restore_with_a_conflict(
    bre_tls_server_console: ServerConsole,
) -> None:
    console = bre_tls_server_console
    async with httpx.AsyncClient(verify=console.ssl_context) as http:
        client: Any = await QRadarAsync(
            console.url, console.token, "27.0", http, verify=console.ssl_context
        )
        created = await client.post_backup_and_restore_restores(
            json={"backup_id": 2, "groups": GROUPS}
        )
        assert created["status"] == "PENDING"
        conflict = await client.post_backup_and_restore_restores(
            json={"backup_id": 1, "groups": GROUPS}
        )
        assert conflict["code"] == UNFINISHED_RESTORE
        requested = await client.post_backup_and_restore_restores_id(
            id=created["id"], json={"status": "REQUESTING"}
        )
        assert requested["status"] == "REQUESTING"
        advance(console, "1h")
        done = await client.get_backup_and_restore_restores_id(id=created["id"])
        assert (done["status"], done["backup_id"]) == ("SUCCESS", None)


def test_an_old_release_answers_a_newer_pinned_version_with_422(old_console: ServerConsole) -> None:
    api = QRadarApi(old_console.url, old_console.token, version="26.0", verify=old_console.verify)
    status, body = api.backup_and_restore.get_backups()
    assert (status, body["code"]) == (422, 13)
    assert body["message"].startswith("Version (26.0) from header parameter (Version) is not a")
    with requests.Session() as session, pytest.raises(RuntimeError, match="Failed while getting"):
        QRadar(old_console.url, old_console.token, "26.0", session, verify=old_console.verify)
    pinned = QRadarApi(old_console.url, old_console.token, version="20.0",
                       verify=old_console.verify)  # fmt: skip
    assert pinned.backup_and_restore.get_backups()[0] == 200  # its own newest version
