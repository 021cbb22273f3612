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
import functools
import gc
import io
import itertools
import multiprocessing
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

from bench import Row, all_cpus, rss_kib, set_cpus
from engine import logs
from engine.core.enums import JobKind, RestoreStatus
from engine.core.jobs import Job
from engine.core.lifecycle import Event
from engine.core.records import demo_world
from engine.runtime.console import Console
from engine.runtime.machines import Fired, JobModel, Machines
from engine.simulator import Settings, Simulator
from engine.store import schema
from engine.store import sqlite as sqlite_store
from engine.store.base import UNFINISHED_RESTORES
from engine.store.rows import BACKUPS, RESTORES, job_values

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
    """Drop the engine's info logs as `bre serve --log-level WARNING` does (`logs.quiet`)."""
    logs.quiet()
    return (
        "structlog: engine.logs.quiet(), as `bre serve --log-level WARNING` (filtering bound "
        "logger at WARNING, cached on first use): info logs are dropped at the call"
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
    return sim.store.stats()


async def _measure(sim: Simulator, n: int, body: Callable[[], Awaitable[None]]) -> Run:
    before = _store_stats(sim)
    gc.collect()
    cpu, start = time.process_time(), time.perf_counter()
    await body()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    after = _store_stats(sim)
    return Run(
        n,
        seconds,
        cpu,
        after["batches"] - before["batches"],
        after["units"] - before["units"],
        after["largest_batch"],
    )


_files = itertools.count()


def _db(directory: str, name: str) -> str:
    """A fresh database file for each run."""
    return os.path.join(directory, f"{name}-{next(_files)}.sqlite3")


async def one_console(directory: str, n: int, warmup: int = 50, db: str | None = None) -> Run:
    """`n` lifecycles on one console; on a fresh SQLite file unless `db` names a store."""
    async with Simulator(Settings(db=db or _db(directory, "one"), clock="virtual")) as sim:
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
        consoles += await asyncio.gather(
            *(
                sim.create_console(f"bench-{i:05d}", rules=IMMEDIATE)
                for i in range(first, min(first + chunk, count))
            )
        )
    return consoles


async def _drive(sim: Simulator, consoles: list[Console], per_console: int) -> Run:
    async def driver(console: Console) -> None:
        for _ in range(per_console):
            await lifecycle(console)

    async def body() -> None:
        await asyncio.gather(*(driver(c) for c in consoles))

    return await _measure(sim, per_console * len(consoles), body)


async def many_consoles(
    directory: str,
    count: int,
    per_console: int,
    ready: Callable[[], None] = lambda: None,
    name: str = "many",
    db: str | None = None,
) -> tuple[Run, float]:
    """`count` consoles driven concurrently; `ready` is called once they are set up. On a fresh
    SQLite file unless `db` names a store."""
    async with Simulator(Settings(db=db or _db(directory, name), clock="virtual")) as sim:
        start = time.perf_counter()
        consoles = await create_consoles(sim, count)
        created = time.perf_counter() - start
        await _drive(sim, consoles, 1)  # warm-up: every console has done one lifecycle
        ready()
        return await _drive(sim, consoles, per_console), count / created


def _shard(
    directory: str, name: str, count: int, per_console: int, cpu: int, events: Any, go: Any
) -> None:
    """One process of `scale_out`: its own simulator, database file, consoles and CPU."""
    set_cpus({cpu})
    configure_logging()

    def ready() -> None:
        events.put(("ready", cpu))
        go.wait()

    try:
        run, _ = run_loop(many_consoles(directory, count, per_console, ready=ready, name=name))
    except BaseException as error:
        events.put(("failed", f"CPU {cpu}: {error!r}"))
        raise
    events.put(("done", (run.lifecycles, run.seconds)))


def _collect(events: Any, kind: str, count: int) -> list[Any]:
    """The next `count` messages `kind` of the scale-out processes; raises if one failed."""
    found: list[Any] = []
    while len(found) < count:
        what, value = events.get(timeout=600)
        if what == "failed":
            raise RuntimeError(f"a scale-out process failed: {value}")
        if what == kind:
            found.append(value)
    return found


def scale_out(directory: str, count: int, per_console: int, cpus: list[int]) -> tuple[float, int]:
    """Lifecycles/s of one simulator per CPU, each with `count / len(cpus)` consoles and its own
    database file, started together: how the engine scales across cores when consoles are
    spread over processes (as test runners such as pytest-xdist do). Returns the aggregate
    rate (all lifecycles over the slowest process's time) and the number of processes."""
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    go = context.Event()
    share = count // len(cpus)
    run = next(_files)  # the children's own counters all start at 0: name their files here
    children = [
        context.Process(
            target=_shard,
            args=(directory, f"scale-{run}-cpu{cpu}", share, per_console, cpu, events, go),
        )
        for cpu in cpus
    ]
    for child in children:
        child.start()
    try:
        _collect(events, "ready", len(children))
        go.set()
        finished = _collect(events, "done", len(children))
    finally:
        for child in children:
            child.join(timeout=60)
            if child.is_alive():
                child.kill()
    lifecycles = sum(n for n, _ in finished)
    return lifecycles / max(seconds for _, seconds in finished), len(children)


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
            sum(r.lifecycles for r in runs),
            sum(r.seconds for r in runs),
            sum(r.cpu_seconds for r in runs),
            sum(r.batches for r in runs),
            sum(r.units for r in runs),
            max(r.largest_batch for r in runs),
        )
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

