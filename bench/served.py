"""Served figures of issue 12, each beside a ceiling measured in the same run, interleaved.

    python -m bench.served [--quick] [--only lists,write,memory,startup,get]

- lists: `GET /backups` with `Range: items=0-49` (plain, and filtered) on a console of 100,000
  backups against the same request on a console of 100 (ratio of median latencies, rounds
  interleaved); another console's `GET /restores/{id}` under wrk while a client lists the
  100,000 backups back to back, against the same wrk run with nobody listing.
- write: restore lifecycles over HTTP (POST create, POST REQUESTING, `immediate` mode, a console
  per client), wrk with one thread per client (a Lua state machine each), at 64 clients and 1,
  against the same client and script on a trivial Starlette route on the same uvicorn.
- memory: the served process's RSS over 64 and over 1,000 consoles (`--quick`: 64): a warm-up
  that fills every console's bounded caches (WARM_UP lifecycles each), then
  BENCH_MEMORY_LIFECYCLES more (200,000; `--quick` 20,000); the growth over the second run.
- startup: spawn to first answer of `bre serve` against uvicorn with a trivial route, and
  `bre --help`, interleaved rounds, medians.
- get: `GET /restores/{id}` on `bre serve` beside WireMock answering the same JSON, the trivial
  route on the same uvicorn and the same application on granian (`bench.http.peers`).

Servers are pinned to one CPU and wrk to the other (when there are two); the machine may be
shared, which is why every figure is a ratio against a ceiling run in the same rounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from bench import Row, process_cpu_s, text_table
from bench.http import _cpus, _wrk, ensure_wrk, parse_wrk, peers
from engine.load.servers import Server, rss_kib, start_server, stop
from engine.runtime.console import HISTORY
from engine.runtime.phases import PHASE_JOBS

API = "/api/backup_and_restore"
TOKEN = "bench-token"
BIG, SMALL = 100_000, 100
IMMEDIATE = {"restore": {"mode": "immediate"}, "backup": {"mode": "immediate"}}

PING_SERVER = r"""
import os, socket, sys
import uvicorn, uvloop
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def ping(request):
    if request.method == "POST":
        await request.body()
        return JSONResponse({"id": 1, "status": "PENDING"}, status_code=201)
    return JSONResponse({"ping": "pong"})

async def ping_id(request):
    await request.body()
    return JSONResponse({"id": 1, "status": "SUCCESS"})

app = Starlette(routes=[Route("/ping", ping, methods=["GET", "POST"]),
                        Route("/ping/{id}", ping_id, methods=["POST"])])
cpu = int(sys.argv[1])
if cpu >= 0:
    os.sched_setaffinity(0, {cpu})
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", int(sys.argv[2]) if len(sys.argv) > 2 else 0))
sock.listen(2048)
sock.setblocking(False)
server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                       access_log=False))

