"""The connection limits of `bre serve` (engine/api/connections.py), against a real server:
what a hostile or careless client does to a socket must not lock other clients out."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.http import API, TOKEN
from tests.support.serving import Served, serve

SEC = {"SEC": TOKEN}


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    with serve(
        "--db", ":memory:", "--header-timeout", "0.5", "--body-timeout", "0.5",
        "--keep-alive", "0.5", "--max-header-bytes", "4096", "--max-connections", "6",
    ) as served:  # fmt: skip
        yield served


def connect(served: Served) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    return sock


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes the connection within `seconds` (reading what it sends)."""
    sock.settimeout(seconds)
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            if not sock.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return False


def healthy(served: Served) -> bool:
    return httpx.get(f"{served.url}/simulator/health", timeout=5).status_code == 200


def test_an_idle_connection_is_closed_after_the_header_deadline(server: Served) -> None:
    with connect(server) as sock:
        assert closed_within(sock, 5)


def test_headers_sent_a_byte_at_a_time_are_cut_off(server: Served) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /simulator/health HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        try:
            while time.monotonic() - started < 5:
                sock.sendall(b"X")
                time.sleep(0.05)
        except OSError:  # the server closed it
            pass
        assert time.monotonic() - started < 5
    assert healthy(server)


def test_oversized_headers_answer_431(server: Served) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /simulator/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8000)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert healthy(server)


def test_a_body_sent_too_slowly_is_dropped_and_changes_nothing(server: Served) -> None:
    before = httpx.get(f"{server.url}{API}/backups", headers=SEC).json()
    body = b'{"name": "slow", "configuration_id": 1}'
    with connect(server) as sock:
        sock.sendall(
            b"POST /api/backup_and_restore/backups HTTP/1.1\r\nHost: x\r\nSEC: bre-sim-token\r\n"
            b"backup_type: CONFIG\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body[:10]
        )
        assert closed_within(sock, 5)
    assert httpx.get(f"{server.url}{API}/backups", headers=SEC).json() == before


def test_connections_past_the_cap_are_shed_and_the_rest_served(server: Served) -> None:
    held = [connect(server) for _ in range(6)]
    try:
        extra = connect(server)
        with extra:
            assert closed_within(extra, 2)  # shed at once, not queued
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if healthy(server):
                break
        except httpx.TransportError:
            time.sleep(0.05)
    assert healthy(server)
