"""`bre replay PATH... [--target URL] [--junit FILE] [--token TOKEN] [--admin-token TOKEN]` and
`bre record --target URL [--console ID] --out FILE [--token TOKEN] [--admin-token TOKEN]
[--name NAME] [--world FILE]`.

A served simulator's control surface needs its admin credential: `--admin-token`, or the
`BRE_ADMIN_TOKEN` environment variable.

`replay` exits 0 only when every scenario passes (1 otherwise, 2 when no file was found).
`record` turns the request journal of a served simulator's console into a scenario file.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def _replay(args: argparse.Namespace) -> int:
    import anyio

    from engine.scenarios.loader import find_files
    from engine.scenarios.report import junit, render
    from engine.scenarios.runner import Target, replay

    files = find_files(args.paths)
    if not files:
        print("bre replay: no scenario files (*.yaml, *.yml) under " + " ".join(args.paths),
              file=sys.stderr)  # fmt: skip
        return 2
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        print(f"bre replay: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    target = Target(
        url=args.target.rstrip("/") if args.target else None, token=args.token,
        admin_token=_admin_token(args),
    )  # fmt: skip
    results = anyio.run(replay, [str(f) for f in files], target)
    sys.stdout.write(render(results, args.target))
    sys.stdout.flush()
    if args.junit:
        from pathlib import Path

        Path(args.junit).write_bytes(junit(results))
    return 0 if results and all(r.status == "PASS" for r in results) else 1


def _record(args: argparse.Namespace) -> int:
    import anyio

    from engine.scenarios.record import RecordError, fetch_and_record

    try:
        text = anyio.run(
            fetch_and_record, args.target.rstrip("/"), args.console, args.token, args.name,
            args.world, _admin_token(args),
        )  # fmt: skip
    except RecordError as error:
        print(f"bre record: {error}", file=sys.stderr)
        return 1
    if args.out == "-":
        sys.stdout.write(text)
    else:
        from pathlib import Path

        Path(args.out).write_text(text, encoding="utf-8")
        print(f"bre record: wrote {args.out}", file=sys.stderr)
    return 0


def _admin_token(args: argparse.Namespace) -> str | None:
    return args.admin_token or os.environ.get("BRE_ADMIN_TOKEN") or None


_ADMIN_HELP = "the served simulator's admin credential (default: BRE_ADMIN_TOKEN)"


def add_command(sub: Any) -> None:
    p = sub.add_parser("replay", help="replay scenario files (exit 0 only when all pass)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, or folders of *.yaml/*.yml")
    p.add_argument("--target", help="a served simulator or QRadar URL (default: in-process)")
    p.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report")
    p.add_argument(
        "--token",
        help="SEC token: in-process, the scenario console's; with a target that is not a "
        "simulator, the one sent (default: the simulator's demo token)",
    )
    p.add_argument("--admin-token", help=_ADMIN_HELP)
    p.set_defaults(run=_replay)

    r = sub.add_parser(
        "record", help="turn the request journal of a served simulator into a scenario file"
    )
    r.add_argument("--target", required=True, help="the served simulator's URL")
    r.add_argument("--console", default="current",
                   help="console id (default: the console of --token)")  # fmt: skip
    r.add_argument("--out", required=True, metavar="FILE", help="the scenario file (- : stdout)")
    r.add_argument("--token", help="SEC token (needed for --console current)")
    r.add_argument("--admin-token", help=_ADMIN_HELP)
    r.add_argument("--name", default=None, help="the scenario's name")
    r.add_argument("--world", default=None, metavar="FILE",
                   help="a YAML file with the world mapping the session started from")  # fmt: skip
    r.set_defaults(run=_record)