#: the engine's own statements (parameters in the order of `RESTORES.columns`, `.updated`)
_INSERT = sqlite_store.insert_sql(RESTORES)
_UPDATE = sqlite_store.update_sql(RESTORES)
_STATUSES = ("PENDING", "REQUESTING", "INITIALIZING", "IN_PROGRESS", "SUCCESS")
#: A pending restore's columns after (console, id), as `_INSERT` takes them.
_PENDING_RESTORE = (
    "admin",
    53,
    None,
    None,
    "PENDING",
    0,
    1,
    "nightly_1",
    "7.5.0",
    "CONFIG",
    "backup.nightly_1.tgz",
    "CUSTOM_RULES_CONFIG",
    1,
    "API",
    None,
    None,
    None,
    None,
    None,
)


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
            conn.execute(
                _INSERT,
                (console, id, *_PENDING_RESTORE),
            )
            for source, dest in itertools.pairwise(_STATUSES):
                done = dest == "SUCCESS"
                cursor = conn.execute(
                    _UPDATE,
                    (
                        now,
                        now if done else None,
                        dest,
                        0,
                        None if done else 1,
                        1,
                        "API",
                        None if done else now,
                        "SUCCESS",
                        None,
                        id,
                        now,
                        console,
                        id,
                        source,
                    ),
                )
                assert cursor.rowcount == 1
            if i % per_commit == per_commit - 1 or i == n - 1:
                conn.execute("COMMIT")
        return n / (time.perf_counter() - start)
    finally:
        conn.close()


# --- the floor: the work no engine on this stack can skip ------------------------------------

_FLOOR_EVENTS = (Event.REQUEST, Event.RECEIVE, Event.BEGIN, Event.SUCCEED)


def _floor_statements() -> dict[str, str]:
    return {
        "backup": sqlite_store.SELECT_VISIBLE_BACKUP,
        "unfinished": sqlite_store.UNFINISHED_SQL,
        "next_id": (
            "UPDATE consoles SET next_restore_id = next_restore_id + 1 WHERE id = ? "
            "RETURNING next_restore_id - 1"
        ),
        "restore": sqlite_store.SELECT_RESTORE,
        "gate": sqlite_store.GATE_SQL,
        "console": "SELECT id, rebalancing, settings, revision FROM consoles WHERE id = ?",
        "ordinal": (
            "UPDATE consoles SET restore_ordinal = restore_ordinal + 1 WHERE id = ? "
            "RETURNING restore_ordinal"
        ),
    }


