"""`bre load` against real `bre serve` processes: conflicts provoked, invariants held."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main
from tests.support.serving import serve

CONFLICTS = {"409/1011", "409/1014", "409/1015", "409/1016"}
MIX = "poller=8,restore=4,backup=3,rebalance=1,lister=2"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[list[str]]:
    """`bre serve` as a subprocess on a free port, an SQLite file; the `bre load` arguments
    that target it (its URL and the admin credential of its ready line)."""
    with serve("--db", str(tmp_path / "served.sqlite3")) as server:
        yield ["--target", server.url, "--admin-token", server.fields["admin"]]


def load(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "report.json"
    status = main(["load", "--json", str(out), "--no-progress", "--quiet", "--seed", "7", *args])
    return status, json.loads(out.read_text())


def assert_clean(report: dict[str, Any]) -> None:
    assert report["violation_counts"] == {}, report["violations"][:10]
    assert not any(k.startswith("5") or k == "no answer" for k in report["statuses"])
    assert report["final_checks"] > 0


@pytest.mark.slow
def test_every_conflict_code_against_a_served_simulator(served: list[str], tmp_path: Path) -> None:
    status, report = load(tmp_path, *served, "--duration", "8", "--clients", "24", "--mix", MIX)
    assert_clean(report)
    assert status == 0
    assert set(report["codes"]) >= CONFLICTS, report["codes"]
    assert report["endpoints"]["POST /restores/{id}"]["statuses"].get("200", 0) > 0


@pytest.mark.slow
def test_two_servers_sharing_one_database_file(tmp_path: Path) -> None:
    status, report = load(
        tmp_path,
        "--spawn",
        "2",
        "--db",
        str(tmp_path / "shared.sqlite3"),
        "--duration",
        "8",
        "--clients",
        "24",
        "--mix",
        MIX,
    )
    assert_clean(report)
    assert status == 0
    assert len(report["servers"]) == 2
    assert set(report["codes"]) >= CONFLICTS, report["codes"]


@pytest.mark.slow
def test_bad_input_gets_qradar_4xx_and_disturbs_nothing(served: list[str], tmp_path: Path) -> None:
    status, report = load(
        tmp_path,
        *served,
        "--duration",
        "6",
        "--clients",
        "24",
        "--mix",
        MIX + ",bad=4",
    )
    assert_clean(report)
    assert status == 0
    bad = report["bad_input"]
    assert sum(bad.values()) > 20
    assert all(": 4" in key for key in bad), bad  # "<case>: 4xx/code" only
    assert any(key.startswith("oversized body: 413") for key in bad), bad
    assert any(key.startswith("wrong token: 401/18") for key in bad), bad
    assert set(report["codes"]) >= CONFLICTS, report["codes"]


def test_a_bad_mix_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", "--mix", "pollers=1", "--no-progress"]) == 2
    assert "unknown role 'pollers'" in capsys.readouterr().err


def test_a_served_target_needs_the_admin_credential(
    served: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    target = served[:2]  # --target URL, without --admin-token
    status = main(["load", *target, "--duration", "1", "--no-progress", "--quiet"])
    assert status == 2
    assert "--admin-token or BRE_ADMIN_TOKEN" in capsys.readouterr().err


def free_ports(count: int) -> int:
    """The first of `count` consecutive ports free now (a race with other tests is unlikely)."""
    import socket

    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        if first + count > 65535:
            continue
        try:
            for port in range(first, first + count):
                with socket.socket() as taken:
                    taken.bind(("127.0.0.1", port))
        except OSError:
            continue
        return first
    raise AssertionError("no free consecutive ports")


@pytest.mark.slow
@pytest.mark.parametrize("separate", [False, True])
def test_spawned_servers_listen_on_the_port_given(tmp_path: Path, separate: bool) -> None:
    port = free_ports(2)
    status, report = load(
        tmp_path,
        "--spawn",
        "2",
        "--port",
        str(port),
        "--requests",
        "40",
        "--clients",
        "4",
        *(["--separate-ports"] if separate else []),
    )
    assert status == 0
    wanted = [port, port + 1] if separate else [port]
    assert all(f"http://127.0.0.1:{p}" in report["target"] for p in wanted), report["target"]


def test_a_port_out_of_range_for_spawned_servers_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["load", "--spawn", "1", "--port", "70000"])
    assert done.value.code == 2
    assert "--port: 70000: expected a port, 0 to 65535" in capsys.readouterr().err
