"""`bre serve` as a user runs it: a subprocess on a free port, driven over real HTTP."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest

from tests.support.serving import serve

CONFIG = """
tokens: [e2e-token]
rules:
  restore: {requesting: 300ms, initializing: 400ms, in_progress: 600ms}
"""


class Served(NamedTuple):
    url: str
    process: subprocess.Popen[str]
    admin: str  # the admin credential of its ready line


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Served]:
    config = tmp_path / "bre.yaml"
    config.write_text(CONFIG)
    with serve("--db", str(tmp_path / "e2e.db"), "--config", str(config)) as served:
        assert served.fields["token"] == "e2e-token"
        yield Served(served.url, served.process, served.fields["admin"])


def test_the_ready_line_names_the_admin_credential_of_the_control_surface(
    server: Served,
) -> None:
    url, _, admin = server
    assert len(admin) >= 32
    with httpx.Client(base_url=url) as client:
        assert client.get("/simulator/health").status_code == 200
        refused = client.get("/simulator/consoles", headers={"SEC": "e2e-token"})
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        listed = client.get("/simulator/consoles", headers={"Authorization": f"Bearer {admin}"})
        assert listed.json() == {"consoles": ["default"]}


def test_a_full_restore_over_real_http(server: Served) -> None:
    url = server.url
    with httpx.Client(base_url=url, headers={"SEC": "e2e-token", "Version": "26.0"}) as client:
        assert client.get("/simulator/ready").json() == {"ready": True}
        created = client.post(
            "/api/backup_and_restore/restores",
            json={"backup_id": 1, "groups": ["DEPLOYMENT_CONFIG", "CUSTOM_RULES_CONFIG"]},
        )
        assert created.status_code == 201, created.text
        rid = created.json()["id"]
        assert created.json()["status"] == "PENDING"
        requested = client.post(
            f"/api/backup_and_restore/restores/{rid}", json={"status": "REQUESTING"}
        )
        assert requested.status_code == 200
        assert requested.json()["status"] == "REQUESTING"

        second = client.post(
            "/api/backup_and_restore/restores",
            json={"backup_id": 2, "groups": ["DEPLOYMENT_CONFIG"]},
        )
        assert second.status_code == 409
        assert second.json()["code"] == 1011
        backup = client.post(
            "/api/backup_and_restore/backups",
            headers={"backup_type": "CONFIG"},
            json={"name": "during_restore", "configuration_id": 1},
        )
        assert backup.status_code == 409
        assert backup.json()["code"] == 1016

        seen: list[str] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            body = client.get(f"/api/backup_and_restore/restores/{rid}").json()
            if not seen or seen[-1] != body["status"]:
                seen.append(body["status"])
            if body["status"] in ("SUCCESS", "FAILED"):
                break
            time.sleep(0.05)
        assert seen == ["REQUESTING", "INITIALIZING", "IN_PROGRESS", "SUCCESS"]
        assert body["backup_id"] is None
        assert body["time_completed"] >= body["time_initiated"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_it_gracefully_and_the_records_survive(
    server: Served, tmp_path: Path, signum: signal.Signals
) -> None:
    url, process, _ = server
    with httpx.Client(base_url=url, headers={"SEC": "e2e-token"}) as client:
        created = client.post(
            "/api/backup_and_restore/backups",
            headers={"backup_type": "CONFIG"},
            json={"name": "kept", "configuration_id": 1},
        )
        assert created.status_code == 201
    process.send_signal(signum)
    assert process.wait(timeout=15) == 0
    import sqlite3

    with sqlite3.connect(tmp_path / "e2e.db") as db:
        names = {r[0] for r in db.execute("SELECT name FROM backups")}
    assert "kept" in names