async def floor(directory: str, count: int, per_console: int) -> Run:
    """Lifecycles/s of the work an engine on this stack cannot skip, with nothing around it.

    Per lifecycle: the statements the units must run (create: the backup, a row of the demo
    world's backups that each console holds as the engine's do, the unfinished-restore check,
    the next id, the INSERT; request: the restore, the gate, the console, the ordinal, one
    compare-and-set UPDATE; then a read of the result), the four transitions fired on the
    engine's own `transitions` machine, and two units through a group-committing writer shared
    by `count` asyncio tasks on one event loop (a savepoint per unit, a commit per batch). No
    records, rules, validation, logs or API: an engine built on SQLite, `transitions` and
    asyncio on one CPU cannot be faster than this."""
    sql = _floor_statements()
    conn = sqlite3.connect(_db(directory, "floor"), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    schema.migrate(conn)
    names = [f"bench-{i:05d}" for i in range(count)]
    conn.executemany("INSERT INTO consoles (id) VALUES (?)", [(c,) for c in names])
    # the demo world's backups, as the engine's consoles hold them: the create reads a real row
    backups = demo_world().backups
    conn.executemany(
        sqlite_store.insert_sql(BACKUPS),
        [
            (c, *BACKUPS.values(b), *job_values(Job(JobKind.BACKUP, b.id, b.status)))
            for c in names
            for b in backups
        ],
    )
    machines = Machines()
    loop = asyncio.get_running_loop()
    queue: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
    pending = asyncio.Event()
    now = 1_767_225_600_000

    async def writer() -> None:
        nonlocal queue
        while True:
            await pending.wait()
            pending.clear()
            while queue:
                batch, queue = queue[:128], queue[128:]
                conn.execute("BEGIN IMMEDIATE")
                done = []
                for work, _ in batch:
                    conn.execute("SAVEPOINT unit")
                    done.append(work())
                    conn.execute("RELEASE unit")
                conn.execute("COMMIT")
                for (_, future), value in zip(batch, done, strict=True):
                    future.set_result(value)

    async def transact(work: Callable[[], Any]) -> Any:
        future = loop.create_future()
        queue.append((work, future))
        pending.set()
        return await future

    def create(console: str) -> int:
        assert conn.execute(sql["backup"], (console, 1)).fetchone() is not None
        conn.execute(sql["unfinished"], (console, *UNFINISHED_RESTORES)).fetchone()
        id: int = conn.execute(sql["next_id"], (console,)).fetchone()[0]
        conn.execute(
            _INSERT,
            (console, id, *_PENDING_RESTORE),
        )
        return id

    def request(console: str, id: int) -> list[Fired]:
        conn.execute(sql["restore"], (console, id)).fetchone()
        conn.execute(sql["gate"], (console, console, console)).fetchone()
        conn.execute(sql["console"], (console,)).fetchone()
        ordinal = conn.execute(sql["ordinal"], (console,)).fetchone()[0]
        fired: list[Fired] = []
        model = JobModel(JobKind.RESTORE, console, id, "PENDING", now, lambda s, d: None, fired)
        for event in _FLOOR_EVENTS:
            machines.fire(model, event)
        conn.execute(
            _UPDATE,
            (
                now,
                now,
                "SUCCESS",
                0,
                None,
                1,
                "API",
                None,
                "SUCCESS",
                None,
                ordinal,
                now,
                console,
                id,
                "PENDING",
            ),
        )
        return fired

    async def driver(console: str, lifecycles: int) -> None:
        for _ in range(lifecycles):
            id = await transact(functools.partial(create, console))
            await transact(functools.partial(request, console, id))
            row = conn.execute(sql["restore"], (console, id)).fetchone()
            assert row[5] == RestoreStatus.SUCCESS

    task = loop.create_task(writer())
    try:
        await asyncio.gather(*(driver(c, 1) for c in names))  # warm-up, as the engine's
        gc.collect()
        cpu, start = time.process_time(), time.perf_counter()
        await asyncio.gather(*(driver(c, per_console) for c in names))
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        return Run(count * per_console, seconds, cpu, 0, 0, 0)
    finally:
        task.cancel()
        conn.close()


# --- profiling -------------------------------------------------------------------------------


@contextmanager
def profiled(title: str, out: list[str], top: int = 30) -> Iterator[None]:
    """cProfile the event loop's thread, where the store's batches run too (they go to
    aiosqlite's thread only when another process holds the write lock)."""
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
    for order in ("tottime", "cumulative"):
        buffer = io.StringIO()
        stats = pstats.Stats(profile, stream=buffer)
        stats.strip_dirs().sort_stats(order).print_stats(top)
        out.append(f"=== {title}, by {order} ===\n{buffer.getvalue()}")


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
        report.rows.append(
            Row(
                "start-up: `async with Simulator()` enter, median of 20",
                enter,
                "ms",
                "aiosqlite connect + schema script (:memory:)",
                ceiling,
            )
        )
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
            report.rows.append(
                Row(
                    f"one console, {cpu_label(all_cpus() if label == 'unpinned' else pinned)}",
                    one.rate,
                    "lifecycles/s",
                    ceiling_1,
                    single,
                )
            )
            report.notes.append(_run_note(f"one console, {label}", one))
        best = ones["pinned" if config.pin else "unpinned"].rate
        with affinity(headline):
            progress(f"one console, memory adapter: {n} lifecycles ...")
            in_memory = sorted(
                (run_loop(one_console(directory, n, db="memory:")) for _ in range(config.repeats)),
                key=lambda r: r.rate,
            )[config.repeats // 2]
        report.rows.append(
            Row(
                f"one console on the memory adapter (memory:), {cpu_label(headline)}",
                in_memory.rate,
                "lifecycles/s",
                "the SQLite file figure above (same CPUs)",
                best,
            )
        )
        report.notes.append(_run_note("one console, memory adapter", in_memory))
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
        report.rows.append(
            Row(
                f"{config.consoles:,} consoles, {per} lifecycles each, concurrently",
                many.rate,
                "lifecycles/s",
                "sqlite3: INSERT + 4 UPDATE, 1 COMMIT per 100 lifecycles, "
                f"{config.consoles} consoles",
                batched,
            )
        )
        report.rows.append(
            Row(
                f"creating {config.consoles:,} consoles (demo world, 100 at a time)",
                created,
                "consoles/s",
            )
        )
        report.notes.append(_run_note(f"{config.consoles} consoles", many))
        with affinity(headline):
            progress(f"{config.consoles} consoles x {per} lifecycles, memory adapter ...")
            many_memory, _ = run_loop(many_consoles(directory, config.consoles, per, db="memory:"))
        report.rows.append(
            Row(
                f"{config.consoles:,} consoles on the memory adapter (memory:), as above",
                many_memory.rate,
                "lifecycles/s",
                "the SQLite file figure above",
                many.rate,
            )
        )
        with affinity(headline):
            progress("floor: the essential statements and transitions, no engine ...")
            floors = sorted(
                (run_loop(floor(directory, config.consoles, per)) for _ in range(config.repeats)),
                key=lambda r: r.rate,
            )
            lowest = floors[len(floors) // 2].rate
        report.rows.append(
            Row(
                f"{config.consoles:,} consoles (as above), against the floor of the stack",
                many.rate,
                "lifecycles/s",
                "floor: the same statements, 4 transitions and group commit, no engine (one CPU)",
                lowest,
            )
        )
        # CPU per lifecycle: what a loaded machine disturbs least
        engine_us = many.cpu_seconds / many.lifecycles * 1e6
        floor_us = statistics.median(r.cpu_seconds / r.lifecycles * 1e6 for r in floors)
        report.notes.append(
            f"CPU per lifecycle across {config.consoles:,} consoles: the engine {engine_us:.0f} "
            f"us, the floor {floor_us:.0f} us (median of {len(floors)}): "
            f"{floor_us / engine_us:.3f} of the floor by CPU time"
        )
        shards = sorted(all_cpus())
        if len(shards) > 1:
            progress(f"scale-out: {len(shards)} simulators, one per CPU ...")
            outs = [
                scale_out(directory, config.consoles, per, shards) for _ in range(config.repeats)
            ]
            spread, processes = statistics.median(r for r, _ in outs), outs[0][1]
            report.rows.append(
                Row(
                    f"{config.consoles:,} consoles over {processes} simulators (one process and "
                    "database file per CPU), together",
                    spread,
                    "lifecycles/s",
                    f"the one-process figure above x {processes}",
                    many.rate * processes,
                )
            )
            report.notes.append(
                f"scale-out: {processes} processes (spawned, one pinned to each CPU), each a "
                f"simulator with {config.consoles // processes} consoles and its own database "
                f"file, started together: {spread:,.0f} lifecycles/s in all (median of "
                f"{len(outs)}: {', '.join(f'{r:,.0f}' for r, _ in outs)})"
            )
        report.notes.append(
            f"across {config.consoles:,} consoles: goal >= 10,000 lifecycles/s: "
            f"{'met' if many.rate >= 10_000 else 'NOT met'} by one simulator ({many.rate:,.0f}; "
            f"the floor of the stack on one CPU is {lowest:,.0f})"
        )

        # memory
        total = config.lifecycles
        with affinity(headline):
            progress(f"memory: {total:,} lifecycles across {config.consoles} consoles ...")
            mem = run_loop(memory(directory, config.consoles, total, progress))
        first = mem.samples[1] if len(mem.samples) > 1 else mem.samples[0]
        last = mem.samples[-1]
        for done, kib in mem.samples[1:]:
            report.rows.append(
                Row(
                    f"RSS after {done:,} of {mem.run.lifecycles:,} lifecycles",
                    kib / 1024,
                    "MiB",
                )
            )
        growth = (last[1] - first[1]) / 1024
        report.rows.append(
            Row(
                f"RSS growth from {first[0]:,} to {last[0]:,} lifecycles",
                growth,
                "MiB",
            )
        )
        report.rows.append(
            Row(
                "memory run throughput",
                mem.run.rate,
                "lifecycles/s",
                "sqlite3: INSERT + 4 UPDATE, 1 COMMIT per 100 lifecycles, "
                f"{config.consoles} consoles",
                batched,
            )
        )
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
