"""Run every benchmark, print one table and write it to bench/results.md.

    python -m bench            # full run (the memory run does BENCH_LIFECYCLES, 1,000,000)
    python -m bench --quick    # or BENCH_QUICK=1: small counts, one repeat
    python -m bench --profile  # also cProfile the engine runs and print the top functions
    python -m bench --only engine,http   # a subset of: engine, http, load, served, postgres

Environment: BENCH_QUICK=1, BENCH_LIFECYCLES=<n> (the memory run, across the consoles),
BENCH_CONSOLES=<n> (default 1000), BENCH_PIN=0|1 (default 1: pin the process to one CPU),
BENCH_CPU=<n> (which CPU when pinned; default the highest allowed).
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import time
from pathlib import Path

from bench import Row, markdown_table, text_table
from bench import engine as engine_bench
from bench import http as http_bench
from bench import load as load_bench
from bench import postgres as postgres_bench
from bench import served as served_bench

SUITES = ("engine", "http", "load", "served", "postgres")


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts (BENCH_QUICK=1)")
    parser.add_argument("--profile", action="store_true", help="cProfile the engine runs")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results.md")
    parser.add_argument("--only", default=",".join(SUITES), help="comma-separated suites")
    args = parser.parse_args(argv)
    suites = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(suites) - set(SUITES)
    if unknown:
        parser.error(f"--only: unknown suites {sorted(unknown)} (known: {', '.join(SUITES)})")
    quick = args.quick or _flag("BENCH_QUICK", False)
    default_lifecycles = 20_000 if quick else 1_000_000
    cpu = os.environ.get("BENCH_CPU")
    config = engine_bench.Config(
        quick=quick,
        pin=_flag("BENCH_PIN", True),
        cpu=int(cpu) if cpu else None,
        lifecycles=int(os.environ.get("BENCH_LIFECYCLES", default_lifecycles)),
        consoles=int(os.environ.get("BENCH_CONSOLES", 1000)),
        profile=args.profile,
    )
    started = time.perf_counter()
    say = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    rows: list[Row] = []
    all_notes: list[str] = []
    if "engine" in suites:
        report = engine_bench.run(config, progress=say)
        rows += report.rows
        all_notes += report.notes
    if "http" in suites:
        rows += http_bench.run(quick, say, all_notes)
    if "load" in suites:
        rows += load_bench.run(quick, say, all_notes)
    if "served" in suites:
        rows += served_bench.run(quick, say, all_notes)
    if "postgres" in suites:
        rows += postgres_bench.run(quick, say, all_notes)
    elapsed = time.perf_counter() - started
    context = (
        f"{time.strftime('%Y-%m-%d %H:%M:%S')}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, "
        f"{'quick' if quick else 'full'} run, {elapsed:.0f} s"
    )
    profile_notes = [n for n in all_notes if n.startswith("===")]
    notes = [n for n in all_notes if not n.startswith("===")]
    print()
    print(text_table(rows))
    print()
    print(context)
    for note in notes:
        print(f"- {note}")
    for note in profile_notes:
        print()
        print(note)
    if not args.no_write:
        path = Path(__file__).with_name("results.md")
        body = [
            "# Benchmark results",
            "",
            f"`python -m bench{' --quick' if quick else ''}`: {context}.",
            "",
            markdown_table(rows),
            "",
            *(f"- {note}" for note in notes),
            "",
        ]
        path.write_text("\n".join(body))
        print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
