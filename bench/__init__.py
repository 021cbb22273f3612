"""Benchmarks of the simulator, each figure beside a ceiling measured in the same run.

Run with `python -m bench` (`make bench`); `--quick` (or `BENCH_QUICK=1`) for a short run.
The machines are noisy, so every figure is reported as a ratio against a ceiling of the
underlying libraries measured in the same process, right before or after it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the results table. `ratio` is figure / ceiling figure."""

    benchmark: str
    figure: float
    unit: str
    ceiling: str = ""
    ceiling_figure: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.ceiling_figure is None or self.ceiling_figure == 0:
            return None
        return self.figure / self.ceiling_figure


def number(value: float | None) -> str:
    """A figure for the table: thousands separated, 3 significant digits below 100."""
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


HEADER = ("benchmark", "figure", "unit", "ceiling", "ceiling figure", "ratio")


def cells(row: Row) -> tuple[str, ...]:
    ratio = row.ratio
    return (
        row.benchmark,
        number(row.figure),
        row.unit,
        row.ceiling or "-",
        number(row.ceiling_figure),
        "-" if ratio is None else f"{ratio:.3f}",
    )


def text_table(rows: list[Row]) -> str:
    lines = [HEADER, *(cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    right = {1, 4, 5}

    def fmt(line: tuple[str, ...]) -> str:
        return " | ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )

    out = [fmt(HEADER), "-+-".join("-" * w for w in widths)]
    out.extend(fmt(line) for line in lines[1:])
    return "\n".join(out)


def markdown_table(rows: list[Row]) -> str:
    out = ["| " + " | ".join(HEADER) + " |", "|---|---:|---|---|---:|---:|"]
    out.extend("| " + " | ".join(c.replace("|", "\\|") for c in cells(r)) + " |" for r in rows)
    return "\n".join(out)


def standalone(run: Callable[[bool, Callable[[str], None], list[str]], list[Row]]) -> None:
    """`python -m bench.<suite> [--quick]`: run one suite, print its table and notes."""
    notes: list[str] = []
    rows = run("--quick" in sys.argv, lambda s: print(s, file=sys.stderr), notes)
    print(text_table(rows))
    for note in notes:
        print(f"- {note}")


def rss_kib() -> int:
    """Resident memory of this process (VmRSS, KiB)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used, every thread (Linux /proc, in clock
    ticks): the load-robust figure of a run on a machine shared with other work."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()  # after the command, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def all_cpus() -> set[int]:
    """The CPUs this process may run on when started (before any pinning)."""
    return set(_STARTING_CPUS)


def set_cpus(cpus: set[int]) -> None:
    """Set the affinity of every thread of the process (threads created later inherit it)."""
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(ProcessLookupError, PermissionError):  # a thread that ended
            os.sched_setaffinity(int(tid), cpus)


_STARTING_CPUS: frozenset[int] = frozenset(os.sched_getaffinity(0))
