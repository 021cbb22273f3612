"""The `bre` command: `serve`, `replay`, `load`. Each subcommand lives with its module."""

from __future__ import annotations

import argparse
import contextlib
import gc
import ipaddress
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from engine import logs, options

if TYPE_CHECKING:  # the rest is imported where it is used: `bre --help` stays fast
    from engine.server import Listen
    from engine.simulator import Settings
    from engine.tls import TlsFiles

Command = Callable[[argparse.Namespace], int]


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings: defaults, then BRE_* variables, then --config FILE, then flags (each setting
    declared once in `engine.options`)."""
    from engine.simulator import Settings

    return Settings(**options.resolve(vars(args), getattr(args, "config", None)).settings)


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
    from engine.simulator import DEFAULT_BASIC, DEFAULT_TOKEN, SettingsError

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


def load_uvicorn() -> None:
    """Import uvicorn's server and its settings without the package's `__init__`, which
    imports uvicorn's own command line (`uvicorn.main`: its click command, the reloaders and
    process supervisors, multiprocessing, watchfiles): about a tenth of the start-up of `bre
    serve`, for nothing it uses. For a process that serves only: its `uvicorn` package has
    `Config` and `Server`, not `run` nor `main`."""
    if "uvicorn" in sys.modules:
        return
    import importlib.util

    spec = importlib.util.find_spec("uvicorn")
    if spec is None:  # pragma: no cover - a dependency
        return
    package = importlib.util.module_from_spec(spec)  # not executed: a namespace for its modules
    sys.modules["uvicorn"] = package
    from uvicorn.config import Config
    from uvicorn.server import Server

    package.Config, package.Server = Config, Server  # type: ignore[attr-defined]


def _serve(args: argparse.Namespace) -> int:
    logs.load_structlog("auto")  # before the simulator's modules import it
    load_uvicorn()
    from engine.api.connections import ConnectionLimits
    from engine.server import Listen, run
    from engine.simulator import Settings, SettingsError
    from engine.store.factory import parse as store_url
    from engine.store.urls import is_postgres

    resolved = options.resolve(vars(args), args.config)
    logs.configure(resolved.serve_value("log_format"), resolved.serve_value("log_level"))
    settings = Settings(**resolved.settings)
    limits = ConnectionLimits(**resolved.limits)
    listen = Listen(**resolved.listen, limits=limits, fd=args.fd, tls=_tls(resolved, args))
    workers = 1 if args.fd is not None else resolved.serve_value("workers")
    if args.fd is None:  # a worker of `--workers N`: its parent has said it already
        warning = exposure(listen.host, settings)
        if warning is not None:
            print(warning, file=sys.stderr, flush=True)
    if workers > 1:
        from engine import workers as serving

        if settings.clock == "virtual" and not is_postgres(settings.db):
            raise SettingsError(
                f"--workers {workers}: needs --clock real (a virtual clock is one process's, "
                "except on PostgreSQL, where the processes share it)"
            )
        if not store_url(settings.db).shared:
            raise SettingsError(
                f"--workers {workers}: needs a database the processes share (--db PATH)"
            )
        # one control-surface credential for every process (in the environment, not on the
        # command line where `ps` shows it)
        from engine.core.credentials import new_secret

        os.environ["BRE_ADMIN_TOKEN"] = settings.admin_token or new_secret()
        gc.enable()  # the parent supervises its processes: it does not serve
        listen = _made_certificate(resolved, listen)
        try:  # one certificate for every process: the parent makes it and hands its files down
            argv = _without_workers(args.argv) + _tls_argv(listen.tls)
            return serving.run(argv, listen, workers)
        finally:
            _remove_made(resolved, listen)
    cpu = resolved.serve_value("cpu")
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    listen = _made_certificate(resolved, listen)
    try:
        run(settings, listen)
    finally:
        _remove_made(resolved, listen)
    return 0


def _tls(resolved: options.Resolved, args: argparse.Namespace) -> TlsFiles | None:
    """One's own certificate (`--certfile [--keyfile]`), checked now; None otherwise (a made
    one comes later, once every other setting is known to be good)."""
    from engine.simulator import SettingsError

    certfile, keyfile = resolved.serve_value("certfile"), resolved.serve_value("keyfile")
    if keyfile and not certfile:
        raise SettingsError("--keyfile: needs --certfile (the certificate it goes with)")
    if not certfile:
        return None
    from engine.tls import TlsFiles

    files = TlsFiles(certfile, keyfile, ca=args.tls_ca)
    files.check()
    return files


def _made_certificate(resolved: options.Resolved, listen: Listen) -> Listen:
    """`--tls` without `--certfile`: a test CA and a certificate for the served names."""
    if not resolved.serve_value("tls") or listen.tls is not None:
        return listen
    from dataclasses import replace

    from engine.tls import make_certificate

    return replace(listen, tls=make_certificate(listen.host))


def _remove_made(resolved: options.Resolved, listen: Listen) -> None:
    if listen.tls is not None and not resolved.serve_value("certfile"):
        from engine.tls import remove

        remove(listen.tls)


def _tls_argv(tls: TlsFiles | None) -> list[str]:
    """The arguments that hand a certificate to a worker process."""
    if tls is None:
        return []
    argv = ["--certfile", tls.certfile]
    argv += ["--keyfile", tls.keyfile] if tls.keyfile else []
    return argv + (["--tls-ca", tls.ca] if tls.ca else [])


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


def _add_serve(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the REST API and the control surface",
        description="Serve the REST API and the control surface. Every setting is a flag, an "
        "environment variable and a key of --config FILE (precedence: defaults, environment, "
        "config file, flags).",
        formatter_class=options.HelpFormatter,
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help=f"a YAML file of settings, keyed as below (env {options.CONFIG_ENV})",
    )
    options.add_arguments(p)
    p.add_argument("--fd", type=int, default=None, help=argparse.SUPPRESS)  # from --workers
    p.add_argument("--tls-ca", default=None, help=argparse.SUPPRESS)  # from --workers
    p.set_defaults(run=_serve)


class _Version(argparse.Action):
    """`bre --version`: the installed distribution's version, looked up only when asked."""

    def __init__(
        self,
        option_strings: Sequence[str],
        dest: str = argparse.SUPPRESS,
        default: Any = argparse.SUPPRESS,
        help: str | None = None,
    ) -> None:
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        from importlib import metadata

        try:
            version = metadata.version("qradar-bre-sim")
        except metadata.PackageNotFoundError:  # pragma: no cover - run from a bare checkout
            version = "unknown (not installed)"
        print(f"bre {version}")
        parser.exit()


