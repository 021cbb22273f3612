"""`bre serve`'s settings and its refusals, without serving (the server's `run` is replaced)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine import cli, logs, server
from engine.simulator import Settings

Served = list[tuple[Settings, Any]]


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Served:
    """What `bre serve` would have served: (settings, listen) per call."""
    calls: Served = []
    monkeypatch.setattr(server, "run", lambda settings, listen: calls.append((settings, listen)))
    monkeypatch.setattr(logs, "configure", lambda *args: None)  # the process's, not the suite's
    for name in ("BRE_ADMIN_TOKEN", "BRE_CONTROL_AUTH", "BRE_JOURNAL_ENTRIES"):
        monkeypatch.delenv(name, raising=False)
    return calls


def test_no_control_auth_is_refused_beyond_loopback(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(["serve", "--host", "0.0.0.0", "--no-control-auth"])
    assert status == 2
    assert served == []
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith("bre: --no-control-auth")
    assert "'0.0.0.0'" in error


def test_control_auth_off_from_the_environment_is_refused_too(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRE_CONTROL_AUTH", "off")
    assert cli.main(["serve", "--host", "192.0.2.1"]) == 2
    assert served == []


def test_no_control_auth_on_loopback_serves(served: Served) -> None:
    assert cli.main(["serve", "--host", "127.0.0.1", "--no-control-auth"]) == 0
    ((settings, _),) = served
    assert settings.control_auth is False


def test_serving_beyond_loopback_with_default_credentials_warns(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["serve", "--host", "0.0.0.0"]) == 0
    warning = capsys.readouterr().err
    assert warning.startswith("bre: warning: serving on 0.0.0.0 with the well-known default")
    assert "token bre-sim-token" in warning
    assert "Basic admin:admin" in warning
    assert cli.main(["serve", "--host", "0.0.0.0", "--token", "chosen-token"]) == 0
    assert "token bre-sim-token" not in capsys.readouterr().err
    assert cli.main(["serve", "--host", "::1"]) == 0
    assert capsys.readouterr().err == ""  # loopback: nothing to warn of


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("0.0.0.0", False), ("::", False), ("10.0.0.1", False),
     ("example.org", False), ("", False)],
)  # fmt: skip
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert cli.is_loopback(host) is loopback


def test_bounds_and_admin_token_from_flags_config_and_environment(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "bre.yaml"
    config.write_text(
        "admin_token: from-config\njournal_entries: 10\njournal_header_bytes: 20\n"
        "journal_bytes: 30\ncontrol_body_bytes: 40\n"
    )
    monkeypatch.setenv("BRE_JOURNAL_ENTRIES", "5")
    assert cli.main(["serve", "--config", str(config)]) == 0
    settings = served[-1][0]
    assert settings.admin_token == "from-config"  # the file over the environment
    assert (settings.journal_entries, settings.journal_header_bytes) == (10, 20)
    assert (settings.journal_bytes, settings.control_body_bytes) == (30, 40)
    assert cli.main(["serve", "--config", str(config), "--admin-token", "from-flag",
                     "--journal-entries", "1", "--control-body-bytes", "2"]) == 0  # fmt: skip
    settings = served[-1][0]
    assert settings.admin_token == "from-flag"
    assert (settings.journal_entries, settings.control_body_bytes) == (1, 2)


def test_a_bad_bound_is_a_one_line_error(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["serve", "--journal-bytes", "-1"]) == 2
    assert capsys.readouterr().err == "bre: journal_bytes=-1: expected a non-negative integer\n"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--config", "{config}"], "bre: rules.restore.mode: "),
        (["--token", "a b"], "bre: tokens[0]: "),
    ],
)
def test_a_bad_value_for_the_default_console_stops_bre_serve(
    tmp_path: Path, args: list[str], words: str
) -> None:
    """A value the default console refuses is a one-line error, and the process exits (it
    printed the line, then hung on what the half-started simulator left running)."""
    config = tmp_path / "bre.yaml"
    config.write_text("rules:\n  restore: {mode: bogus}\n")
    command = [
        sys.executable,
        "-m",
        "engine",
        "serve",
        "--port",
        "0",
        "--db",
        ":memory:",
        "--log-level",
        "WARNING",
        *(a.replace("{config}", str(config)) for a in args),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(words)
    assert done.stderr.count("\n") == 1
    assert done.stdout == ""


# --- the console's release, sessions and HTTPS (issue 13) ------------------------------------


def test_release_from_flag_environment_and_config(
    served: Served, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert cli.main(["serve", "--release", "7.5.0 UP6"]) == 0
    monkeypatch.setenv("BRE_RELEASE", "7.4.0")
    assert cli.main(["serve"]) == 0
    config = tmp_path / "bre.yaml"
    config.write_text("release: 7.5.0 UP2\nsessions: 5\nsession_idle_s: 60\n")
    assert cli.main(["serve", "--config", str(config)]) == 0
    assert [s.release for s, _ in served] == ["7.5.0 UP6", "7.4.0", "7.5.0 UP2"]
    assert (served[2][0].sessions, served[2][0].session_idle_s) == (5, 60)


def test_an_unknown_release_is_one_line(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--release", "7.9"]) == 2
    assert served == []
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "'7.9' is not a QRadar release" in error


def test_session_flags(served: Served) -> None:
    assert cli.main(["serve", "--sessions", "0", "--session-idle", "90"]) == 0
    ((settings, _),) = served
    assert (settings.sessions, settings.session_idle_s) == (0, 90)


def test_tls_makes_a_certificate_for_the_run_and_removes_it(served: Served) -> None:
    assert cli.main(["serve", "--tls"]) == 0
    ((_, listen),) = served
    assert listen.scheme == "https"
    assert listen.tls.ca is not None
    assert not Path(listen.tls.ca).exists()  # removed when the server stopped