async def main():
    import asyncio
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.002)
    print(f"ready: http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    await task

uvloop.run(main())
"""

#: One state machine per wrk thread (one connection each): create, then REQUESTING, then the
#: next console of the thread's list. Counts lifecycles (a 200 to REQUESTING) and statuses.
#: With LIMIT > 0 a thread stops after LIMIT lifecycles, between two (no PENDING restore left
#: behind, so a later run may drive the same consoles), and appends a line to DONE_FILE.
LIFECYCLE_LUA = r"""
local threads = {}
local next_thread = 0
function setup(thread)
  next_thread = next_thread + 1
  local mine = {}
  for i = next_thread, TOKEN_COUNT, THREADS do table.insert(mine, "bench-w" .. (BASE + i)) end
  thread:set("tokens", table.concat(mine, ","))
  table.insert(threads, thread)
end
function init(args)
  list = {}
  for t in string.gmatch(tokens, "[^,]+") do table.insert(list, t) end
  at, state, rid, lifecycles, statuses = 1, "create", nil, 0, {}
end
function request()
  local headers = {["SEC"] = list[at], ["Content-Type"] = "application/json", ["Version"] = "26.0"}
  if state == "create" then
    return wrk.format("POST", CREATE, headers,
                      '{"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"]}')
  end
  return wrk.format("POST", CREATE .. "/" .. rid, headers, '{"status": "REQUESTING"}')
end
function response(status, headers, body)
  local key = state .. " " .. tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if state == "create" then
    if status == 201 then
      rid = string.match(body, '"id":%s*(%d+)')
      state = "request"
    end
  else
    if status == 200 then lifecycles = lifecycles + 1 end
    state = "create"
    at = at % #list + 1
    if LIMIT > 0 and lifecycles >= LIMIT then
      local done = io.open(DONE_FILE, "a")
      done:write("1\n")
      done:close()
      wrk.thread:stop()
    end
  end
end
function done(summary, latency, requests)
  local total, all = 0, {}
  for _, t in ipairs(threads) do
    total = total + t:get("lifecycles")
    for k, v in pairs(t:get("statuses")) do all[k] = (all[k] or 0) + v end
  end
  io.write(string.format("lifecycles %d\n", total))
  for k, v in pairs(all) do io.write(string.format("status %s %d\n", k:gsub(" ", "_"), v)) end
end
"""


def _start_ping(cpu: int | None, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    with log.open("wb") as errors:
        process = subprocess.Popen(
            [sys.executable, "-c", PING_SERVER, str(-1 if cpu is None else cpu)],
            stdout=subprocess.PIPE,
            stderr=errors,
            stdin=subprocess.DEVNULL,
        )
    assert process.stdout is not None
    line = process.stdout.readline().decode().strip()
    if not line.startswith("ready: "):
        stop(process)
        raise RuntimeError(f"the ping server did not start: {log.read_text()[-2000:]}")
    return process, line.split()[1]


# ============================================================================ the world


async def _seed(db: str, clients: int) -> None:
    """Consoles `big` (100,000 backups), `small` (100) and `w1`..`wN` (immediate rules), written
    straight into the database before the server opens it."""
    from engine import logs
    from engine.core.enums import AppDeploymentLocation, BackupStatus, BackupType, JobKind
    from engine.core.records import Backup, World, demo_world
    from engine.simulator import Settings, Simulator
    from engine.store.base import Job

    logs.quiet()
    async with Simulator(Settings(db=db, tokens=(TOKEN,), clock="real")) as sim:
        for name, count in (("big", BIG), ("small", SMALL)):
            demo = demo_world()
            world = World(hosts=demo.hosts, configurations=demo.configurations)
            await sim.create_console(name, tokens=(f"bench-{name}",), world=world)

            def fill(tx: Any, name: str = name, start: int = 0, count: int = count) -> None:
                for i in range(start + 1, min(start + 20_000, count) + 1):
                    backup = Backup(
                        i,
                        1,
                        53,
                        f"nightly_{i}",
                        "nightly backup",
                        BackupType.CONFIG,
                        "7.5.0",
                        1_767_225_600_000 + i,
                        1_767_225_600_000 + i + 600_000,
                        "admin",
                        BackupStatus.SUCCESS if i % 10 else BackupStatus.FAILED,
                        52_428_800 + i,
                        f"/store/backup/backup.nightly_{i}.tgz",
                        True,
                        True,
                        AppDeploymentLocation.CONSOLE,
                        "7.5.0.20240101",
                    )
                    tx.insert_backup(name, backup, Job(JobKind.BACKUP, i, "SUCCESS"))
                tx.reserve_id(name, JobKind.BACKUP, count)

            for start in range(0, count, 20_000):
                await sim.store.transact(lambda tx, s=start, f=fill: f(tx, start=s))  # type: ignore[misc]
        console = await sim.create_console("probe", tokens=("bench-probe",))
        await console.create_restore(1, ["CUSTOM_RULES_CONFIG"])
        for i in range(1, clients + 1):
            await sim.create_console(f"w{i}", tokens=(f"bench-w{i}",), rules=IMMEDIATE)


@contextlib.contextmanager
def _served(db: str, cpu: int | None, log: Path, *extra: str) -> Iterator[Server]:
    server = start_server(db=db, token=TOKEN, cpu=cpu, log=log, extra=extra)
    try:
        yield server
    finally:
        stop(server.process)


# ============================================================================ lists


def _latency(http: httpx.Client, path: str, headers: dict[str, str], n: int) -> float:
    """Median latency (ms) of `n` sequential requests."""
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = http.get(path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:200]}")
    return statistics.median(times)


def lists(
    server: Server,
    wrk: str | None,
    wrk_cpu: int | None,
    quick: bool,
    say: Callable[[str], None],
    notes: list[str],
) -> list[Row]:
    rows: list[Row] = []
    rounds, n = (3, 20) if quick else (5, 50)
    page = {"Range": "items=0-49", "Version": "26.0"}
    cases = {"plain": "", "filtered": '?filter=status%3D"SUCCESS"%20and%20host_id%3D53'}
    found: dict[tuple[str, str], list[float]] = {}
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for name in ("big", "small"):  # warm both
            _latency(http, f"{API}/backups", {**page, "SEC": f"bench-{name}"}, 3)
        say("served: lists, Range items=0-49 on 100,000 and on 100 backups, interleaved")
        for _ in range(rounds):
            for case, query in cases.items():
                for name in ("big", "small"):
                    headers = {**page, "SEC": f"bench-{name}"}
                    found.setdefault((case, name), []).append(
                        _latency(http, f"{API}/backups{query}", headers, n)
                    )
    for case in cases:
        big = statistics.median(found[(case, "big")])
        small = statistics.median(found[(case, "small")])
        rows.append(
            Row(
                f"GET /backups Range 0-49 {case}, 100,000 backups (latency)",
                big,
                "ms",
                "same request, 100 backups",
                small,
            )
        )
        met = "met" if big <= 3 * small else "NOT met"
        notes.append(
            f"lists {case}: {big:.2f} ms on 100,000 backups, {small:.2f} ms on 100: "
            f"{big / small:.2f}x (goal <= 3x: {met})"
        )
    if wrk is None:
        return rows
    # another console's GET while a client lists the 100,000 backups back to back
    seconds = 4 if quick else 8
    get = f"{server.url}{API}/restores/1"
    headers = {"SEC": "bench-probe", "Version": "26.0"}
    results: dict[str, list[dict[str, Any]]] = {"alone": [], "listing": []}
    listed = [0]
    for _ in range(1 if quick else 2):
        say("served: GET /restores/{id} under wrk, nobody listing")
        results["alone"].append(_wrk(wrk, get, seconds, wrk_cpu, headers=headers))
        say("served: GET /restores/{id} under wrk, a client listing 100,000 backups")
        stop_listing = threading.Event()

        def lister(stop_listing: threading.Event = stop_listing) -> None:
            with httpx.Client(base_url=server.url, timeout=120) as http:
                while not stop_listing.is_set():
                    r = http.get(f"{API}/backups", headers={"SEC": "bench-big"})
                    r.raise_for_status()
                    listed[0] += 1

        thread = threading.Thread(target=lister, daemon=True)
        thread.start()
        time.sleep(0.5)
        results["listing"].append(_wrk(wrk, get, seconds, wrk_cpu, headers=headers))
        stop_listing.set()
        thread.join()
    alone = max(results["alone"], key=lambda r: r["rps"])
    busy = max(results["listing"], key=lambda r: r["rps"])
    rows.append(
        Row(
            "GET /restores/{id} while a client lists 100,000 backups",
            busy["rps"],
            "req/s",
            "same GET, nobody listing",
            alone["rps"],
        )
    )
    rows.append(
        Row("  its p99", busy["p99_ms"] or 0.0, "ms", "p99, nobody listing", alone["p99_ms"])
    )
    p99 = busy["p99_ms"] or 0.0
    met = "met" if p99 <= 50 else "NOT met"
    notes.append(
        f"lists: another console's GET p99 {p99:.1f} ms while 100,000 backups were "
        f"listed {listed[0]} times (goal <= 50 ms: {met})"
    )
    return rows


# ============================================================================ write path


def _lifecycles(
    wrk: str,
    url: str,
    create: str,
    clients: int,
    tokens: int,
    seconds: float,
    cpu: int | None,
    tmp: Path,
    base: int = 0,
    sample: Callable[[], None] | None = None,
    limit: int = 0,
) -> dict[str, Any]:
    """wrk driving lifecycles on consoles `w{base+1}`..`w{base+tokens}` for `seconds`: fresh
    ones, since a run that stops on time leaves a PENDING restore behind, and the console
    refuses the next create. With `limit`, each client stops after `limit` lifecycles (then
    the consoles may be driven again) and `seconds` is only a bound."""
    script = tmp / f"lifecycle-{clients}-{tokens}-{base}.lua"
    done_file = tmp / f"lifecycle-{clients}-{tokens}-{base}.done"
    done_file.unlink(missing_ok=True)
    script.write_text(
        f"THREADS = {clients}\nTOKEN_COUNT = {tokens}\nBASE = {base}\nCREATE = {create!r}\n"
        f"LIMIT = {limit}\nDONE_FILE = {str(done_file)!r}\n" + LIFECYCLE_LUA
    )
    command = [
        wrk,
        f"-t{clients}",
        f"-c{clients}",
        f"-d{max(int(seconds), 1)}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    while (sample is not None or limit) and process.poll() is None:
        if sample is not None:
            sample()
        if limit and done_file.exists() and len(done_file.read_bytes()) >= 2 * clients:
            process.send_signal(signal.SIGINT)  # every client is done: wrk reports and ends
            break
        time.sleep(0.5)
    stdout, _ = process.communicate(timeout=seconds + 120)
    seconds = min(seconds, time.perf_counter() - started)
    out = subprocess.CompletedProcess(command, process.returncode, stdout)
    result = parse_wrk(out.stdout)
    lifecycles = 0
    for line in out.stdout.splitlines():
        if line.startswith("lifecycles "):
            lifecycles = int(line.split()[1])
    result["lifecycles"] = lifecycles
    result["per_s"] = lifecycles / seconds
    result["seconds"] = seconds
    return result


def _lifecycles_costed(pid: int, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """`_lifecycles`, with the serving process's CPU microseconds per lifecycle (`cpu_us`),
    less what it spends idle (measured for a second before: the workers' scans of the bench's
    consoles, which cost the same whether or not anybody writes)."""
    idle_from, idle_started = process_cpu_s(pid), time.monotonic()
    time.sleep(1.0)
    idle = (process_cpu_s(pid) - idle_from) / (time.monotonic() - idle_started)
    before, started = process_cpu_s(pid), time.monotonic()
    result = _lifecycles(*args, **kwargs)
    used = process_cpu_s(pid) - before - idle * (time.monotonic() - started)
    result["cpu_us"] = used / result["lifecycles"] * 1e6 if result["lifecycles"] else 0.0
    return result


WRITE_ROUNDS = {True: 1, False: 3}
#: consoles the write path uses: fresh ones for each run of each round
WRITE_CONSOLES = {quick: n * 65 for quick, n in WRITE_ROUNDS.items()}


def write_path(
    server: Server,
    ping_url: str,
    ping_pid: int,
    wrk: str,
    wrk_cpu: int | None,
    quick: bool,
    tmp: Path,
    say: Callable[[str], None],
    notes: list[str],
) -> list[Row]:
    rows: list[Row] = []
    seconds = 3 if quick else 8
    base = 0
    for clients in (64, 1):
        mine: list[dict[str, Any]] = []
        ceiling: list[dict[str, Any]] = []
        for _ in range(WRITE_ROUNDS[quick]):
            say(f"served: restore lifecycles, {clients} client(s), trivial route (ceiling)")
            ceiling.append(
                _lifecycles_costed(
                    ping_pid, wrk, ping_url, "/ping", clients, clients, seconds, wrk_cpu, tmp
                )
            )
            say(f"served: restore lifecycles, {clients} client(s), bre serve")
            mine.append(
                _lifecycles_costed(
                    server.pid,
                    wrk,
                    server.url,
                    f"{API}/restores",
                    clients,
                    clients,
                    seconds,
                    wrk_cpu,
                    tmp,
                    base,
                )
            )
            base += clients
        best = max(mine, key=lambda r: r["per_s"])
        top = max(ceiling, key=lambda r: r["per_s"])
        rows.append(
            Row(
                f"restore lifecycles over HTTP, {clients} client(s)",
                best["per_s"],
                "lifecycles/s",
                "same 2 POSTs, trivial route",
                top["per_s"],
            )
        )
        rows.append(
            Row(
                f"  its p99 ({clients} client(s))",
                best["p99_ms"] or 0.0,
                "ms",
                "p99, trivial route",
                top["p99_ms"],
            )
        )
        # CPU per lifecycle, the figure other work on the machine disturbs least: the best run
        cheapest = min(r["cpu_us"] for r in mine if r["lifecycles"]) if best["lifecycles"] else 0.0
        floor = min(r["cpu_us"] for r in ceiling if r["lifecycles"]) if top["lifecycles"] else 0.0
        rows.append(
            Row(
                f"  server CPU per lifecycle ({clients} client(s))",
                cheapest,
                "us",
                "same, trivial route",
                floor or None,
            )
        )
        mix = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(best["statuses"].items()))
        notes.append(
            f"write path, {clients} client(s): {best['lifecycles']} lifecycles in "
            f"{seconds} s ({mix})"
        )
    return rows


# ============================================================================ memory


#: Lifecycles per console that fill every bound a console keeps in the serving process: the
#: phases of its last PHASE_JOBS jobs, its last HISTORY transitions, its journal (`journal_bytes`
#: holds about 180 requests, 90 lifecycles). "After warm-up" is after these (docs/decisions.md).
WARM_UP = max(PHASE_JOBS, HISTORY)


#: consoles of the memory runs: the 1,000-console run (its warm-up alone is 200,000 lifecycles)
#: is left to the full run, so that `--quick` stays within two minutes
MEMORY_CONSOLES = {True: (64,), False: (64, 1000)}


def memory(
    db_dir: Path,
    wrk: str,
    server_cpu: int | None,
    wrk_cpu: int | None,
    quick: bool,
    say: Callable[[str], None],
    notes: list[str],
) -> list[Row]:
    """Per console count: WARM_UP lifecycles on every console, then BENCH_MEMORY_LIFECYCLES
    more (200,000; `--quick` 20,000) on the same consoles; the server's RSS growth over the
    second run. BENCH_MEMORY_WARM_UP sets the warm-up per console, BENCH_MEMORY_SECONDS bounds
    each run (default an hour)."""
    rows: list[Row] = []
    measured = int(os.environ.get("BENCH_MEMORY_LIFECYCLES", 20_000 if quick else 200_000))
    bound_s = int(os.environ.get("BENCH_MEMORY_SECONDS", 3600))
    warm_up = int(os.environ.get("BENCH_MEMORY_WARM_UP", WARM_UP))
    for consoles in MEMORY_CONSOLES[quick]:
        threads = min(consoles, 125)
        db = str(db_dir / f"memory-{consoles}.sqlite3")
        warm = warm_up * consoles
        say(f"served memory: {consoles} consoles, {warm:,} + {measured:,} lifecycles")
        asyncio.run(_seed_consoles(db, consoles))
        with _served(db, server_cpu, db_dir / f"memory-{consoles}.log") as server:
            first = server.rss_kib() or 0

            def drive(
                lifecycles: int, server: Server = server, threads: int = threads,
                consoles: int = consoles,
            ) -> dict[str, Any]:  # fmt: skip
                per_client = -(-lifecycles // threads)
                return _lifecycles(
                    wrk, server.url, f"{API}/restores", threads, consoles, bound_s, wrk_cpu,
                    db_dir, limit=per_client,
                )  # fmt: skip

            warmed = drive(warm)
            middle, kept = server.rss_kib() or 0, _journal_length(server, "w1")
            result = drive(measured)
            end, kept_end = server.rss_kib() or 0, _journal_length(server, "w1")
        done = result["lifecycles"]
        rows.append(
            Row(
                f"RSS growth after warm-up, {consoles} consoles, {done:,} lifecycles",
                (end - middle) / 1024,
                "MiB",
                "goal",
                50.0,
            )
        )
        notes.append(
            f"memory, {consoles} consoles: RSS {first / 1024:.0f} MiB at start, "
            f"{middle / 1024:.0f} after the warm-up ({warmed['lifecycles']:,} lifecycles, "
            f"{warm_up} a console), {end / 1024:.0f} after {done:,} more in "
            f"{result['seconds']:.0f} s; console w1's journal kept "
            f"{kept} entries after the warm-up, {kept_end} at the end"
        )
    return rows


def _journal_length(server: Server, console: str) -> int:
    """How many requests the console's journal keeps (the control surface's description)."""
    answer = httpx.get(
        f"{server.url}/simulator/consoles/{console}",
        headers={"Authorization": f"Bearer {server.admin_token}"},
        timeout=30,
    )
    answer.raise_for_status()
    return int(answer.json()["journal"])


async def _seed_consoles(db: str, consoles: int) -> None:
    from engine import logs
    from engine.simulator import Settings, Simulator

    logs.quiet()
    async with Simulator(Settings(db=db, tokens=(TOKEN,), clock="real")) as sim:
        for i in range(1, consoles + 1):
            await sim.create_console(f"w{i}", tokens=(f"bench-w{i}",), rules=IMMEDIATE)


# ============================================================================ start-up


#: Subprocesses as installed programs run: with their bytecode cached
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _cpu_s(pid: int) -> float:
    """CPU time a process's threads have run, in seconds (`schedstat`: nanoseconds, where
    `stat`'s ticks are 10 ms)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/schedstat") as stat:
            total += int(stat.read().split()[0])
    return total / 1e9