class _Reparse(Exception):
    """`_ServeOnly` found an error: the whole parser parses again, and says it as always."""


class _ServeOnly(argparse.ArgumentParser):
    """The parser of `bre serve` alone: what starting a server needs (the others cost time).
    It never reports an error itself, since its usage line would name `serve` alone."""

    def error(self, message: str) -> NoReturn:
        raise _Reparse(message)


def parser(
    command: str | None = None, *, kind: type[argparse.ArgumentParser] = argparse.ArgumentParser
) -> argparse.ArgumentParser:
    """`bre`'s parser; with `command`, only that subcommand's."""
    p = kind(prog="bre", description="QRadar Backup and Restore Engine simulator")
    p.add_argument("--version", action=_Version, help="print the version and exit")
    sub = p.add_subparsers(dest="command", required=True)
    if command in (None, "serve"):
        _add_serve(sub)
    if command != "serve":
        from engine.load import command as load_command
        from engine.scenarios import command as scenario_command

        scenario_command.add_command(sub)
        load_command.add_command(sub)
    return p


def _parsed(argv: list[str], serving: bool) -> argparse.Namespace:
    if serving:
        with contextlib.suppress(_Reparse):
            return parser("serve", kind=_ServeOnly).parse_args(argv)
    return parser().parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # `bre serve` starts by loading hundreds of modules that stay: a cyclic collection then
    # finds nothing to free and costs about a tenth of the start-up. The server turns
    # collections back on once it serves (and freezes what start-up made, `engine.server`);
    # other commands have them at once (`python -m engine` starts without: `engine.__main__`).
    serving = bool(argv) and argv[0] == "serve"
    if not serving:
        gc.enable()
    elif gc.isenabled():
        gc.disable()
    try:
        return _main(argv, serving)
    finally:
        gc.enable()


def _main(argv: list[str], serving: bool) -> int:
    args = _parsed(argv, serving)
    args.argv = argv[1:]  # after the subcommand: what `serve --workers` hands its processes
    run: Command = args.run
    logs.load_structlog("auto")  # before the error classes' modules import it
    from engine.control.schema import ControlError
    from engine.simulator import SettingsError
    from engine.store.base import StorageError

    try:
        return run(args)
    except (SettingsError, ControlError, StorageError) as error:  # one line: the value, what to do
        print(f"bre: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
