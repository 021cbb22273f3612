"""The report of a load run: throughput, latency per endpoint, statuses, codes, violations.

`build` turns a checked history into a `Report`; `text` prints it; `to_json` is what
`--json FILE` writes; `plot` draws latency and throughput over time (needs matplotlib).
"""

from __future__ import annotations

import math
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

    @property
    def ok(self) -> bool:
        return not self.violation_counts

    def get_p99_ms(self) -> float:
        gets = [v for k, v in self.endpoints.items() if k.startswith("GET ")]
        if not gets:
            return 0.0
        return max(v.p99_ms for v in gets)

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
            "notes": self.notes,
        }  # fmt: skip


def build(
    exchanges: Sequence[Exchange], checker: Checker, *, generator: str, target: str,
    clients: int, roles: dict[str, int], started: float, ended: float,
    servers: list[dict[str, Any]] | None = None, notes: list[str] | None = None,
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
        servers=servers or [], series=series(load, started), notes=notes or [],
    )  # fmt: skip


def series(exchanges: Sequence[Exchange], started: float) -> list[dict[str, float]]:
    """Per second of the run (by arrival of the answer): requests, p50 and p99 latency."""
    buckets: dict[int, list[float]] = defaultdict(list)
    for e in exchanges:
        buckets[int(e.received - started)].append(e.latency * 1000)
    out = []
    for second in sorted(buckets):
        values = sorted(buckets[second])
        out.append({
            "t": second, "requests": len(values), "p50_ms": round(percentile(values, 50), 3),
            "p99_ms": round(percentile(values, 99), 3),
        })  # fmt: skip
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
    """A PNG: requests per second and p50/p99 latency per second of the run."""
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [p["t"] for p in report.series]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    top.plot(t, [p["requests"] for p in report.series], color="tab:blue")
    top.set_ylabel("requests / s")
    top.set_title(f"bre load: {report.clients} clients, {report.generator}")
    top.grid(True, alpha=0.3)
    bottom.plot(t, [p["p50_ms"] for p in report.series], label="p50")
    bottom.plot(t, [p["p99_ms"] for p in report.series], label="p99")
    bottom.set_ylabel("latency (ms)")
    bottom.set_xlabel("seconds into the run")
    bottom.legend()
    bottom.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
