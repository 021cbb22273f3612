"""`bre serve` answers a complete `/api` request without a body (GET, HEAD) itself, without
uvicorn's ASGI cycle (engine/server.py, `_direct`): its bytes must be the ASGI path's. A request
with an `X-Forwarded-For` header takes the ASGI path (uvicorn's proxy headers middleware reads
it) and answers the same, so each request here is sent both ways to one real server and the
answers compared byte for byte, all but the `date` line."""

from __future__ import annotations

import base64
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.support.http import API, TOKEN
from tests.support.serving import Served, serve

ORIGIN = "https://app.example"
BASIC = "Basic " + base64.b64encode(b"admin:admin").decode()
ASGI = "X-Forwarded-For: 127.0.0.1\r\n"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Served, int]]:
    with _server("--db", ":memory:") as found:
        yield found


@contextmanager
def _server(*args: str) -> Iterator[tuple[Served, int]]:
    """A server with a restore (its id) and an origin allowed."""
    with serve(*args, "--token", TOKEN) as served:
        admin = {"Authorization": f"Bearer {served.fields['admin']}"}
        with httpx.Client(base_url=served.url, headers={"SEC": TOKEN, "Version": "26.0"}) as http:
            created = http.post(
                f"{API}/restores", json={"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"]}
            )
            created.raise_for_status()
            http.post(
                "/simulator/consoles/default/control",
                json={"allowed_origins": [ORIGIN]},
                headers=admin,
            ).raise_for_status()
        yield served, created.json()["id"]


def _without_date(answer: bytes) -> bytes:
    head, sep, body = answer.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"date:")]
    return b"\r\n".join(lines) + sep + body


