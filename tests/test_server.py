"""One owner per port: a second `bre serve` on a port in use is a one-line error, not a share."""

from __future__ import annotations

import subprocess

import httpx
import pytest

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
#: rich (structlog's terminal tracebacks), WebSocket support (no route takes an upgrade).
NOT_AT_START = ("engine.web.page", "engine.api.openapi", "yaml", "rich", "websockets")

_MODULES_AT_READY = """
import builtins, os, sys
def ready(*args, **kwargs):
    if args and str(args[0]).startswith("ready: "):
        sys.stdout.write(" ".join(sorted(sys.modules)) + "\\n")
        sys.stdout.flush()
        os._exit(0)
builtins.print = ready
from engine.cli import main
main(["serve", "--port", "0", "--db", ":memory:", "--log-format", "json"])
"""


def test_serve_is_ready_without_the_modules_its_first_answer_does_not_need() -> None:
    """Start-up cost (issue 12, point 4): each of these was tens of milliseconds of it."""
    result = subprocess.run(
        [bre()[0], "-c", _MODULES_AT_READY], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert "engine.server" in loaded  # the line came from a server that started
    assert [
        m for m in NOT_AT_START if m in loaded or any(n.startswith(m + ".") for n in loaded)
    ] == []
