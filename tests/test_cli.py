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
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.1", False),
        ("example.org", False),
        ("", False),
    ],
)
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
    assert (
        cli.main(
            [
                "serve",
                "--config",
                str(config),
                "--admin-token",
                "from-flag",
                "--journal-entries",
                "1",
                "--control-body-bytes",
                "2",
            ]
        )
        == 0
    )
    settings = served[-1][0]
    assert settings.admin_token == "from-flag"
    assert (settings.journal_entries, settings.control_body_bytes) == (1, 2)


def test_a_bad_bound_is_a_one_line_error(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["serve", "--journal-bytes", "-1"]) == 2
    assert (
        capsys.readouterr().err
        == "bre: --journal-bytes -1: expected an integer from 0 to 1099511627776\n"
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--config", "{config}"], "bre: --config {config}: rules.restore.mode: "),
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
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(words.replace("{config}", str(config)))
    assert done.stderr.count("\n") == 1
    assert done.stdout == ""


# --- the one table of settings (engine.options) ------------------------------------------------


def test_bre_version_names_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib import metadata

    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"bre {metadata.version('qradar-bre-sim')}\n"


def test_serve_help_shows_every_setting_with_its_default() -> None:
    from engine import options

    shown = subprocess.run(
        [sys.executable, "-m", "engine", "serve", "--help"],
        capture_output=True,
        text=True,
        env={"COLUMNS": "400", "PATH": ""},
        check=True,
    ).stdout
    text = " ".join(shown.split())
    for option in options.OPTIONS:
        line = " ".join(options.help_line(option).split())
        assert f"{option.flag_name} " in text
        assert f"(default: {option.shown_default()}; env {option.env_name}; " in line
        assert line in text, line


def test_host_and_port_from_the_environment(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRE_HOST", "127.0.0.2")
    monkeypatch.setenv("BRE_PORT", "8123")
    assert cli.main(["serve"]) == 0
    ((_, listen),) = served
    assert (listen.host, listen.port) == ("127.0.0.2", 8123)
    served.clear()
    assert cli.main(["serve", "--port", "8124"]) == 0  # a flag over a variable
    assert served[0][1].port == 8124


def test_every_setting_is_a_flag_a_variable_and_a_config_key(tmp_path: Path) -> None:
    """The same value given three ways resolves to the same thing."""
    from engine import options

    samples = {"int": "7", "float": "2.5", "bool": "true"}
    for option in options.OPTIONS:
        if option.key in (
            "world",
            "rules",
            "tokens",
            "clock",
            "recovery",
            "log_format",
            "log_level",
            "db",
            "host",
            "admin_token",
            "release",
            "certfile",
            "keyfile",
            "session_idle_s",
        ):
            raw = {
                "world": "{rebalancing: true}",
                "rules": "{restore: {mode: poll}}",
                "tokens": "abc",
                "clock": "virtual",
                "recovery": "fail",
                "log_format": "json",
                "log_level": "DEBUG",
                "db": "x.db",
                "host": "127.0.0.3",
                "admin_token": "secret-7",
                "release": "7.5.0 UP6",
                "certfile": "cert.pem",
                "keyfile": "key.pem",
                "session_idle_s": "7",
            }[option.key]
        elif option.switch is not None:
            raw = "true" if option.switch else "false"
        else:
            raw = samples["float" if option.metavar == "S" else "int"]
        by_env = options.resolve({}, environ={option.env_name: raw})
        config = tmp_path / f"{option.key}.yaml"
        config.write_text(f"{option.key}: {raw}\n")
        by_config = options.resolve({}, str(config), environ={})
        flag: object = (
            [raw] if option.repeat else (option.switch if option.switch is not None else raw)
        )
        by_flag = options.resolve({option.key: flag}, environ={})
        assert by_env == by_config == by_flag, option.key
        assert by_flag != options.resolve({}, environ={}), option.key


@pytest.mark.parametrize(
    ("args", "env", "config", "says"),
    [
        (["--port", "99999"], {}, None, "bre: --port 99999: expected an integer from 0 to 65535"),
        ([], {"BRE_PORT": "http"}, None, "bre: BRE_PORT='http': expected an integer from 0 to"),
        ([], {"BRE_HOST": "a\nb"}, None, "bre: BRE_HOST='a\\nb': expected a non-empty line"),
        (["--clock", "fast"], {}, None, "bre: --clock fast: expected one of real, virtual"),
        (["--keep-alive", "nan"], {}, None, "bre: --keep-alive nan: expected a number of sec"),
        (["--workers", "0"], {}, None, "bre: --workers 0: expected an integer from 1 to 64"),
        (["--log-level", "LOUD"], {}, None, "bre: --log-level LOUD: expected one of DEBUG,"),
        ([], {"BRE_SAMPLE_KEYS": "maybe"}, None, "bre: BRE_SAMPLE_KEYS='maybe': expected true"),
        ([], {}, "port: 70000", "bre: --config {config}: port: 70000: expected an integer"),
        ([], {}, "colour: blue", "bre: --config {config}: 'colour' is not a setting (keys: host,"),
        ([], {}, "- 1", "bre: --config {config}: expected a mapping of settings"),
        (["--rules", "{restore: {mode: x}}"], {}, None, "bre: --rules: rules.restore.mode: "),
    ],
)
def test_a_bad_value_is_one_line_naming_it_and_what_is_allowed(
    served: Served,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    args: list[str],
    env: dict[str, str],
    config: str | None,
    says: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if config is not None:
        path = tmp_path / "bre.yaml"
        path.write_text(config + "\n")
        args = [*args, "--config", str(path)]
        says = says.replace("{config}", str(path))
    assert cli.main(["serve", *args]) == 2
    error = capsys.readouterr().err
    assert error.startswith(says), error
    assert error.count("\n") == 1
    assert served == []


def test_a_database_in_a_missing_directory_is_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "engine", "serve", "--port", "0", "--db", "/nonexistent/dir/x.db"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("bre: database /nonexistent/dir/x.db: ")
    assert "/nonexistent/dir does not exist" in done.stderr
    assert done.stderr.count("\n") == 1


def test_make_run_passes_host_port_and_db_on() -> None:
    makefile = (Path(__file__).parent.parent / "Makefile").read_text()
    assert "bre serve --host $(HOST) --port $(PORT) --db $(DB)" in makefile
    assert "make run PORT=" in (Path(__file__).parent.parent / "README.md").read_text()


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
    assert "--release 7.9: expected a QRadar release" in error


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


@pytest.mark.parametrize("argv", [["serve", "--bogus"], ["serve", "--workers"], ["serve", "-x"]])
def test_a_serve_usage_error_is_the_whole_parser_s(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`bre serve` parses with its own parser alone (start-up), but an error reads as the
    whole parser's (whose usage line names every command)."""
    with pytest.raises(SystemExit):
        cli.parser().parse_args(argv)
    expected = capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    assert capsys.readouterr().err == expected
