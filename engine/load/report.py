"""The report of a load run: throughput, latency per endpoint, statuses, codes, violations.

`build` turns a checked history into a `Report`; `text` prints it; `to_json` is what
`--json FILE` writes; `plot` draws latency and throughput over time (needs matplotlib).
"""

from __future__ import annotations

import math
import textwrap
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.load.history import Exchange
from engine.load.invariants import Checker

PLOT_REQUIREMENT = "matplotlib>=3.8"


class PlotUnavailable(RuntimeError):
    """--plot without matplotlib."""


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotUnavailable(
            f"--plot needs matplotlib, which is not installed: pip install '{PLOT_REQUIREMENT}' "
            "(or the project's dev extra)"
        ) from None


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass(slots=True)
class Latency:
    count: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int]

    @classmethod
    def of(cls, exchanges: Sequence[Exchange]) -> Latency:
        values = sorted(e.latency * 1000 for e in exchanges)
        statuses = Counter(_status_key(e) for e in exchanges)
        return cls(
            len(values), percentile(values, 50), percentile(values, 90), percentile(values, 99),
            values[-1] if values else 0.0, dict(sorted(statuses.items())),
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count, "p50_ms": round(self.p50_ms, 3), "p90_ms": round(self.p90_ms, 3),
            "p99_ms": round(self.p99_ms, 3), "max_ms": round(self.max_ms, 3),
            "statuses": self.statuses,
        }  # fmt: skip


def _status_key(e: Exchange) -> str:
    if e.status == 0:
        return "no answer"
    return f"{e.status}/{e.code}" if e.code is not None else str(e.status)


@dataclass(slots=True)
class Report:
    generator: str
    target: str
    clients: int
    roles: dict[str, int]
    duration_s: float
    requests: int
    throughput: float
    endpoints: dict[str, Latency]
    overall: Latency
    statuses: dict[str, int]
    codes: dict[str, int]
    bad: dict[str, int]
    violations: list[dict[str, str]]
    violation_counts: dict[str, int]
    final_checks: int
    servers: list[dict[str, Any]] = field(default_factory=list)
    series: list[dict[str, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)  # duration, mix, think ... as asked

    @property
    def ok(self) -> bool:
        return not self.violation_counts

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "generator": self.generator, "target": self.target,
            "clients": self.clients, "roles": self.roles, "duration_s": round(self.duration_s, 3),
            "requests": self.requests, "throughput_rps": round(self.throughput, 1),
            "overall": self.overall.to_json(),
            "endpoints": {k: v.to_json() for k, v in self.endpoints.items()},
            "statuses": self.statuses, "codes": self.codes, "bad_input": self.bad,
            "violation_counts": self.violation_counts, "violations": self.violations,
            "final_checks": self.final_checks, "servers": self.servers, "series": self.series,
            "notes": self.notes, "parameters": self.parameters,
        }  # fmt: skip


def build(
    exchanges: Sequence[Exchange], checker: Checker, *, generator: str, target: str,
    clients: int, roles: dict[str, int], started: float, ended: float,
    servers: list[dict[str, Any]] | None = None, notes: list[str] | None = None,
    parameters: dict[str, Any] | None = None,
) -> Report:  # fmt: skip
    load = [e for e in exchanges if e.role != "final"]
    duration = max(ended - started, 1e-9)
    per_op: dict[str, list[Exchange]] = defaultdict(list)
    for e in load:
        per_op[e.op].append(e)
    statuses = Counter("no answer" if e.status == 0 else str(e.status) for e in exchanges)
    codes = Counter(f"{e.status}/{e.code}" for e in exchanges if e.code is not None)
    bad = Counter(f"{e.detail}: {_status_key(e)}" for e in exchanges if e.bad)
    return Report(
        generator=generator, target=target, clients=clients, roles=roles, duration_s=duration,
        requests=len(load), throughput=len(load) / duration,
        endpoints={op: Latency.of(v) for op, v in sorted(per_op.items())},
        overall=Latency.of(load), statuses=dict(sorted(statuses.items())),
        codes=dict(sorted(codes.items())), bad=dict(sorted(bad.items())),
        violations=[v.to_json() for v in checker.violations],
        violation_counts=dict(sorted(checker.counts.items())),
        final_checks=sum(1 for e in exchanges if e.role == "final"),
        servers=servers or [], series=series(load, started, checker.seen_at),
        notes=notes or [], parameters=parameters or {},
    )  # fmt: skip


#: The answers the plot counts per second, by status class: what a person looks for first.
_RATES = (("409", "409 conflict"), ("404", "404 not found"), ("5xx", "5xx"), ("none", "no answer"))


def _rate_key(status: int) -> str | None:
    if status == 0:
        return "none"
    if status >= 500:
        return "5xx"
    return str(status) if status in (404, 409) else None


def series(
    exchanges: Sequence[Exchange], started: float, violations: Sequence[float | None] = ()
) -> list[dict[str, float]]:
    """Per second of the run (by arrival of the answer): requests, p50/p90/p99 latency, the
    409, 404, 5xx and unanswered counts, and the violations seen in that second."""
    buckets: dict[int, list[float]] = defaultdict(list)
    rates: dict[int, Counter[str]] = defaultdict(Counter)
    for e in exchanges:
        second = int(e.received - started)
        buckets[second].append(e.latency * 1000)
        key = _rate_key(e.status)
        if key is not None:
            rates[second][key] += 1
    broken = Counter(max(int(at - started), 0) for at in violations if at is not None)
    out = []
    for second in sorted(set(buckets) | set(broken)):
        values = sorted(buckets.get(second, ()))
        point: dict[str, float] = {
            "t": second, "requests": len(values), "p50_ms": round(percentile(values, 50), 3),
            "p90_ms": round(percentile(values, 90), 3), "p99_ms": round(percentile(values, 99), 3),
            "violations": broken.get(second, 0),
        }  # fmt: skip
        point.update({f"s{key}": rates[second][key] for key, _ in _RATES})
        out.append(point)
    return out


