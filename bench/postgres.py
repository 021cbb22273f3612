"""PostgreSQL: persisted restore lifecycles per second across 1,000 consoles with 1, 2 and 4
simulator processes on one database, beside `pgbench`'s simple-update throughput on the same
server (the ceiling: what the server commits per second for small transactions), and beside
the SQLite adapter's single-process figure measured in the same run.

A lifecycle is the engine benchmark's (create, request, three transitions under the
`immediate` rule, every step committed). Each process is a whole `Simulator` on the shared
database (every console attached, as `bre serve` does; told how many processes share the host,
as `bre serve --workers N` tells its processes) driving its share of the consoles; the
aggregate rate is all lifecycles over the slowest process's time (the median of three runs,
one with --quick; 5 lifecycles per console with --quick, 10 without). PostgreSQL shares the
CPUs with the processes (nothing is pinned). Per lifecycle the notes give the CPU time of the
simulator processes (`process_time`) and of their server backends (read in /proc when the
server is local), the statements sent, the commits, the backends' voluntary context switches
and, where the host's writers take turns (`slots_for`), how many commits waited for a turn:
on a machine where the server shares the CPUs, CPU per lifecycle is what bounds the curve.
The server is BENCH_POSTGRES (else BRE_TEST_POSTGRES, else the local server); the benchmark
runs in a database of its own, dropped at the end.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bench import Row, process_cpu_s
from bench import engine as engine_bench
from engine.simulator import Settings, Simulator
from engine.store.factory import HOST_PROCESSES

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PROCESSES = (1, 2, 4)
PGBENCH_CLIENTS = 4


def _server() -> str:
    return os.environ.get("BENCH_POSTGRES") or os.environ.get("BRE_TEST_POSTGRES") or DEFAULT_SERVER


def _database(server: str, name: str) -> str:
    return urlunsplit(urlsplit(server)._replace(path="/" + name))


async def _create(url: str, count: int) -> None:
    async with Simulator(Settings(db=url, clock="virtual")) as sim:
        await engine_bench.create_consoles(sim, count)


async def _share(
    url: str,
    index: int,
    processes: int,
    per_console: int,
    ready: Callable[[], None],
    done: Callable[[tuple[int, float, float, int, int, int, int, int]], None],
) -> None:
    """Drive this process's share of the consoles; `done` is told the lifecycles, seconds, CPU
    seconds, commits, statements, writers, writer slots of the host (0: no limit) and waits
    for a slot before the simulator closes (its connections are measured open)."""
    async with Simulator(Settings(db=url, clock="virtual")) as sim:
        ids = sorted(i for i in await sim.list_consoles() if i.startswith("bench-"))
        mine = [await sim.find_console(i) for i in ids[index::processes]]
        consoles = [c for c in mine if c is not None]
        for console in consoles:  # warm-up: one lifecycle each
            await engine_bench.lifecycle(console)
        ready()

        async def driver(console: Any) -> None:
            for _ in range(per_console):
                await engine_bench.lifecycle(console)

        before = sim.store.stats()
        cpu, start = time.process_time(), time.perf_counter()
        await asyncio.gather(*(driver(c) for c in consoles))
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        after = sim.store.stats()
        commits, statements, waits = (
            after[k] - before[k] for k in ("batches", "statements", "slot_waits")
        )
        done((
            len(consoles) * per_console, seconds, cpu, commits, statements, after["writers"],
            after["slots"], waits,
        ))  # fmt: skip


def _process(
    url: str, index: int, processes: int, per_console: int, events: Any, go: Any, measured: Any
) -> None:
    engine_bench.configure_logging()
    os.environ[HOST_PROCESSES] = str(processes)  # as `bre serve --workers N` says to each

    def ready() -> None:
        events.put(("ready", index))
        go.wait()

    def done(result: tuple[int, float, float, int, int, int, int, int]) -> None:
        events.put(("done", result))
        measured.wait(60)  # the server's CPU is read while every connection is open

    try:
        engine_bench.run_loop(_share(url, index, processes, per_console, ready, done))
    except BaseException as error:
        events.put(("failed", f"process {index}: {error!r}"))
        raise


@dataclass(frozen=True, slots=True)
class Scaled:
    """One run of `scale`: the aggregate rate, and per lifecycle the CPU seconds of the
    simulator processes and of their server backends (None: the server is not local), the
    writers' commits, the statements sent (round trips), the server backends' voluntary
    context switches (None: not local) and the commits that waited for a writer slot; the
    writers of each process and the writer slots of the host (0: no limit)."""

    rate: float
    client_cpu: float
    server_cpu: float | None
    commits: float
    statements: float
    switches: float | None
    slot_waits: float
    writers: int
    slots: int


def backends_cpu_s(url: str) -> dict[int, tuple[float, int]] | None:
    """CPU seconds used so far by each server backend connected to the database of `url`, and
    its voluntary context switches (a wait for its client, a lock or the disk), read in /proc:
    None when the server is not on this machine or not readable."""
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        return None
    with psycopg.connect(url, autocommit=True) as conn:
        pids = [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )]  # fmt: skip
    used = {}
    for pid in pids:
        try:
            used[pid] = process_cpu_s(pid), _switches(pid)
        except OSError:
            return None
    return used


def _switches(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    return 0


def _per(
    after: dict[int, tuple[float, int]] | None,
    before: dict[int, tuple[float, int]] | None,
    index: int,
    lifecycles: int,
) -> float | None:
    if before is None or after is None:
        return None
    return sum(v[index] - before.get(pid, (0.0, 0))[index] for pid, v in after.items()) / lifecycles


def scale(url: str, processes: int, per_console: int) -> Scaled:
    """Aggregate lifecycles/s of `processes` simulators on one database."""
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    go, measured = context.Event(), context.Event()
    workers = [
        context.Process(
            target=_process, args=(url, i, processes, per_console, events, go, measured)
        )
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    try:
        engine_bench._collect(events, "ready", processes)
        server = backends_cpu_s(url)
        go.set()
        results = engine_bench._collect(events, "done", processes)
        after = backends_cpu_s(url) if server is not None else None
    finally:
        measured.set()
        for worker in workers:
            worker.join(60)
            if worker.is_alive():
                worker.kill()
    lifecycles = sum(r[0] for r in results)
    return Scaled(
        lifecycles / max(r[1] for r in results),
        sum(r[2] for r in results) / lifecycles,
        _per(after, server, 0, lifecycles),
        sum(r[3] for r in results) / lifecycles,
        sum(r[4] for r in results) / lifecycles,
        _per(after, server, 1, lifecycles),
        sum(r[7] for r in results) / lifecycles,
        results[0][5],
        results[0][6],
    )


def pgbench(url: str, seconds: int) -> float:
    """`pgbench -N` (simple update: one UPDATE, one SELECT, one INSERT per transaction) with
    PGBENCH_CLIENTS clients: transactions per second on this server."""
    subprocess.run(["pgbench", "-i", "-q", "-s", "1", url], check=True, capture_output=True)
    ran = subprocess.run(
        ["pgbench", "-N", "-n", "-c", str(PGBENCH_CLIENTS), "-j", "2", "-T", str(seconds), url],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    found = re.search(r"tps = ([0-9.]+)", ran.stdout)
    if found is None:
        raise RuntimeError(f"pgbench printed no tps: {ran.stdout[-500:]}")
    return float(found.group(1))


def run(quick: bool, say: Callable[[str], None], notes: list[str]) -> list[Row]:
    server = _server()
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=3) as conn:
            version = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error as error:
        notes.append(f"PostgreSQL: skipped, no server at {server} ({str(error).strip()})")
        return []
    if shutil.which("pgbench") is None:
        notes.append("PostgreSQL: skipped, pgbench is not installed (its ceiling is required)")
        return []
    consoles = int(os.environ.get("BENCH_CONSOLES", 1000))
    per_console = 5 if quick else 10  # quick: 5,000 lifecycles a point, a few seconds each
    name = f"bre_bench_{secrets.token_hex(4)}"
    url = _database(server, name)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    rows: list[Row] = []
    try:
        say(f"postgres: creating {consoles} consoles")
        engine_bench.run_loop(_create(url, consoles))
        runs: dict[int, Scaled] = {}
        repeats = 1 if quick else 3
        for processes in PROCESSES:
            say(f"postgres: {processes} process(es), {per_console} lifecycles per console")
            tries = sorted(
                (scale(url, processes, per_console) for _ in range(repeats)), key=lambda r: r.rate
            )
            runs[processes] = tries[len(tries) // 2]  # the median run
        rates = {p: r.rate for p, r in runs.items()}
        say("postgres: pgbench -N")
        ceiling = pgbench(url, 5 if quick else 15)
        say("postgres: SQLite beside it, one process")
        engine_bench.configure_logging()
        with tempfile.TemporaryDirectory(prefix="bre-bench-") as directory:
            sqlite_run, _ = engine_bench.run_loop(
                engine_bench.many_consoles(directory, consoles, per_console, name="pg-side")
            )
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    ceiling_label = f"pgbench -N, {PGBENCH_CLIENTS} clients, same server (tps)"
    for processes, rate in rates.items():
        rows.append(Row(
            f"PostgreSQL lifecycles/s, {consoles:,} consoles, {processes} process(es)",
            rate, "lifecycles/s", ceiling_label, ceiling,
        ))  # fmt: skip
    best = max(rates.values())
    rows.append(Row(
        f"PostgreSQL best vs SQLite, {consoles:,} consoles, one process", best, "lifecycles/s",
        "SQLite adapter, same consoles, one process", sqlite_run.rate,
    ))  # fmt: skip
    curve = ", ".join(
        f"{p}: {rates[p] / rates[PROCESSES[0]]:.2f}x" for p in PROCESSES if p in rates
    )
    cpu = "; ".join(
        f"{p}: {r.client_cpu * 1e6:.0f} µs in the simulators, "
        + (
            "server not local"
            if r.server_cpu is None
            else f"{r.server_cpu * 1e6:.0f} µs in the server"
        )
        + f", {r.statements:.1f} statements, {r.commits:.3f} commits"
        + ("" if r.switches is None else f", {r.switches:.1f} backend context switches")
        + f", {r.writers} writer(s)"
        + (f", {r.slots} slots, {r.slot_waits:.3f} slot waits" if r.slots else "")
        for p, r in runs.items()
    )
    notes.append(
        f"PostgreSQL {version[0] if version else '?'}: scaling over processes relative to one "
        f"({curve}); the processes and the server share {os.cpu_count()} CPUs, nothing pinned"
    )
    notes.append(f"PostgreSQL, CPU and commits per lifecycle by processes ({cpu})")
    return rows
