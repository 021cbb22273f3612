"""One owner per port: a second `bre serve` on a port in use is a one-line error, not a share."""

from __future__ import annotations

import asyncio
import socket
import subprocess

import httpx
import pytest

from engine.server import YOUNG_COLLECTION_THRESHOLD, _Corked
from tests.support.serving import bre, serve


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(bre(*args), capture_output=True, text=True, timeout=60)


def test_a_second_server_on_a_port_in_use_stops_with_one_line() -> None:
    with serve() as first:
        second = run("serve", "--port", str(first.port), "--db", ":memory:")
        assert second.returncode == 2
        assert second.stdout == ""
        assert second.stderr.count("\n") == 1, second.stderr
        assert second.stderr.startswith(f"bre: --port {first.port}: ")
        assert "is in use by another process" in second.stderr
        # the first one still answers, alone
        assert httpx.get(f"{first.url}/simulator/health").json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("port", "says"),
    [
        ("99999", "expected an integer from 0 to 65535"),
        ("-1", "expected an integer from 0 to 65535"),
    ],
)
def test_a_port_out_of_range_is_one_line(port: str, says: str) -> None:
    result = run("serve", "--port", port)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"bre: --port {port}: {says}")


#: What `bre serve` must not import before it answers: the web page and the OpenAPI document
#: (made at their first request), YAML (only for a config file or a structure given as text),
#: rich and greenlet (structlog's, for a terminal and for its deprecated thread-locals),
#: WebSocket support (no route takes an upgrade), uvicorn's own command line and reloaders.
NOT_AT_START = (
    "engine.web.page",
    "engine.api.openapi",
    "yaml",
    "rich",
    "greenlet",
    "websockets",
    "uvicorn.main",
    "click",
    "watchfiles",
    "multiprocessing",
)

_STATE_AT_READY = """
import builtins, gc, os, sys
def ready(*args, **kwargs):
    if args and str(args[0]).startswith("ready: "):
        sys.stdout.write(" ".join(sorted(sys.modules)) + "\\n")
        frozen, young = gc.get_freeze_count() > 0, gc.get_threshold()[0]
        sys.stdout.write(f"gc {gc.isenabled()} {frozen} {young}\\n")
        sys.stdout.flush()
        os._exit(0)
builtins.print = ready
import runpy
sys.argv = ["engine", "serve", "--port", "0", "--db", ":memory:", "--log-format", "json"]
runpy.run_module("engine", run_name="__main__")
"""


def _state_at_ready() -> tuple[set[str], str]:
    """The modules `python -m engine serve` has loaded when it prints its ready line, and
    whether cyclic collections are on (and start-up's objects frozen) by then."""
    result = subprocess.run(
        [bre()[0], "-c", _STATE_AT_READY], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    modules, gc_state = result.stdout.splitlines()
    return set(modules.split()), gc_state


def test_serve_is_ready_without_the_modules_its_first_answer_does_not_need() -> None:
    """Start-up cost (issue 12, point 4): each of these was milliseconds of it."""
    loaded, _ = _state_at_ready()
    assert "engine.server" in loaded  # the line came from a server that started
    assert [
        m for m in NOT_AT_START if m in loaded or any(n.startswith(m + ".") for n in loaded)
    ] == []


def test_serve_collects_cycles_again_once_it_serves() -> None:
    """Start-up runs without cyclic collections; serving must not (memory would grow)."""
    _, gc_state = _state_at_ready()
    assert gc_state == f"gc True True {YOUNG_COLLECTION_THRESHOLD}"


class _Recorded(asyncio.Transport):
    """A transport that keeps what is written to it, in order, one entry per write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.writes.append(b"<close>")
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 7


async def test_a_response_head_and_its_body_go_out_in_one_write() -> None:
    transport = _Recorded()
    corked = _Corked(transport, asyncio.get_running_loop())
    corked.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    assert transport.writes == []
    corked.write(b"{}")
    assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    corked.write(b"more")  # not a head: at once
    assert transport.writes[-1] == b"more"
    assert corked.get_write_buffer_size() == 7  # the rest is the transport's own


async def test_a_head_alone_goes_out_at_the_end_of_the_loop_turn_and_before_a_close() -> None:
    transport = _Recorded()
    corked = _Corked(transport, asyncio.get_running_loop())
    corked.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")  # a stream's head
    await asyncio.sleep(0)
    assert transport.writes == [b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"]
    corked.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n")
    corked.close()
    assert transport.writes[1:] == [
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n",
        b"<close>",
    ]
    await asyncio.sleep(0)  # the pending turn-end send finds nothing held: no second copy
    assert len(transport.writes) == 3


def test_a_served_response_through_the_corked_transport_arrives_whole() -> None:
    """Over a real socket: the head, then the body, nothing held back nor sent twice."""
    with serve() as served:
        with socket.create_connection(("127.0.0.1", served.port)) as client:
            client.sendall(b"GET /simulator/health HTTP/1.1\r\nhost: x\r\n\r\n")
            first = client.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 OK\r\n")
        assert first.endswith(b'{"status":"ok"}'), first