def _first_answer(command: list[str], url_of: Callable[[str], str]) -> tuple[float, float]:
    """Seconds from spawn to the first 200 on the URL the process prints, and the CPU
    seconds the process had used by then (what a loaded machine does not inflate as much)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=_ENV,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        url = url_of(line)
        while True:
            try:
                if httpx.get(url, headers={"SEC": TOKEN}, timeout=5).status_code == 200:
                    return time.perf_counter() - started, _cpu_s(process.pid)
            except httpx.TransportError:
                time.sleep(0.001)
    finally:
        stop(process)


def startup(quick: bool, say: Callable[[str], None], notes: list[str]) -> list[Row]:
    rounds = 3 if quick else 7
    bre = [
        sys.executable,
        "-m",
        "engine",
        "serve",
        "--port",
        "0",
        "--token",
        TOKEN,
        "--log-level",
        "WARNING",
    ]
    trivial = [sys.executable, "-c", PING_SERVER, "-1"]
    times: dict[str, list[float]] = {"bre": [], "trivial": [], "help": [], "python": []}
    cpu: dict[str, list[float]] = {"bre": [], "trivial": []}
    say("served: start-up, interleaved rounds")
    package = str(Path(__file__).parents[1] / "engine")
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", package],
        capture_output=True,
        env=_ENV,
        check=False,
    )
    urls: dict[str, Callable[[str], str]] = {
        "trivial": lambda line: line.split()[1] + "/ping",
        "bre": lambda line: line.split()[1].rstrip("/") + f"{API}/backups",
    }
    for _ in range(rounds):
        for key, command in (("trivial", trivial), ("bre", bre)):
            wall, spent = _first_answer(command, urls[key])
            times[key].append(wall)
            cpu[key].append(spent)
        for key, command in (
            ("help", [sys.executable, "-m", "engine", "--help"]),
            ("python", [sys.executable, "-c", "pass"]),
        ):
            started = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True, env=_ENV)
            times[key].append(time.perf_counter() - started)
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    used = {k: statistics.median(v) * 1000 for k, v in cpu.items()}
    rows = [
        Row(
            "start-up: spawn to first answer, bre serve",
            med["bre"],
            "ms",
            "uvicorn + trivial Starlette route",
            med["trivial"],
        ),
        Row(
            "  its CPU time to the first answer",
            used["bre"],
            "ms",
            "same, trivial route",
            used["trivial"],
        ),
        Row(
            "bre --help (python -m engine --help)",
            med["help"],
            "ms",
            "python -c pass",
            med["python"],
        ),
    ]
    ratio = med["bre"] / med["trivial"]
    notes.append(
        f"start-up: bre serve {med['bre']:.0f} ms, trivial uvicorn {med['trivial']:.0f} "
        f"ms: {ratio:.2f}x (goal <= 1.5x: {'met' if ratio <= 1.5 else 'NOT met'}; CPU time "
        f"{used['bre']:.0f} vs {used['trivial']:.0f} ms: {used['bre'] / used['trivial']:.2f}x); "
        f"--help {med['help']:.0f} ms (goal <= 100 ms: "
        f"{'met' if med['help'] <= 100 else 'NOT met'}); medians of {rounds}"
    )
    return rows


# ============================================================================ all


SUITES = ("lists", "write", "memory", "startup", "get")


def run(
    quick: bool = False,
    progress: Callable[[str], None] | None = None,
    notes: list[str] | None = None,
    only: tuple[str, ...] = SUITES,
) -> list[Row]:
    say = progress or (lambda s: None)
    notes = notes if notes is not None else []
    rows: list[Row] = []
    wrk = ensure_wrk()
    server_cpu, wrk_cpu = _cpus()
    load = os.getloadavg()
    notes.append(
        f"served: load average at start {load[0]:.1f} on {os.cpu_count()} CPUs "
        "(a shared machine: read the ratios, not the absolute figures)"
    )
    took: dict[str, float] = {}

    @contextlib.contextmanager
    def timed(name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            took[name] = took.get(name, 0.0) + time.perf_counter() - started

    with tempfile.TemporaryDirectory(prefix="bre-bench-served-") as scratch:
        tmp = Path(scratch)
        if "lists" in only or "write" in only:
            db = str(tmp / "served.sqlite3")
            say("served: seeding 100,000 + 100 backups and 64 consoles")
            with timed("seeding"):
                asyncio.run(_seed(db, WRITE_CONSOLES[quick]))
            ping, ping_url = _start_ping(server_cpu, tmp / "ping.log")
            try:
                with _served(db, server_cpu, tmp / "serve.log") as server:
                    if "lists" in only:
                        with timed("lists"):
                            rows += lists(server, wrk, wrk_cpu, quick, say, notes)
                    if "write" in only and wrk is not None:
                        with timed("write"):
                            rows += write_path(
                                server, ping_url, ping.pid, wrk, wrk_cpu, quick, tmp, say, notes
                            )
                    rss = rss_kib(server.pid)
                    notes.append(f"served: bre serve RSS after lists and writes {rss} KiB")
            finally:
                stop(ping)
        if "memory" in only and wrk is not None:
            with timed("memory"):
                rows += memory(tmp, wrk, server_cpu, wrk_cpu, quick, say, notes)
        if "startup" in only:
            with timed("startup"):
                rows += startup(quick, say, notes)
        if "get" in only:
            with timed("get"):
                rows += peers(quick, say, notes)
    notes.append(
        "served: wall time by part: " + ", ".join(f"{k} {v:.0f} s" for k, v in took.items())
    )
    if wrk is None:
        notes.append("wrk is not installed (apt-get install wrk): wrk figures skipped")
    return rows


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.served")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default=",".join(SUITES))
    args = parser.parse_args(argv)
    only = tuple(s.strip() for s in args.only.split(",") if s.strip())
    notes: list[str] = []
    started = time.perf_counter()
    rows = run(args.quick, lambda s: print(s, file=sys.stderr, flush=True), notes, only)
    print(text_table(rows))
    for note in notes:
        print(f"- {note}")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
