"""The engine benchmark (issue 2): persisted full restore lifecycles per second, virtual clock.

A lifecycle is: `create_restore` (PENDING), `request_restore` (-> REQUESTING), then the worker's
three transitions (-> INITIALIZING -> IN_PROGRESS -> SUCCESS) under the `immediate` rule, every
step committed to a real SQLite file (WAL, synchronous=NORMAL) in a temporary directory; the
driver waits with `console.wait_for_restore(id, "SUCCESS")`.

Ceilings, measured in the same run on a temporary file with the engine's own schema, WAL and
synchronous=NORMAL, with the stdlib `sqlite3` on the calling thread: per lifecycle one INSERT of
a restore row (all 21 columns) and four compare-and-set UPDATEs of its status (the engine's
statements), with one COMMIT per lifecycle (the one-console ceiling) or one COMMIT per 100
lifecycles (the across-consoles ceiling).
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import io
import itertools
import logging
import os
import pstats
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import aiosqlite
import structlog

from bench import Row, all_cpus, rss_kib, set_cpus
from engine.runtime.console import Console
from engine.simulator import Settings, Simulator
from engine.store import schema
from engine.store.sqlite import SqliteStore

#: The event loop of the runs: uvloop (as `bre serve` runs) unless BENCH_LOOP=asyncio.
LOOP = os.environ.get("BENCH_LOOP", "uvloop")


def run_loop(coroutine: Awaitable[Any]) -> Any:
    if LOOP == "uvloop":
        import uvloop

        return uvloop.run(coroutine)  # type: ignore[arg-type]
    return asyncio.run(coroutine)  # type: ignore[arg-type]


IMMEDIATE = {"restore": {"mode": "immediate"}}
GROUPS = ["CUSTOM_RULES_CONFIG"]


@dataclass(frozen=True, slots=True)
class Config:
    quick: bool = False
    pin: bool = True
    cpu: int | None = None  # None: the highest CPU the process may use
    lifecycles: int = 1_000_000  # the memory run, in total across the consoles
    consoles: int = 1000
    profile: bool = False

    @property
    def one_console_n(self) -> int:
        return 500 if self.quick else 3000

    @property
    def repeats(self) -> int:
        return 1 if self.quick else 3

    @property
    def per_console(self) -> int:
        return 2 if self.quick else 10

    @property
    def pinned_cpus(self) -> set[int]:
        return {self.cpu if self.cpu is not None else max(all_cpus())}


@dataclass(slots=True)
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def configure_logging() -> str:
    """Drop the engine's info logs (they would dominate); warnings and errors still print."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    return (
        "structlog: configure(wrapper_class=make_filtering_bound_logger(logging.WARNING)) "
        "(info logs of the engine are dropped at the call)"
    )


@contextmanager
def affinity(cpus: set[int]) -> Iterator[None]:
    """Run with every thread of the process (and the threads it starts) on `cpus`."""
    set_cpus(cpus)
    try:
        yield
    finally:
        set_cpus(all_cpus())


def cpu_label(cpus: set[int]) -> str:
    listed = ",".join(map(str, sorted(cpus)))
    return f"pinned to CPU {listed}" if cpus != all_cpus() else f"unpinned (CPUs {listed})"


# --- the engine ------------------------------------------------------------------------------


async def lifecycle(console: Console) -> None:
    restore = await console.create_restore(backup_id=1, groups=GROUPS)
    await console.request_restore(restore.id)
    await console.wait_for_restore(restore.id, "SUCCESS")


@dataclass(frozen=True, slots=True)
class Run:
    lifecycles: int
    seconds: float
    cpu_seconds: float
    batches: int
    units: int
    largest_batch: int

    @property
    def rate(self) -> float:
        return self.lifecycles / self.seconds


def _store_stats(sim: Simulator) -> dict[str, int]:
    store = sim.store
    assert isinstance(store, SqliteStore)
    return store.stats()


async def _measure(sim: Simulator, n: int, body: Callable[[], Awaitable[None]]) -> Run:
    before = _store_stats(sim)
    gc.collect()
    cpu, start = time.process_time(), time.perf_counter()
    await body()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    after = _store_stats(sim)
    return Run(
        n, seconds, cpu, after["batches"] - before["batches"], after["units"] - before["units"],
        after["largest_batch"],
    )  # fmt: skip


_files = itertools.count()


def _db(directory: str, name: str) -> str:
    """A fresh database file for each run."""
    return os.path.join(directory, f"{name}-{next(_files)}.sqlite3")


