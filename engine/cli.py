"""The `bre` command: `serve`, `replay`, `load`. Each subcommand lives with its module."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from engine import logs
from engine.control.world import WorldError, read_world
from engine.load import command as load_command
from engine.scenarios import command as scenario_command
from engine.simulator import Settings, SettingsError
from engine.store.base import StorageError

Command = Callable[[argparse.Namespace], int]
_CONFIG_KEYS = ("db", "clock", "seed", "recovery", "tokens", "world", "rules", "sample_keys",
                "scan_interval_s", "autojump")  # fmt: skip


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
            except WorldError as error:
                raise SettingsError(f"--config {path}: {error}") from None
        if "tokens" in values:
            values["tokens"] = tuple(str(t) for t in values["tokens"])
    for flag, key in (("db", "db"), ("clock", "clock"), ("seed", "seed"), ("recovery", "recovery")):
        if getattr(args, flag, None) is not None:
            values[key] = getattr(args, flag)
    if getattr(args, "token", None):
        values["tokens"] = tuple(args.token)
    return Settings.from_env(os.environ, **values)


def _serve(args: argparse.Namespace) -> int:
    from engine.server import Listen, run

    logs.configure(args.log_format, args.log_level)
    if args.clock is None:
        args.clock = "real"
    settings = settings_from(args)
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
    except (SettingsError, StorageError) as error:  # one line naming the value and what to do
        print(f"bre: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
