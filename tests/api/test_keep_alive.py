"""Keep-alive of `bre serve` (`--keep-alive`, a deadline of the connection's one timer in
engine/api/connections.py): an idle kept-alive connection is closed once it has been idle
that long, never while requests keep coming, on the direct and on the ASGI path."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from tests.support.http import API, TOKEN
from tests.support.serving import Served, serve

KEEP_ALIVE_S = 0.5


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    with serve("--db", ":memory:", "--token", TOKEN, "--keep-alive", str(KEEP_ALIVE_S)) as served:
        yield served


def _answer(sock: socket.socket, request: bytes) -> bytes:
    sock.sendall(request)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, "closed before an answer"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        return sock.recv(65536) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


@pytest.mark.parametrize("extra", ["", "X-Forwarded-For: 127.0.0.1\r\n"], ids=["direct", "asgi"])
def test_requests_that_keep_coming_keep_the_connection(server: Served, extra: str) -> None:
    request = (f"GET {API}/backups/1 HTTP/1.1\r\nHost: x\r\nSEC: {TOKEN}\r\n{extra}\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        for _ in range(8):  # 8 x 0.2 s: longer than the keep-alive, never idle that long
            assert _answer(sock, request).startswith(b"HTTP/1.1 200 ")
            time.sleep(KEEP_ALIVE_S * 0.4)
        assert _closed_within(sock, 10), "an idle connection must be closed"


def test_a_request_begun_after_an_answer_ends_the_idle_time(server: Served) -> None:
    """A partial request stops the keep-alive clock (its header deadline, 10 s, goes on)."""
    request = f"GET {API}/backups/1 HTTP/1.1\r\nHost: x\r\nSEC: {TOKEN}\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        assert _answer(sock, request).startswith(b"HTTP/1.1 200 ")
        sock.sendall(request[:10])
        assert not _closed_within(sock, KEEP_ALIVE_S * 3)
        assert _answer(sock, request[10:]).startswith(b"HTTP/1.1 200 ")
