"""The `bre` command: `serve`, `replay`, `load`. Each subcommand lives with its module."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from engine import logs
from engine.control.schema import ControlError
from engine.control.world import read_world
from engine.load import command as load_command
from engine.scenarios import command as scenario_command
from engine.simulator import DEFAULT_BASIC, DEFAULT_TOKEN, Settings, SettingsError

Command = Callable[[argparse.Namespace], int]
_CONFIG_KEYS = ("db", "clock", "seed", "recovery", "tokens", "world", "rules", "sample_keys",
                "scan_interval_s", "autojump", "admin_token", "control_auth", "journal_entries",
                "journal_header_bytes", "journal_bytes", "control_body_bytes")  # fmt: skip
_DEFAULTS = Settings()
#: Flags of `bre serve` that set a `Settings` field of the same name.
_FLAGS = ("db", "clock", "seed", "recovery", "admin_token", "journal_entries",
          "journal_header_bytes", "journal_bytes", "control_body_bytes")  # fmt: skip


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings: defaults, then BRE_* variables, then --config FILE, then flags."""
    values: dict[str, Any] = {}
    if getattr(args, "config", None):
        path = Path(args.config)
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise SettingsError(f"--config {path}: {error}") from None
        if not isinstance(data, dict):
            raise SettingsError(f"--config {path}: expected a mapping")
        for key, value in data.items():
            if key not in _CONFIG_KEYS:
                raise SettingsError(
                    f"--config {path}: unknown key {key!r} (allowed: {', '.join(_CONFIG_KEYS)})"
                )
            values[key] = value
        if "world" in values:
            try:
                values["world"] = read_world(values["world"])
            except ControlError as error:
                raise SettingsError(f"--config {path}: {error}") from None
        if "tokens" in values:
            values["tokens"] = tuple(str(t) for t in values["tokens"])
    for key in _FLAGS:
        if getattr(args, key, None) is not None:
            values[key] = getattr(args, key)
    if getattr(args, "token", None):
        values["tokens"] = tuple(args.token)
    if getattr(args, "no_control_auth", False):
        values["control_auth"] = False
    return Settings.from_env(os.environ, **values)


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach `host` (names other than localhost are not trusted
    to resolve to loopback)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure(host: str, settings: Settings) -> str | None:
    """Refuse an open control surface beyond loopback; warn of well-known credentials there."""
    if is_loopback(host):
        return None
    if not settings.control_auth:
        raise SettingsError(
            f"--no-control-auth (control_auth off) is for a loopback --host only, not {host!r}: "
            "anyone reaching the port could change every console; give --admin-token instead"
        )
    defaults = [f"token {DEFAULT_TOKEN}" for t in settings.tokens if t == DEFAULT_TOKEN]
    defaults += [f"Basic {u}:{p}" for u, p in settings.basic if (u, p) == DEFAULT_BASIC]
    if not defaults:
        return None
    return (
        f"bre: warning: serving on {host} with the well-known default credentials "
        f"({', '.join(defaults)}): anyone who reaches the port can use the API; "
        "give --token to choose the console's token"
    )


def _serve(args: argparse.Namespace) -> int:
    from engine.server import Listen, run

    logs.configure(args.log_format, args.log_level)
    if args.clock is None:
        args.clock = "real"
    settings = settings_from(args)
    warning = exposure(args.host, settings)
    if warning is not None:
        print(warning, file=sys.stderr, flush=True)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    run(settings, Listen(args.host, args.port))
    return 0


def _add_serve(sub: Any) -> None:
    p = sub.add_parser("serve", help="serve the REST API and the control surface")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port (printed)")
    p.add_argument("--db", default=None, help="an SQLite file, or :memory: (default)")
    p.add_argument("--token", action="append", help="SEC token of the default console (repeatable)")
    p.add_argument(
        "--admin-token",
        default=None,
        help="the control surface's credential (Authorization: Bearer); default: "
        "BRE_ADMIN_TOKEN, else a random one, printed in the ready line",
    )
    p.add_argument(
        "--no-control-auth",
        action="store_true",
        help="the control surface answers anyone: throwaway use on a loopback --host only",
    )
    p.add_argument(
        "--journal-entries",
        type=int,
        default=None,
        help=f"requests kept in each console's journal (default {_DEFAULTS.journal_entries})",
    )
    p.add_argument(
        "--journal-header-bytes",
        type=int,
        default=None,
        help=f"header bytes kept per journal entry (default {_DEFAULTS.journal_header_bytes})",
    )
    p.add_argument(
        "--journal-bytes",
        type=int,
        default=None,
        help="journal bytes per console, the oldest entries dropped first "
        f"(default {_DEFAULTS.journal_bytes})",
    )
    p.add_argument(
        "--control-body-bytes",
        type=int,
        default=None,
        help="the largest control request body: 413 beyond "
        f"(default {_DEFAULTS.control_body_bytes})",
    )
    p.add_argument(
        "--config", help="a YAML file of settings (db, clock, seed, tokens, world, rules)"
    )
    p.add_argument("--clock", choices=("real", "virtual"), default=None, help="default: real")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument(
        "--recovery",
        choices=("resume", "fail"),
        default=None,
        help="what happens to jobs in flight after a restart (default: resume)",
    )
    p.add_argument("--cpu", type=int, default=None, help="pin the process to one CPU")
    p.add_argument("--log-format", choices=("auto", "json", "console"), default="auto")
    p.add_argument("--log-level", default="INFO")
    p.set_defaults(run=_serve)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bre", description="QRadar Backup and Restore Engine simulator"
    )
    sub = p.add_subparsers(dest="command", required=True)
    _add_serve(sub)
    scenario_command.add_command(sub)
    load_command.add_command(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    run: Command = args.run
    try:
        return run(args)
    except (SettingsError, ControlError) as error:  # a setting, or a value it hands a console
        print(f"bre: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
