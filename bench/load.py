"""The load benchmark (issue 5): a `bre load` run as a figure.

200 virtual clients for 60 s (10 s in quick mode) against one `bre serve` process (an SQLite
file, the real clock, short engine durations), the clients split over 2 generator processes
(`bre load --processes 2`: a Python/httpx generator is slower than the server, so one process
would measure the generator). Two runs: clients that pause 0.25 s on average between actions,
as pollers do (the headline: p99 of GETs, goal <= 50 ms), and clients that never pause (the
saturation point of server and generator together on this machine's 2 CPUs). Reported:
throughput, p99 of the GETs, the number of invariant violations (the goal is zero), and the
server's RSS (VmRSS of its process) before and after.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import Row

CLIENTS = 200
PROCESSES = 2
MIX = "poller=10,restore=3,backup=3,rebalance=1,lister=2"


THINK_S = (0.25, 0.0)


def command(quick: bool, out: Path, think: float) -> list[str]:
    return [
        sys.executable,
        "-m",
        "engine",
        "load",
        "--clients",
        str(CLIENTS),
        "--duration",
        "10" if quick else "60",
        "--processes",
        str(PROCESSES),
        "--mix",
        MIX,
        "--think",
        str(think),
        "--json",
        str(out),
        "--no-progress",
        "--quiet",
    ]


def run(
    quick: bool = False,
    progress: Callable[[str], None] | None = None,
    notes: list[str] | None = None,
) -> list[Row]:
    """The rows of the `bre load` runs; remarks (generator, codes, goal) go to `notes`."""
    notes = notes if notes is not None else []
    rows: list[Row] = []
    for think in THINK_S:
        rows += _one(quick, think, progress or (lambda s: None), notes)
    return rows


def _one(quick: bool, think: float, say: Callable[[str], None], notes: list[str]) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bre-bench-load-") as scratch:
        out = Path(scratch) / "load.json"
        argv = command(quick, out, think)
        say(f"load: {' '.join(argv[1:])}")
        result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900)
        if not out.exists():
            raise RuntimeError(f"bre load failed ({result.returncode}): {result.stderr[-2000:]}")
        report: dict[str, Any] = json.loads(out.read_text())
    gets = {k: v for k, v in report["endpoints"].items() if k.startswith("GET ")}
    get_count = sum(v["count"] for v in gets.values())
    get_p99 = max((v["p99_ms"] for v in gets.values()), default=0.0)
    violations = sum(report["violation_counts"].values())
    server = report["servers"][0] if report["servers"] else {}
    start, end = server.get("rss_kib_start"), server.get("rss_kib_end")
    pace = f"think {think:g} s" if think else "no think time"
    label = f"bre load, {CLIENTS} clients, {pace}, {report['duration_s']:.0f} s"
    rows = [
        Row(f"{label}: throughput", report["throughput_rps"], "req/s"),
        Row(f"{label}: GET p99 (worst GET endpoint)", get_p99, "ms"),
        Row(f"{label}: all requests p99", report["overall"]["p99_ms"], "ms"),
        Row(f"{label}: invariant violations", float(violations), "count"),
    ]
    if start and end:
        rows.append(Row(f"{label}: server RSS before", start / 1024, "MiB"))
        rows.append(Row(f"{label}: server RSS after", end / 1024, "MiB"))
    notes.append(
        f"load: generator {report['generator']}, {report['clients']} clients {report['roles']}, "
        f"target {report['target']}; {report['requests']:,} requests ({get_count:,} GETs); "
        f"codes {report['codes']}; violations {report['violation_counts'] or 0} "
        f"(goal 0: {'met' if violations == 0 else 'NOT met'}); exit status {result.returncode}"
    )
    if think:
        verdict = "met" if get_p99 <= 50 else "NOT met"
        notes.append(f"load ({pace}): GET p99 {get_p99:.1f} ms (goal <= 50 ms: {verdict})")
    notes.append(f"load: command `{' '.join(['bre', *argv[3:]])}`")
    return rows


if __name__ == "__main__":  # python -m bench.load [--quick]
    from bench import standalone

    standalone(run)
