"""The `ibm.qradar` Ansible collection (from the `ansible` package on PyPI, pinned in the `dev`
extra) against `bre serve --tls`: its httpapi connection logs in with Basic, reads the `SEC`
session cookie from `Set-Cookie` and sends it back as a `SEC` header, with the test CA as
`ansible_httpapi_ca_path`. Without sessions it fails as it did before them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.testing import ServerConsole, SimulatorServer, start_server

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent / "ansible"
USER, PASSWORD = "ops", "s3cret-pw"


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A short folder for Ansible's sockets (a UNIX socket path has ~100 bytes at most)."""
    folder = Path(tempfile.mkdtemp(prefix="bre-ans-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def playbook(server: SimulatorServer, scratch: Path) -> subprocess.CompletedProcess[str]:
    host, port = server.url.removeprefix("https://").rsplit(":", 1)
    inventory = scratch / "inventory.ini"
    inventory.write_text(
        "[qradar]\nconsole\n\n[qradar:vars]\n"
        f"ansible_host={host}\nansible_httpapi_port={port}\n"
        "ansible_connection=ansible.netcommon.httpapi\nansible_network_os=ibm.qradar.qradar\n"
        f"ansible_user={USER}\nansible_httpapi_pass={PASSWORD}\n"
        "ansible_httpapi_use_ssl=true\nansible_httpapi_validate_certs=true\n"
        f"ansible_httpapi_ca_path={server.ca}\nansible_python_interpreter={sys.executable}\n"
    )
    bin_dir = Path(sys.executable).parent
    environment = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_HOME": str(scratch),
        "ANSIBLE_LOCAL_TEMP": str(scratch / "tmp"),
        "ANSIBLE_PERSISTENT_CONTROL_PATH_DIR": str(scratch / "cp"),
        "ANSIBLE_LIBRARY": str(HERE / "library"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_HOST_KEY_CHECKING": "false",
    }
    return subprocess.run(
        [str(bin_dir / "ansible-playbook"), "-i", str(inventory), str(HERE / "restore.yml")],
        capture_output=True, text=True, timeout=300, env=environment, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def task_result(run: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    report = json.loads(run.stdout)
    (task,) = report["plays"][0]["tasks"]
    result: dict[str, Any] = task["hosts"]["console"]
    return result


def console_for_ansible(server: SimulatorServer) -> ServerConsole:
    return server.new_console(basic=[[USER, PASSWORD]], rules={"restore": {"mode": "immediate"}})


def test_the_collection_drives_a_restore_in_a_session_over_https(
    bre_tls_server: SimulatorServer, scratch: Path
) -> None:
    console = console_for_ansible(bre_tls_server)
    try:
        run = playbook(bre_tls_server, scratch)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        result = task_result(run)
        created_code, created = result["created"]
        assert created_code == 201
        assert created["initiated_by"] == USER  # the session's user
        conflict_code, conflict = result["conflict"]
        assert (conflict_code, conflict["code"]) == (409, 1011)
        assert result["requested"][0] == 200
        read_code, read = result["read"]
        assert (read_code, read["status"], read["backup_id"]) == (200, "SUCCESS", None)
    finally:
        bre_tls_server.delete_console(console)


def test_without_sessions_the_collection_fails_as_before(scratch: Path) -> None:
    server = start_server("--tls", "--sessions", "0")
    try:
        console = console_for_ansible(server)
        run = playbook(server, scratch)
        assert run.returncode != 0
        assert "argument of type 'NoneType' is not" in run.stdout + run.stderr
        server.delete_console(console)
    finally:
        server.stop()