def text(report: Report) -> str:
    lines = [
        f"bre load: {report.requests:,} requests in {report.duration_s:.1f} s "
        f"= {report.throughput:,.0f} req/s against {report.target}",
        f"generator: {report.generator}; {report.clients} clients "
        f"({', '.join(f'{k} {v}' for k, v in report.roles.items())})",
        "",
        f"{'endpoint':<26} {'count':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}"
        "  statuses",
    ]
    for op, lat in [*report.endpoints.items(), ("all", report.overall)]:
        statuses = ", ".join(f"{k}: {v}" for k, v in lat.statuses.items())
        lines.append(
            f"{op:<26} {lat.count:>8,} {lat.p50_ms:>8.2f} {lat.p90_ms:>8.2f} {lat.p99_ms:>8.2f} "
            f"{lat.max_ms:>8.1f}  {statuses}"
        )
    lines.append("")
    lines.append("statuses: " + ", ".join(f"{k}: {v:,}" for k, v in report.statuses.items()))
    lines.append(
        "QRadar codes: " + (", ".join(f"{k}: {v:,}" for k, v in report.codes.items()) or "none")
    )
    if report.bad:
        lines.append("bad input: " + ", ".join(f"{k} x{v}" for k, v in report.bad.items()))
    for server in report.servers:
        lines.append(
            f"server pid {server.get('pid')}: RSS {server.get('rss_kib_start')} KiB at start, "
            f"{server.get('rss_kib_end')} KiB at the end"
        )
    lines.extend(report.notes)
    lines.append(f"final re-reads of acknowledged creates: {report.final_checks:,}")
    if report.ok:
        lines.append("invariants: all held (0 violations)")
    else:
        total = sum(report.violation_counts.values())
        lines.append(
            f"invariants: {total} VIOLATIONS "
            + ", ".join(f"{k}: {v}" for k, v in report.violation_counts.items())
        )
        for v in report.violations[:20]:
            lines.append(f"  - {v['invariant']}: {v['message']}")
        if len(report.violations) > 20:
            lines.append(f"  ... and {len(report.violations) - 20} more (see --json)")
    return "\n".join(lines)


def plot(report: Report, path: Path) -> None:
    """A PNG a person reads in five seconds: what was run against what (the title), requests
    per second from zero, latency percentiles, and the 409 / 404 / 5xx / unanswered rates with
    every violation marked, all on one time axis."""
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = report.series
    t = [p["t"] for p in points]
    figure, (load, latency, trouble) = plt.subplots(
        3, 1, figsize=(11, 8), sharex=True, gridspec_kw={"height_ratios": [2, 2, 1.5]}
    )
    broken_total = sum(report.violation_counts.values())
    verdict = (
        "invariants held (0 violations)"
        if report.ok
        else f"{broken_total} VIOLATION{'S' if broken_total > 1 else ''}: "
        + ", ".join(f"{k} {v}" for k, v in report.violation_counts.items())
    )
    asked = ", ".join(f"{k} {v}" for k, v in report.parameters.items())
    title = (
        f"bre load against {report.target}\n{report.clients} clients"
        + (f", {asked}" if asked else "")
        + f"; {report.requests:,} requests, {report.throughput:,.0f} req/s; {verdict}"
    )
    wrapped = "\n".join(textwrap.fill(line, 130) for line in title.splitlines())  # not clipped
    figure.suptitle(wrapped, fontsize=10, color="black" if report.ok else "tab:red")
    load.plot(t, [p["requests"] for p in points], color="tab:blue", label="answers / s")
    load.set_ylim(bottom=0)
    load.set_ylabel("requests / s")
    load.legend(loc="lower right", fontsize=8)
    for key, colour in (("p50_ms", "tab:green"), ("p90_ms", "tab:orange"), ("p99_ms", "tab:red")):
        latency.plot(t, [p.get(key, 0.0) for p in points], color=colour, label=key[:3])
    latency.set_ylim(bottom=0)
    latency.set_ylabel("latency (ms)")
    latency.legend(loc="upper right", fontsize=8, ncol=3)
    for (key, label), colour in zip(_RATES, ("tab:orange", "tab:gray", "tab:red", "black"),
                                    strict=True):  # fmt: skip
        values = [p.get(f"s{key}", 0) for p in points]
        if any(values):
            trouble.plot(t, values, color=colour, label=f"{label} / s")
    broken = [(p["t"], p.get("violations", 0)) for p in points if p.get("violations", 0)]
    if broken:
        trouble.bar([b[0] for b in broken], [b[1] for b in broken], color="tab:red", alpha=0.5,
                    width=0.8, label="violations")  # fmt: skip
        for axis in (load, latency):
            for second, _ in broken:
                axis.axvline(second, color="tab:red", alpha=0.3, linewidth=1)
    trouble.set_ylim(bottom=0)
    trouble.set_ylabel("per second")
    trouble.set_xlabel("seconds into the run")
    if trouble.get_legend_handles_labels()[0]:
        trouble.legend(loc="upper right", fontsize=8, ncol=5)
    else:
        trouble.text(0.5, 0.5, "no 409, 404, 5xx, unanswered request or violation",
                     transform=trouble.transAxes, ha="center", va="center", fontsize=9)  # fmt: skip
    for axis in (load, latency, trouble):
        axis.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
