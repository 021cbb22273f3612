"""`bre load`: the command line of the load generator (registered by `engine.cli`)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when the command runs: `bre --help` stays fast
    from engine.load.runner import Options

DEFAULT_MIX = "poller=10,restore=3,backup=3,rebalance=1,lister=2"

EPILOG = """\
roles of --mix: poller, restore, backup, rebalance (one client at most), lister, bad.
exit status: 0 every invariant held, 1 a violation, 2 the run could not be set up.
examples:
  bre load --duration 30 --clients 100
  bre load --spawn 2 --db /tmp/shared.sqlite3 --mix poller=5,restore=3,backup=2,rebalance=1,bad=1
  bre load --target http://127.0.0.1:8000 --duration 10 --json report.json --plot report.png
"""


def add_command(sub: Any) -> None:
    p = sub.add_parser(
        "load", help="run virtual clients against a simulator and check its invariants",
        description="A load generator with invariant checks: pollers, restore starters, backup "
        "creators, rebalance toggles, listers and bad input, against a served simulator, "
        "`bre serve` processes it starts itself (default), or an in-process simulator.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    where = p.add_argument_group("target")
    where.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="URL",
        help="a served simulator (repeatable: clients spread over the URLs)",
    )
    where.add_argument(
        "--token",
        help="SEC token of an existing console to use as it is "
        "(default: create an isolated console with short engine durations)",
    )
    where.add_argument(
        "--admin-token",
        default=None,
        help="the control surface's credential of the --target simulators (default: "
        "BRE_ADMIN_TOKEN); spawned and in-process servers need none",
    )
    where.add_argument(
        "--spawn",
        type=int,
        default=1,
        metavar="N",
        help="start N `bre serve` processes sharing one SQLite file (default 1)",
    )
    where.add_argument(
        "--separate-ports",
        action="store_true",
        help="with --spawn: a port per process instead of one shared port",
    )
    where.add_argument("--db", help="the SQLite file of spawned servers (default: a temp file)")
    where.add_argument(
        "--port", type=_port, default=0,
        help="the port of spawned servers; with --separate-ports the first of consecutive "
        "ports (default 0: free ports)",
    )  # fmt: skip
    where.add_argument(
        "--in-process",
        action="store_true",
        help="a Simulator and the ASGI app in this process (httpx.ASGITransport)",
    )
    where.add_argument("--server-cpu", type=int, default=None, help="pin spawned servers")
    load = p.add_argument_group("load")
    bound = load.add_mutually_exclusive_group()
    bound.add_argument(
        "--duration", type=float, default=None, metavar="S", help="seconds of load (default 10)"
    )
    bound.add_argument(
        "--requests", type=int, default=None, metavar="N", help="stop after N requests"
    )
    load.add_argument("--clients", type=int, default=50, metavar="N")
    load.add_argument(
        "--mix",
        default=DEFAULT_MIX,
        metavar="ROLE=WEIGHT,...",
        help=f"weights of the roles (default {DEFAULT_MIX})",
    )
    load.add_argument("--seed", type=int, default=0)
    load.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="P",
        help="run the clients in P generator processes and merge their histories",
    )
    load.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="per request; no answer within it is a violation",
    )
    load.add_argument(
        "--think",
        type=float,
        default=0.0,
        metavar="S",
        help="mean pause of each client between two actions, like a real poller "
        "(default 0: as fast as the answers come)",
    )
    load.add_argument(
        "--tolerance-ms",
        type=float,
        default=2.0,
        help="overlap tolerated between exclusive intervals (clock granularity)",
    )
    out = p.add_argument_group("output")
    out.add_argument("--json", type=Path, metavar="FILE", help="write the report as JSON")
    out.add_argument(
        "--plot",
        type=Path,
        metavar="FILE",
        help="a PNG of latency and throughput over time (needs matplotlib)",
    )
    out.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    out.add_argument("--quiet", action="store_true", help="no report on stdout")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--history-out", type=Path, help=argparse.SUPPRESS)
    p.set_defaults(run=_run)


def options_from(args: argparse.Namespace) -> Options:
    from engine.load.clients import parse_mix
    from engine.load.runner import LoadError, Options

    mix = parse_mix(args.mix)
    worker = None
    if args.worker:
        index, _, count = args.worker.partition("/")
        worker = (int(index), int(count))
    for name in ("clients", "spawn", "processes"):
        if getattr(args, name) < 1:
            raise LoadError(f"--{name} must be at least 1")
    if args.requests is None and args.duration is None:
        args.duration = 10.0
    if args.in_process and (args.target or args.processes > 1):
        raise LoadError("--in-process runs one generator process and no --target")
    return Options(
        targets=list(args.target), token=args.token, spawn=args.spawn,
        admin_token=args.admin_token or os.environ.get("BRE_ADMIN_TOKEN") or None,
        separate_ports=args.separate_ports, in_process=args.in_process, db=args.db,
        duration_s=args.duration, requests=args.requests, clients=args.clients, mix=mix,
        mix_text=args.mix, seed=args.seed, processes=args.processes, json_path=args.json,
        plot_path=args.plot, progress=not args.no_progress and sys.stderr.isatty(),
        timeout_s=args.timeout, tolerance_ms=args.tolerance_ms, server_cpu=args.server_cpu,
        port=args.port,
        think_s=args.think,
        worker=worker, history_out=args.history_out, quiet=args.quiet,
    )  # fmt: skip


def _run(args: argparse.Namespace) -> int:
    from engine.load.clients import MixError
    from engine.load.report import PlotUnavailable
    from engine.load.runner import LoadError, run
    from engine.load.servers import ServerError

    try:
        options = options_from(args)
        return run(options).exit_status
    except (LoadError, MixError, PlotUnavailable, ServerError) as error:
        print(f"bre load: {error}", file=sys.stderr)
        return 2


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a port, 0 to 65535") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port}: expected a port, 0 to 65535")
    return port
