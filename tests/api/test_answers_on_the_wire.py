"""`/api` answers as bytes on a socket of a real `bre serve`, whose transport may hold an
answer's head to send it with the body in one write: that must never hold back a
`100 Continue` for long, lose the head of a HEAD answer, or merge two answers of one
connection."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.support.http import API, TOKEN
from tests.support.serving import Served, serve


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    with serve("--db", ":memory:", "--token", TOKEN) as served:
        yield served


def _read_answer(
    sock: socket.socket, buffer: bytearray, *, head_only: bool = False
) -> tuple[bytes, dict[str, str], bytes]:
    """One answer (status line, headers, body by its Content-Length) from the socket."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed before an answer was whole: {bytes(buffer)!r}"
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = 0 if head_only else int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "the connection closed before a body was whole"
        rest += chunk
    buffer[:] = rest[length:]
    return status, headers, rest[:length]


def _request(
    method: str, path: str, body: bytes = b"", extra: str = "", *, send: bool = True
) -> bytes:
    """A request's bytes; `send=False`: its head alone (the body announced, not sent yet)."""
    return (
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nSEC: {TOKEN}\r\nVersion: 26.0\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + (body if send else b"")


def test_a_100_continue_goes_out_before_the_body_is_sent(server: Served) -> None:
    body = b'{"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"]}'
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            _request("POST", f"{API}/restores", body, "Expect: 100-continue\r\n", send=False)
        )
        buffer = bytearray()
        while b"\r\n\r\n" not in buffer:  # nothing of the body sent yet: only the 100 can come
            chunk = sock.recv(65536)
            assert chunk
            buffer += chunk
        assert bytes(buffer).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        del buffer[: len(b"HTTP/1.1 100 Continue\r\n\r\n")]
        sock.sendall(body)
        status, _, answer = _read_answer(sock, buffer)
        assert status == b"HTTP/1.1 201 Created"
        restore = json.loads(answer)
        sock.sendall(_request("DELETE", f"{API}/restores/{restore['id']}"))
        status, _headers, answer = _read_answer(sock, buffer)
        assert (status, answer) == (b"HTTP/1.1 204 No Content", b"")


def test_answers_of_one_connection_stay_apart(server: Served) -> None:
    """A body, an empty answer, a HEAD and an error, back to back on one connection: each
    answer is its own head and body, in order."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        buffer = bytearray()
        sock.sendall(_request("GET", f"{API}/backups/1"))
        status, _, answer = _read_answer(sock, buffer)
        assert status == b"HTTP/1.1 200 OK"
        assert json.loads(answer)["id"] == 1
        sock.sendall(_request("HEAD", f"{API}/backups/1"))
        status, _headers, answer = _read_answer(sock, buffer, head_only=True)  # no body follows
        assert status == b"HTTP/1.1 200 OK"
        assert answer == b""
        sock.sendall(_request("GET", f"{API}/backups/999999"))
        status, _, answer = _read_answer(sock, buffer)
        assert status == b"HTTP/1.1 404 Not Found"
        assert json.loads(answer)["code"] == 1001
        assert not buffer


def test_a_large_answer_arrives_whole(server: Served) -> None:
    """An answer larger than a joined write (its head goes out first, then the body) arrives
    whole, as the in-process app answers it."""
    answer = httpx.get(f"{server.url}/api/help/endpoints", headers={"SEC": TOKEN}, timeout=30)
    assert answer.status_code == 200
    assert len(answer.content) == int(answer.headers["content-length"]) > 65_536
    assert isinstance(answer.json(), list)