async def one_console(directory: str, n: int, warmup: int = 50) -> Run:
    async with Simulator(Settings(db=_db(directory, "one"), clock="virtual")) as sim:
        console = sim.console()
        await console.set_rule("restore", {"mode": "immediate"})
        for _ in range(warmup):
            await lifecycle(console)

        async def body() -> None:
            for _ in range(n):
                await lifecycle(console)

        return await _measure(sim, n, body)


async def create_consoles(sim: Simulator, count: int, chunk: int = 100) -> list[Console]:
    consoles: list[Console] = []
    for first in range(0, count, chunk):
        consoles += await asyncio.gather(*(
            sim.create_console(f"bench-{i:05d}", rules=IMMEDIATE)
            for i in range(first, min(first + chunk, count))
        ))  # fmt: skip
    return consoles


async def _drive(sim: Simulator, consoles: list[Console], per_console: int) -> Run:
    async def driver(console: Console) -> None:
        for _ in range(per_console):
            await lifecycle(console)

    async def body() -> None:
        await asyncio.gather(*(driver(c) for c in consoles))

    return await _measure(sim, per_console * len(consoles), body)


async def many_consoles(directory: str, count: int, per_console: int) -> tuple[Run, float]:
    async with Simulator(Settings(db=_db(directory, "many"), clock="virtual")) as sim:
        start = time.perf_counter()
        consoles = await create_consoles(sim, count)
        created = time.perf_counter() - start
        await _drive(sim, consoles, 1)  # warm-up: every console has done one lifecycle
        return await _drive(sim, consoles, per_console), count / created


@dataclass(frozen=True, slots=True)
class Memory:
    samples: list[tuple[int, int]]  # (completed lifecycles, RSS KiB)
    run: Run
    db_bytes: int


