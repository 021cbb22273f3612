"""The `bre` command: `serve`, `replay`, `load`. Each subcommand lives with its module."""

from __future__ import annotations

import argparse
import ipaddress
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from engine import logs
from engine.api.connections import ConnectionLimits
from engine.control.schema import ControlError
from engine.control.world import read_world
from engine.load import command as load_command
from engine.scenarios import command as scenario_command
from engine.simulator import DEFAULT_BASIC, DEFAULT_TOKEN, Settings, SettingsError
from engine.store.base import StorageError
from engine.store.urls import is_postgres

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
    listen = Listen(args.host, args.port, _limits(args, ConnectionLimits()), fd=args.fd)
    if args.fd is None:  # a worker of `--workers N`: its parent has said it already
        warning = exposure(args.host, settings)
        if warning is not None:
            print(warning, file=sys.stderr, flush=True)
    if args.workers > 1:
        from engine import workers

        if settings.clock == "virtual" and not is_postgres(settings.db):
            raise SettingsError(
                f"--workers {args.workers}: needs --clock real (a virtual clock is one "
                "process's, except on PostgreSQL, where the processes share it)"
            )
        if settings.db == ":memory:":
            raise SettingsError(
                f"--workers {args.workers}: needs a database file the processes share (--db PATH)"
            )
        # one control-surface credential for every process (in the environment, not on the
        # command line where `ps` shows it)
        os.environ["BRE_ADMIN_TOKEN"] = settings.admin_token or secrets.token_urlsafe(32)
        return workers.run(_without_workers(args.argv), listen, args.workers)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    run(settings, listen)
    return 0


#: The connection limits of `bre serve`: (flag dest, field of ConnectionLimits, env variable).
_LIMITS = (
    ("header_timeout", "header_timeout_s", "BRE_HEADER_TIMEOUT"),
    ("body_timeout", "body_timeout_s", "BRE_BODY_TIMEOUT"),
    ("keep_alive", "keep_alive_s", "BRE_KEEP_ALIVE"),
    ("max_header_bytes", "max_header_bytes", "BRE_MAX_HEADER_BYTES"),
    ("max_connections", "max_connections", "BRE_MAX_CONNECTIONS"),
)


_LIMIT_HELP = {
    "header_timeout": "seconds a request's headers may take",
    "body_timeout": "seconds a request's body may take",
    "keep_alive": "seconds an idle connection is kept open",
    "max_header_bytes": "bytes of request headers, else 431",
    "max_connections": "open connections per process",
}


def _limits(args: argparse.Namespace, defaults: ConnectionLimits) -> ConnectionLimits:
    """ConnectionLimits from flags, else BRE_* variables, else the defaults."""
    values: dict[str, Any] = {}
    for dest, name, env in _LIMITS:
        kind = type(getattr(defaults, name))
        raw = getattr(args, dest, None)
        if raw is None and env in os.environ:
            raw = os.environ[env]
        if raw is None:
            continue
        try:
            value = kind(raw)
        except ValueError:
            raise SettingsError(f"{env}={raw!r}: expected a number") from None
        if value < 0 or (value == 0 and dest != "max_connections"):
            raise SettingsError(f"--{dest.replace('_', '-')} {raw}: expected a positive number")
        values[name] = value
    return replace(defaults, **values)


def _without_workers(argv: Sequence[str]) -> list[str]:
    """The serve arguments a worker process gets: the parent's, less `--workers N`."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            kept.append(arg)
    return kept


def _workers(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of processes") from None
    if not 1 <= count <= 64:
        raise argparse.ArgumentTypeError(f"{count}: expected 1 to 64 processes")
    return count


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
    p.add_argument(
        "--workers", type=_workers, default=1,
        help="processes serving one port on the shared database (default: 1)",
    )  # fmt: skip
    p.add_argument("--fd", type=int, default=None, help=argparse.SUPPRESS)  # from --workers
    limits = p.add_argument_group("connection limits (README: Security and limits)")
    default = ConnectionLimits()
    for dest, name, env in _LIMITS:
        value = getattr(default, name)
        shown = value or "the descriptor limit less 64, at most 4096"
        limits.add_argument(
            f"--{dest.replace('_', '-')}", type=type(value), default=None,
            metavar="S" if name.endswith("_s") else "N",
            help=f"{_LIMIT_HELP[dest]} (default: {shown}; env {env})",
        )  # fmt: skip
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
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    args.argv = argv[1:]  # after the subcommand: what `serve --workers` hands its processes
    run: Command = args.run
    try:
        return run(args)
    except (SettingsError, ControlError, StorageError) as error:  # one line: the value, what to do
        print(f"bre: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