def _until_closed(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
    return bytes(received)


def _one_answer(sock: socket.socket, buffer: bytearray, head_only: bool) -> bytes:
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, bytes(buffer)
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length" and not head_only:
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "closed before the body was whole"
        rest += chunk
    buffer[:] = rest[length:]
    return head + b"\r\n\r\n" + rest[:length]


def _request(method: str, target: str, lines: str, version: str = "1.1") -> str:
    return f"{method} /api{target} HTTP/{version}\r\nHost: x\r\n{lines}"


def _cases(restore: int) -> list[str]:
    """Request heads without their blank line: both versions, HEAD, errors, sessions, CORS,
    Range, fields, filter."""
    sec, v = f"SEC: {TOKEN}\r\n", "Version: 26.0\r\n"
    one = f"/backup_and_restore/restores/{restore}"
    return [
        _request("GET", one, sec + v),
        _request("GET", one, sec),  # the newest version
        _request("GET", one, sec + "Version: 20.0\r\n"),
        _request("GET", one, sec + "Version: 12.0\r\n"),
        _request("GET", one, sec + "Version: 1.0\r\n"),  # 422
        _request("GET", one, sec + "Version: nonsense\r\n"),  # 422
        _request("HEAD", one, sec + v),
        _request("GET", one, v),  # 401
        _request("GET", one, f"SEC: wrong\r\n{v}"),  # 401
        _request("GET", "/backup_and_restore/restores/999999", sec + v),  # 404
        _request("GET", "/backup_and_restore/restores/x", sec + v),  # 422
        _request("GET", "/no/such/path", sec + v),  # 404
        _request("GET", one, sec + v + "Accept: text/html\r\n"),  # 406
        _request("GET", one, sec + v + "Accept: application/json;q=0.9, */*\r\n"),
        _request("GET", one + "?fields=id,status", sec + v),
        _request("GET", one + "?fields=nope", sec + v),
        _request("GET", "/backup_and_restore/restores", sec + v + "Range: items=0-0\r\n"),
        _request("GET", "/backup_and_restore/restores?filter=id%3E0&sort=-id", sec + v),
        _request("GET", "/backup_and_restore/backups", sec + v + "fields: id\r\n"),
        _request("HEAD", "/backup_and_restore/backups", sec + v),
        _request("GET", "/backup_and_restore/restores/%31", sec + v),
        _request("GET", "/help/versions", sec + v),
        _request("GET", "/auth/logout", sec + v),  # 405 with Allow
        _request("GET", one, f"Authorization: {BASIC}\r\n{v}"),  # opens a session: cookies
        _request("GET", one, f"Authorization: Basic bm9wZQ==\r\n{v}"),  # 401
        _request("GET", one, f"{sec}{v}Origin: {ORIGIN}\r\n"),  # CORS headers
        _request("GET", one, f"{sec}{v}Origin: https://other.example\r\n"),
        _request("GET", one, sec + v, version="1.0"),
        _request("GET", one, sec + v + "Connection: keep-alive\r\n", version="1.0"),
        _request("GET", one, sec + v + "Proxy-Connection: keep-alive\r\n", version="1.0"),
        _request("HEAD", one, sec + v + "Connection: keep-alive\r\n", version="1.0"),
        f"GET http://x/api{one}?fields=id HTTP/1.1\r\nHost: x\r\n{sec}{v}",  # absolute form
        f"GET /api{one}#part HTTP/1.1\r\nHost: x\r\n{sec}{v}",
        f"GET /%61pi{one} HTTP/1.1\r\nHost: x\r\n{sec}{v}",
        _request("GET", "", sec + v),
    ]


def test_each_answer_is_the_asgi_paths(server: tuple[Served, int]) -> None:
    _compare_each(*server)


def test_each_answer_is_the_asgi_paths_on_postgresql(pg_url: str) -> None:
    """PostgreSQL reads wait for the reader thread."""
    with _server("--db", pg_url) as (served, restore):
        _compare_each(served, restore)


def _compare_each(served: Served, restore: int) -> None:
    for case in _cases(restore):
        close = "" if " HTTP/1.0\r\n" in case else "Connection: close\r\n"
        direct = _until_closed(served.port, f"{case}{close}\r\n".encode())
        asgi = _until_closed(served.port, f"{case}{ASGI}{close}\r\n".encode())
        assert direct.startswith(b"HTTP/1.1 "), case
        assert _without_date(direct) == _without_date(asgi), case


def test_a_session_cookie_answers_alike(server: tuple[Served, int]) -> None:
    served, restore = server
    login = _request(
        "GET", f"/backup_and_restore/restores/{restore}", f"Authorization: {BASIC}\r\n"
    )
    answer = _until_closed(served.port, f"{login}Connection: close\r\n\r\n".encode())
    cookies = [
        line.split(b":", 1)[1].split(b";")[0].strip().decode()
        for line in answer.split(b"\r\n")
        if line.lower().startswith(b"set-cookie:")
    ]
    assert len(cookies) == 2
    case = _request(
        "GET", f"/backup_and_restore/restores/{restore}", f"Cookie: {'; '.join(cookies)}\r\n"
    )
    direct = _until_closed(served.port, f"{case}Connection: close\r\n\r\n".encode())
    asgi = _until_closed(served.port, f"{case}{ASGI}Connection: close\r\n\r\n".encode())
    assert b" 200 " in direct.split(b"\r\n", 1)[0]
    assert _without_date(direct) == _without_date(asgi)


def test_a_kept_alive_connection_answers_alike(server: tuple[Served, int]) -> None:
    """Answers one after the other on one connection, and all at once (pipelined)."""
    served, restore = server
    cases = [c for c in _cases(restore) if "HTTP/1.0" not in c.split("\r\n", 1)[0]]

    def answers(extra: str, pipelined: bool) -> list[bytes]:
        found = []
        buffer = bytearray()
        with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
            if pipelined:
                sock.sendall(b"".join(f"{c}{extra}\r\n".encode() for c in cases))
            for case in cases:
                if not pipelined:
                    sock.sendall(f"{case}{extra}\r\n".encode())
                answer = _one_answer(sock, buffer, case.startswith("HEAD"))
                found.append(_without_date(answer))
        return found

    for pipelined in (False, True):
        direct, asgi = answers("", pipelined), answers(ASGI, pipelined)
        assert len(direct) == len(cases)
        for case, one, other in zip(cases, direct, asgi, strict=True):
            assert one == other, case


def test_an_answer_that_waits_answers_alike(server: tuple[Served, int]) -> None:
    """A fault's latency: the direct answer waits."""
    served, _ = server
    admin = {"Authorization": f"Bearer {served.fields['admin']}"}
    faults = [
        {"method": "GET", "path": f"{API}/backups/{{id}}", "latency": "30ms", "times": None},
        {"method": "GET", "path": f"{API}/backups", "latency": "10ms", "status": 500,
         "code": 1021, "times": None},
    ]  # fmt: skip
    control = f"{served.url}/simulator/consoles/default"
    for fault in faults:
        httpx.post(f"{control}/control", json={"fault": fault}, headers=admin).raise_for_status()
    try:
        for target in ("/backup_and_restore/backups/1", "/backup_and_restore/backups"):
            case = _request("GET", target, f"SEC: {TOKEN}\r\nVersion: 26.0\r\n")
            direct = _until_closed(served.port, f"{case}Connection: close\r\n\r\n".encode())
            asgi = _until_closed(served.port, f"{case}{ASGI}Connection: close\r\n\r\n".encode())
            assert direct.split(b"\r\n", 1)[0] in (
                b"HTTP/1.1 200 OK",
                b"HTTP/1.1 500 Internal Server Error",
            )
            assert _without_date(direct) == _without_date(asgi), target
    finally:
        httpx.delete(f"{control}/faults", headers=admin).raise_for_status()


def test_an_answer_in_flight_at_sigterm_is_whole_and_closes() -> None:
    """Graceful shutdown: an answer still waiting when the signal comes is sent, with
    `connection: close`, on both paths, and the process ends."""
    with serve("--db", ":memory:", "--token", TOKEN) as served:
        admin = {"Authorization": f"Bearer {served.fields['admin']}"}
        fault = {"method": "GET", "path": f"{API}/backups/{{id}}", "latency": "1s", "times": None}
        httpx.post(
            f"{served.url}/simulator/consoles/default/control",
            json={"fault": fault},
            headers=admin,
        ).raise_for_status()
        case = _request("GET", "/backup_and_restore/backups/1", f"SEC: {TOKEN}\r\n")
        socks = [socket.create_connection(("127.0.0.1", served.port), timeout=10) for _ in "ab"]
        try:
            socks[0].sendall(f"{case}\r\n".encode())
            socks[1].sendall(f"{case}{ASGI}\r\n".encode())
            time.sleep(0.3)
            served.process.send_signal(signal.SIGTERM)
            answers = []
            for sock in socks:
                received = bytearray()
                while chunk := sock.recv(65536):
                    received += chunk
                answers.append(_without_date(bytes(received)))
        finally:
            for sock in socks:
                sock.close()
        assert served.process.wait(10) == 0
    assert answers[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nconnection: close\r\n" in answers[0]
    assert answers[0] == answers[1]


def test_pipelined_requests_are_each_answered_with_their_own_headers(
    server: tuple[Served, int],
) -> None:
    """Requests read at once: each answer is its own request's (a later request's headers
    must not stand in for an earlier one's)."""
    served, restore = server
    one = f"/backup_and_restore/restores/{restore}"
    cases = [
        _request("GET", one, f"SEC: {TOKEN}\r\n"),
        _request("GET", one, ""),  # 401
        _request("GET", one, f"SEC: {TOKEN}\r\nAccept: text/html\r\n"),  # 406
        _request("GET", one, "SEC: wrong\r\n"),  # 401
    ]
    buffer = bytearray()
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(b"".join(f"{c}\r\n".encode() for c in cases))
        statuses = [_one_answer(sock, buffer, False).split(b"\r\n", 1)[0] for _ in cases]
    assert statuses == [
        b"HTTP/1.1 200 OK",
        b"HTTP/1.1 401 Unauthorized",
        b"HTTP/1.1 406 Not Acceptable",
        b"HTTP/1.1 401 Unauthorized",
    ]