async def memory(
    directory: str, count: int, total: int, progress: Callable[[str], None] = print
) -> Memory:
    per_console = max(1, total // count)
    done = 0
    samples: list[tuple[int, int]] = []
    path = _db(directory, "memory")
    async with Simulator(Settings(db=path, clock="virtual")) as sim:
        consoles = await create_consoles(sim, count)
        gc.collect()
        samples.append((0, rss_kib()))
        marks = [max(1, round(per_console * f)) for f in (0.1, 0.5, 1.0)]
        runs: list[Run] = []
        for mark in marks:
            step = mark - done // count
            if step <= 0:
                continue
            runs.append(await _drive(sim, consoles, step))
            done += step * count
            gc.collect()
            samples.append((done, rss_kib()))
            progress(
                f"  {done:,} lifecycles: RSS {samples[-1][1] / 1024:.1f} MiB, "
                f"last phase {runs[-1].rate:,.0f} lifecycles/s"
            )
        run = Run(
            sum(r.lifecycles for r in runs), sum(r.seconds for r in runs),
            sum(r.cpu_seconds for r in runs), sum(r.batches for r in runs),
            sum(r.units for r in runs), max(r.largest_batch for r in runs),
        )  # fmt: skip
    return Memory(samples, run, _size(path))


def _size(path: str) -> int:
    files = (path + suffix for suffix in ("", "-wal"))
    return sum(os.path.getsize(f) for f in files if os.path.exists(f))


# --- start-up --------------------------------------------------------------------------------


async def startup(times: int = 20) -> tuple[float, float, float]:
    """Median ms of `Simulator().__aenter__` (in-memory store) and of its exit; and a ceiling."""
    enters, exits, ceilings = [], [], []
    for _ in range(times):
        sim = Simulator()
        start = time.perf_counter()
        await sim.__aenter__()
        middle = time.perf_counter()
        await sim.__aexit__(None, None, None)
        enters.append(middle - start)
        exits.append(time.perf_counter() - middle)
    for _ in range(times):
        start = time.perf_counter()
        conn = await aiosqlite.connect(":memory:", isolation_level=None)
        await conn.executescript(schema.MIGRATIONS[0])
        ceilings.append(time.perf_counter() - start)
        await conn.close()
    median = statistics.median
    return median(enters) * 1000, median(exits) * 1000, median(ceilings) * 1000


# --- ceilings: the stdlib sqlite3 doing the same row writes ----------------------------------

_INSERT = (
    "INSERT INTO restores (console, id, initiated_by, host_id, time_initiated, time_completed, "
    "status, is_cross_deployment_restore, backup_id, backup_name, backup_version, backup_type, "
    "backup_filename, groups_, visible, origin, due_at, outcome, rule, ordinal, phase_since) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE = (
    "UPDATE restores SET time_initiated = ?, time_completed = ?, status = ?, "
    "backup_id = ?, visible = ?, origin = ?, due_at = ?, outcome = ?, rule = ?, "
    "ordinal = ?, phase_since = ? WHERE console = ? AND id = ? AND status = ?"
)
_STATUSES = ("PENDING", "REQUESTING", "INITIALIZING", "IN_PROGRESS", "SUCCESS")


def sqlite_ceiling(directory: str, n: int, per_commit: int, consoles: int = 1) -> float:
    """Lifecycles/s of the raw row writes: 1 INSERT + 4 UPDATEs each, a COMMIT per `per_commit`."""
    path = _db(directory, f"ceiling-{per_commit}-{consoles}")
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        schema.migrate(conn)
        names = [f"c{i}" for i in range(consoles)]
        conn.executemany("INSERT INTO consoles (id) VALUES (?)", [(c,) for c in names])
        now = 1_767_225_600_000
        start = time.perf_counter()
        for i in range(n):
            if i % per_commit == 0:
                conn.execute("BEGIN IMMEDIATE")
            console, id = names[i % consoles], i + 1
            conn.execute(_INSERT, (
                console, id, "admin", 53, None, None, "PENDING", 0, 1, "nightly_1", "7.5.0",
                "CONFIG", "backup.nightly_1.tgz", "CUSTOM_RULES_CONFIG", 1, "API", None, None,
                None, None, None,
            ))  # fmt: skip
            for source, dest in itertools.pairwise(_STATUSES):
                done = dest == "SUCCESS"
                cursor = conn.execute(_UPDATE, (
                    now, now if done else None, dest, None if done else 1, 1, "API",
                    None if done else now, "SUCCESS", None, id, now, console, id, source,
                ))  # fmt: skip
                assert cursor.rowcount == 1
            if i % per_commit == per_commit - 1 or i == n - 1:
                conn.execute("COMMIT")
        return n / (time.perf_counter() - start)
    finally:
        conn.close()


# --- profiling -------------------------------------------------------------------------------


@contextmanager
def profiled(title: str, out: list[str], top: int = 30) -> Iterator[None]:
    """cProfile the event loop's thread and, separately, the store's batches on its thread."""
    loop_profile = cProfile.Profile()
    thread_profile = cProfile.Profile()
    original = SqliteStore._run_batch

    def run_batch(self: SqliteStore, batch: Any) -> Any:
        thread_profile.enable()
        try:
            return original(self, batch)
        finally:
            thread_profile.disable()

    SqliteStore._run_batch = run_batch  # type: ignore[method-assign]
    loop_profile.enable()
    try:
        yield
    finally:
        loop_profile.disable()
        SqliteStore._run_batch = original  # type: ignore[method-assign]
    for name, profile in (("event-loop thread", loop_profile), ("store thread", thread_profile)):
        for order in ("tottime", "cumulative"):
            buffer = io.StringIO()
            stats = pstats.Stats(profile, stream=buffer)
            stats.strip_dirs().sort_stats(order).print_stats(top)
            out.append(f"=== {title}: {name}, by {order} ===\n{buffer.getvalue()}")


# --- the whole benchmark ---------------------------------------------------------------------


def _run_note(label: str, run: Run) -> str:
    return (
        f"{label}: {run.lifecycles:,} lifecycles in {run.seconds:.2f} s wall, "
        f"{run.cpu_seconds:.2f} s CPU ({run.cpu_seconds / run.seconds:.0%} of one CPU); "
        f"{run.batches / run.lifecycles:.2f} commits (batches) and "
        f"{run.units / run.lifecycles:.2f} units per lifecycle, "
        f"{run.units / max(1, run.batches):.1f} units per batch, largest batch {run.largest_batch}"
    )


def run(config: Config, progress: Callable[[str], None] = print) -> Report:
    report = Report()
    report.notes.append(configure_logging())
    pinned = config.pinned_cpus
    headline = pinned if config.pin else all_cpus()
    report.notes.append(
        f"BENCH_PIN={int(config.pin)}: headline figures run {cpu_label(headline)}; "
        "the one-console figure is measured both unpinned and pinned"
    )
    report.notes.append(
        f"event loop: {LOOP} (BENCH_LOOP=asyncio|uvloop; uvloop is what `bre serve` uses); "
        "clock: virtual"
    )
    with tempfile.TemporaryDirectory(prefix="bre-bench-") as directory:
        # start-up
        with affinity(headline):
            progress("start-up ...")
            enter, exit, ceiling = run_loop(startup())
        report.rows.append(Row(
            "start-up: `async with Simulator()` enter, median of 20", enter, "ms",
            "aiosqlite connect + schema script (:memory:)", ceiling,
        ))  # fmt: skip
        report.notes.append(
            f"start-up: enter {enter:.1f} ms (goal <= 20 ms: "
            f"{'met' if enter <= 20 else 'NOT met'}), exit {exit:.1f} ms"
        )

        # one console, unpinned and pinned, median of the repeats
        n = config.one_console_n
        ones: dict[str, Run] = {}
        for label, cpus in (("unpinned", all_cpus()), ("pinned", pinned)):
            runs = []
            for _ in range(config.repeats):
                progress(f"one console, {label}: {n} lifecycles ...")
                with affinity(cpus):
                    runs.append(run_loop(one_console(directory, n)))
            ones[label] = sorted(runs, key=lambda r: r.rate)[len(runs) // 2]
        with affinity(headline):
            progress("ceiling: sqlite3, one commit per lifecycle ...")
            single = statistics.median(
                sqlite_ceiling(directory, max(n, 5000), 1) for _ in range(config.repeats)
            )
        ceiling_1 = "sqlite3: INSERT + 4 UPDATE, 1 COMMIT per lifecycle"
        for label, one in ones.items():
            report.rows.append(Row(
                f"one console, {cpu_label(all_cpus() if label == 'unpinned' else pinned)}",
                one.rate, "lifecycles/s", ceiling_1, single,
            ))  # fmt: skip
            report.notes.append(_run_note(f"one console, {label}", one))
        best = ones["pinned" if config.pin else "unpinned"].rate
        report.notes.append(
            f"one console: goal >= 3,000 lifecycles/s: {'met' if best >= 3000 else 'NOT met'} "
            f"({best:,.0f}, {'pinned' if config.pin else 'unpinned'})"
        )

        # across consoles
        per = config.per_console
        with affinity(headline):
            progress(f"{config.consoles} consoles x {per} lifecycles ...")
            many, created = run_loop(many_consoles(directory, config.consoles, per))
            progress("ceiling: sqlite3, one commit per 100 lifecycles ...")
            batched = statistics.median(
                sqlite_ceiling(directory, max(many.lifecycles, 50_000), 100, config.consoles)
                for _ in range(config.repeats)
            )
        report.rows.append(Row(
            f"{config.consoles:,} consoles, {per} lifecycles each, concurrently",
            many.rate, "lifecycles/s",
            f"sqlite3: INSERT + 4 UPDATE, 1 COMMIT per 100 lifecycles, {config.consoles} consoles",
            batched,
        ))  # fmt: skip
        report.rows.append(Row(
            f"creating {config.consoles:,} consoles (demo world, 100 at a time)", created,
            "consoles/s",
        ))  # fmt: skip
        report.notes.append(_run_note(f"{config.consoles} consoles", many))
        report.notes.append(
            f"across {config.consoles:,} consoles: goal >= 10,000 lifecycles/s: "
            f"{'met' if many.rate >= 10_000 else 'NOT met'} ({many.rate:,.0f})"
        )

        # memory
        total = config.lifecycles
        with affinity(headline):
            progress(f"memory: {total:,} lifecycles across {config.consoles} consoles ...")
            mem = run_loop(memory(directory, config.consoles, total, progress))
        first = mem.samples[1] if len(mem.samples) > 1 else mem.samples[0]
        last = mem.samples[-1]
        for done, kib in mem.samples[1:]:
            report.rows.append(Row(
                f"RSS after {done:,} of {mem.run.lifecycles:,} lifecycles", kib / 1024, "MiB",
            ))  # fmt: skip
        growth = (last[1] - first[1]) / 1024
        report.rows.append(Row(
            f"RSS growth from {first[0]:,} to {last[0]:,} lifecycles", growth, "MiB",
        ))  # fmt: skip
        report.rows.append(Row(
            "memory run throughput", mem.run.rate, "lifecycles/s",
            f"sqlite3: INSERT + 4 UPDATE, 1 COMMIT per 100 lifecycles, {config.consoles} consoles",
            batched,
        ))  # fmt: skip
        per_lifecycle = growth * 1024 * 1024 / max(1, last[0] - first[0])
        report.notes.append(
            "memory: RSS (VmRSS after gc.collect) "
            + ", ".join(f"{d:,}: {k / 1024:.1f} MiB" for d, k in mem.samples)
            + f"; {per_lifecycle:.1f} bytes per lifecycle after the first sample; "
            f"database {mem.db_bytes / 2**20:.0f} MiB on disk"
        )
        report.notes.append(_run_note("memory run", mem.run))

        if config.profile:
            with affinity(headline):
                out: list[str] = []
                progress("profiling one console ...")
                with profiled("one console", out):
                    run_loop(one_console(directory, n))
                progress(f"profiling {config.consoles} consoles ...")
                with profiled(f"{config.consoles} consoles", out):
                    run_loop(many_consoles(directory, config.consoles, per))
                report.notes.append("\n".join(out))
    report.notes.append(
        "ratio = figure / ceiling figure; ceilings ran in the same process, same CPU setting, "
        "on a temporary file with WAL + synchronous=NORMAL and the engine's schema"
    )
    return report
