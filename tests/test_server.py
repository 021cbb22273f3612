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
