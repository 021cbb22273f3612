"""`bre serve --tls`: HTTPS as a console serves it, with every serving behaviour kept (limits,
workers, graceful stop), and the plugin's HTTPS fixtures as a user's suite uses them."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import requests
import trustme

from engine.testing import ServerConsole, SimulatorServer
from tests.support.serving import Served, bre, serve

pytestmark = pytest.mark.slow

BACKUPS = "/api/backup_and_restore/backups"
SEC = {"SEC": "bre-sim-token"}


def context(ca: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca)


def tls_connect(served: Served) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    return context(served.fields["ca"]).wrap_socket(raw, server_hostname="127.0.0.1")


def test_the_ready_line_names_an_https_url_and_the_ca_clients_trust() -> None:
    with serve("--db", ":memory:", "--tls") as served:
        assert served.url.startswith("https://127.0.0.1:")
        ca = served.fields["ca"]
        assert Path(ca).read_text().startswith("-----BEGIN CERTIFICATE-----")
        answer = requests.get(f"{served.url}{BACKUPS}", headers=SEC, verify=ca, timeout=10)
        assert answer.status_code == 200
        assert [b["id"] for b in answer.json()] == [1, 2, 3]
        by_name = served.url.replace("127.0.0.1", "localhost")
        assert httpx.get(f"{by_name}{BACKUPS}", headers=SEC, verify=context(ca)).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):  # not a publicly trusted certificate
            requests.get(f"{served.url}{BACKUPS}", headers=SEC, timeout=10)
        with pytest.raises(httpx.HTTPError):  # plain HTTP to an HTTPS port gets no answer
            httpx.get(f"{served.url.replace('https', 'http', 1)}{BACKUPS}", headers=SEC)
        key = Path(ca).parent / "key.pem"
        assert key.stat().st_mode & 0o077 == 0  # the private key is the server's alone
    assert not Path(ca).exists()  # the made files go with the server


def test_own_certificate_and_key_are_served(tmp_path: Path) -> None:
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1", "qradar.example")
    cert, key, ca = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(ca))
    with serve("--db", ":memory:", "--certfile", str(cert), "--keyfile", str(key)) as served:
        assert served.url.startswith("https://")
        assert "ca" not in served.fields  # one's own CA: the server cannot name it
        answer = requests.get(f"{served.url}{BACKUPS}", headers=SEC, verify=str(ca), timeout=10)
        assert answer.status_code == 200
    assert cert.exists()  # one's own files are never removed
    assert key.exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--certfile", "/nonexistent/cert.pem"], "no such file"),
        (["--keyfile", "/tmp/key.pem"], "--keyfile: needs --certfile"),
        (["--certfile", __file__], "not a usable certificate"),
    ],
)
def test_certificate_files_that_cannot_serve_are_one_line(args: list[str], says: str) -> None:
    done = subprocess.run(
        bre("serve", "--port", "0", "--db", ":memory:", *args), capture_output=True, text=True,
        timeout=30, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 2
    assert says in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_connection_limits_hold_over_tls() -> None:
    with serve(
        "--db", ":memory:", "--tls", "--header-timeout", "0.5", "--max-header-bytes", "4096",
    ) as served:  # fmt: skip
        with tls_connect(served) as sock:  # handshake done, then nothing: closed at the deadline
            sock.settimeout(5)
            started = time.monotonic()
            assert sock.recv(100) == b""
            assert time.monotonic() - started < 5
        with tls_connect(served) as sock:
            sock.sendall(b"GET /simulator/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8000)
            assert sock.recv(65536).startswith(b"HTTP/1.1 431 ")
        with socket.create_connection(("127.0.0.1", served.port), timeout=10) as raw:
            raw.settimeout(5)  # connected, no handshake: closed at the header deadline too
            started = time.monotonic()
            assert raw.recv(100) == b""
            assert time.monotonic() - started < 5
        health = httpx.get(f"{served.url}/simulator/health", verify=context(served.fields["ca"]))
        assert health.status_code == 200


def test_sigterm_stops_an_https_server_gracefully() -> None:
    with serve("--db", ":memory:", "--tls") as served:
        ca = served.fields["ca"]
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(15) == 0
    assert not os.path.exists(ca)


def test_workers_share_one_certificate(tmp_path: Path) -> None:
    db = str(tmp_path / "bre.sqlite3")
    with serve("--db", db, "--tls", "--workers", "2") as served:
        ca = served.fields["ca"]
        assert served.fields["workers"] == "2"
        verify = context(ca)
        for _ in range(8):  # new connections: the kernel spreads them over both processes
            with httpx.Client(verify=verify) as client:
                assert client.get(f"{served.url}{BACKUPS}", headers=SEC).status_code == 200
    assert not os.path.exists(ca)


# --- the plugin's HTTPS fixtures --------------------------------------------------------------


def test_the_tls_server_fixture_works_with_requests_and_httpx(
    bre_tls_server: SimulatorServer,
) -> None:
    assert bre_tls_server.url.startswith("https://")
    url = f"{bre_tls_server.url}{BACKUPS}"
    headers = {"SEC": bre_tls_server.token}
    assert requests.get(url, headers=headers, verify=bre_tls_server.verify).status_code == 200
    assert httpx.get(url, headers=headers, verify=bre_tls_server.ssl_context).status_code == 200
    # a session over HTTPS: its cookies are Secure (a browser sends them over HTTPS only)
    login = httpx.get(url, auth=("admin", "admin"), verify=bre_tls_server.ssl_context)
    flags = [c.split(";")[2].strip() for c in login.headers.get_list("set-cookie")]
    assert flags == ["Secure", "Secure"]


def test_the_tls_console_fixture_is_an_isolated_console(
    bre_tls_server_console: ServerConsole,
) -> None:
    console = bre_tls_server_console
    created = requests.post(
        f"{console.url}/api/backup_and_restore/restores", headers=console.headers,
        json={"backup_id": 1, "groups": ["DEPLOYMENT_CONFIG"]}, verify=console.verify, timeout=10,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    journal = httpx.get(
        f"{console.control_url}/journal", headers=console.control_headers,
        verify=console.ssl_context,
    )  # fmt: skip
    assert journal.status_code == 200


# --- clients of the project: bre replay and bre load against an https:// target ---------------


def run_bre(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        bre(*args), capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_replay_and_load_take_ca_or_insecure(tmp_path: Path) -> None:
    scenario = str(Path(__file__).parent.parent / "scenarios" / "conflicts.yaml")
    with serve("--db", str(tmp_path / "bre.sqlite3"), "--tls") as served:
        ca, admin = served.fields["ca"], {"BRE_ADMIN_TOKEN": served.fields["admin"]}
        trusted = run_bre("replay", scenario, "--target", served.url, "--ca", ca, env=admin)
        assert trusted.returncode == 0, trusted.stdout + trusted.stderr
        assert "FAIL" not in trusted.stdout
        insecure = run_bre("replay", scenario, "--target", served.url, "--insecure", env=admin)
        assert insecure.returncode == 0, insecure.stdout + insecure.stderr
        untrusted = run_bre("replay", scenario, "--target", served.url, env=admin)
        assert untrusted.returncode != 0
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stdout + untrusted.stderr
        report = tmp_path / "load.json"
        loaded = run_bre(
            "load", "--target", served.url, "--ca", ca, "--duration", "2", "--clients", "4",
            "--no-progress", "--quiet", "--json", str(report), env=admin,
        )  # fmt: skip
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        assert "no answer" not in report.read_text()
        requests.get(f"{served.url}{BACKUPS}", headers=SEC, verify=ca, timeout=10)
        recorded = run_bre(
            "record", "--target", served.url, "--ca", ca, "--token", "bre-sim-token",
            "--out", "-", env=admin,
        )  # fmt: skip
        assert recorded.returncode == 0, recorded.stderr
        assert "/api/backup_and_restore/backups" in recorded.stdout
    missing = run_bre("replay", scenario, "--target", "https://127.0.0.1:1", "--ca", "/nope.pem")
    assert missing.returncode == 2
    assert "--ca /nope.pem" in missing.stderr


def test_one_owner_per_port_over_tls() -> None:
    with serve("--db", ":memory:", "--tls") as first:
        second = run_bre("serve", "--port", str(first.port), "--db", ":memory:", "--tls")
        assert second.returncode == 2
        assert second.stderr.count("\n") == 1, second.stderr
        assert "is in use by another process" in second.stderr
        health = httpx.get(f"{first.url}/simulator/health", verify=context(first.fields["ca"]))
        assert health.json() == {"status": "ok"}
