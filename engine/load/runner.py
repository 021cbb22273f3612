"""A load run from start to report: the target, the clients, the final re-reads, the checks.

Targets:
- `--target URL` (repeatable): a served simulator; with `--token` the run uses that token's
  console as it is, without one it creates an isolated console with short engine durations
  (the control surface's credential: `--admin-token`, or `BRE_ADMIN_TOKEN`);
- `--spawn N` (the default, N=1): N `bre serve` processes on one SQLite file, sharing a port
  (one `bre serve --workers N`) or, with `--separate-ports`, a port each; the load spreads over
  them;
- `--in-process`: a `Simulator` on the real clock and the ASGI app behind `httpx.ASGITransport`
  in the generator's own event loop (handy, but the generator and the server share one CPU).

With `--processes P` the clients run in P generator processes (`bre load` itself, in worker
mode); the parent merges their histories, re-reads every acknowledged create and checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx

from engine import launch
from engine.load import report as reporting
from engine.load.clients import API, Client, Shared, assign_roles
from engine.load.history import History
from engine.load.invariants import check, seen_ids
from engine.load.servers import Servers, rss_kib

#: Engine durations of a load console: short, so that operations overlap and conflicts are common.
FAST_RULES: dict[str, dict[str, Any]] = {
    "restore": {"requesting": "50ms", "initializing": "100ms", "in_progress": "300ms",
                "outcome": {"FAILED": 0.2}},
    "backup": {"initializing": "50ms", "in_progress": "200ms", "cancelling": "50ms",
               "deleting": "50ms", "outcome": {"FAILED": 0.1}},
}  # fmt: skip


class LoadError(RuntimeError):
    """A run that could not be set up (exit status 2)."""


@dataclass(slots=True)
class Options:
    targets: list[str] = field(default_factory=list)
    token: str | None = None
    admin_token: str | None = None  # the control surface's credential of the targets
    spawn: int = 1
    separate_ports: bool = False
    in_process: bool = False
    db: str | None = None
    duration_s: float | None = 10.0
    requests: int | None = None
    clients: int = 50
    mix: dict[str, float] = field(default_factory=dict)
    mix_text: str = ""
    seed: int = 0
    processes: int = 1
    json_path: Path | None = None
    plot_path: Path | None = None
    progress: bool = False
    timeout_s: float = 30.0
    tolerance_ms: float = 2.0
    think_s: float = 0.0
    server_cpu: int | None = None
    port: int = 0  # the spawned servers' port (the first of theirs with --separate-ports)
    worker: tuple[int, int] | None = None  # (index, count) in worker mode
    history_out: Path | None = None
    quiet: bool = False


def _parameters(options: Options) -> dict[str, Any]:
    """What the run was asked to do, as the report and the plot's title show it."""
    asked: dict[str, Any] = {}
    if options.duration_s is not None:
        asked["duration"] = f"{options.duration_s:g} s"
    if options.requests is not None:
        asked["requests"] = options.requests
    asked["mix"] = options.mix_text or "default"
    if options.think_s:
        asked["think"] = f"{options.think_s:g} s"
    if options.processes > 1:
        asked["generator processes"] = options.processes
    asked["seed"] = options.seed
    return asked


@dataclass(slots=True)
class Outcome:
    report: reporting.Report | None
    exit_status: int


def run(options: Options) -> Outcome:
    """Run a load (blocking); the report is printed and written as the options say."""
    if options.plot_path is not None:
        reporting.require_matplotlib()
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(_run(options))
    return uvloop.run(_run(options))


async def _run(options: Options) -> Outcome:
    if options.worker is not None:
        return await _worker(options)
    with tempfile.TemporaryDirectory(prefix="bre-load-") as scratch:
        async with _target(options, Path(scratch)) as (urls, token, admin, transport, servers):
            rss_start = {pid: rss_kib(pid) for pid, _ in servers.processes()} if servers else {}
            history = History()
            roles = assign_roles(options.mix, options.clients)
            started = time.time()
            if options.processes > 1:
                await _children(options, urls, token, admin, Path(scratch), history)
            else:
                await _clients(options, urls, token, admin, transport, roles, 0, 1, history)
            await _final_reads(urls, token, transport, history, options)
            load = [e for e in history if e.role != "final"]
            first = min((e.sent for e in load), default=started)
            last = max((e.received for e in load), default=time.time())
            checker = check(history, options.tolerance_ms / 1000)
            server_rows: list[dict[str, Any]] = []
            if servers is not None:
                for pid in servers.exited():
                    checker.fail("server_exited", f"server {pid} exited during the run")
                for pid, url in servers.processes():
                    server_rows.append({"pid": pid, "url": url,
                                        "rss_kib_start": rss_start.get(pid),
                                        "rss_kib_end": rss_kib(pid)})  # fmt: skip
            target = ", ".join(urls) if urls else "in-process (httpx.ASGITransport)"
            if servers is not None:
                target += f" ({len(server_rows)} `bre serve` process(es), db {servers.db})"
            result = reporting.build(
                history.exchanges, checker, generator=_generator(options), target=target,
                clients=options.clients, roles=dict(Counter(roles)), started=first, ended=last,
                servers=server_rows, parameters=_parameters(options),
            )  # fmt: skip
            if servers is not None and not result.ok:
                logs = servers.logs()
                if logs:
                    result.notes.append("server logs (tail):\n" + logs)
    _emit(result, options)
    return Outcome(result, 0 if result.ok else 1)


def _generator(options: Options) -> str:
    processes = max(options.processes, 1)
    think = f", think {options.think_s:g} s" if options.think_s else ", no think time"
    return f"`bre load` (Python/httpx, {processes} process{'es' if processes > 1 else ''}{think})"


def _emit(result: reporting.Report, options: Options) -> None:
    if not options.quiet:
        print(reporting.text(result), flush=True)
    if options.json_path is not None:
        options.json_path.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    if options.plot_path is not None:
        reporting.plot(result, options.plot_path)


# --- targets ---------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def _target(
    options: Options, scratch: Path
) -> AsyncIterator[
    tuple[list[str], str, str | None, httpx.AsyncBaseTransport | None, Servers | None]
]:
    """The URLs, the console's token, the control surface's credential, the in-process
    transport and the spawned servers of a run."""
    if options.targets:
        admin = options.admin_token
        token = options.token or await _create_console(options.targets[0], None, admin)
        yield options.targets, token, admin, None, None
        return
    if options.in_process:
        from engine import logs
        from engine.api.app import create_app
        from engine.simulator import Settings, Simulator

        logs.quiet()
        async with Simulator(Settings(clock="real", db=options.db or ":memory:")) as simulator:
            transport = httpx.ASGITransport(app=create_app(simulator))
            admin = simulator.admin_token
            token = await _create_console(IN_PROCESS_URL, transport, admin)
            yield [], token, admin, transport, None
        return
    servers = Servers(
        count=max(options.spawn, 1), db=options.db or str(scratch / "load.sqlite3"),
        directory=scratch, shared_port=not options.separate_ports, cpu=options.server_cpu,
        port=options.port,
    )  # fmt: skip
    try:
        await anyio.to_thread.run_sync(servers.start)
        token = await _create_console(servers.urls[0], None, servers.admin_token)
        yield servers.urls, token, servers.admin_token, None, servers
    finally:
        await anyio.to_thread.run_sync(servers.stop)


IN_PROCESS_URL = "http://bre.in-process"


async def _create_console(
    url: str, transport: httpx.AsyncBaseTransport | None, admin: str | None
) -> str:
    """An isolated console with short engine durations; its SEC token."""
    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=30) as http:
        try:
            token = f"load-{os.urandom(6).hex()}"
            response = await http.post(
                "/simulator/consoles",
                json={"rules": FAST_RULES, "clock": "real", "tokens": [token]},
                headers={"Authorization": f"Bearer {admin}"} if admin else None,
            )
        except httpx.HTTPError as error:
            raise LoadError(f"{url}: cannot create a console: {error}") from None
        if response.status_code != 201:
            raise LoadError(
                f"{url}: POST /simulator/consoles answered {response.status_code} "
                f"{response.text[:300]} (give --admin-token or BRE_ADMIN_TOKEN, the `admin=` "
                "of the server's ready line; or --token to use an existing console)"
            )
        return str(response.json()["tokens"][0])


# --- clients ---------------------------------------------------------------------------------
def _http(url: str, transport: httpx.AsyncBaseTransport | None, clients: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    return httpx.AsyncClient(base_url=url, transport=transport, limits=limits, http2=False)


async def _restorable(http: httpx.AsyncClient, token: str) -> list[int]:
    response = await http.get(
        f"{API}/backups", headers={"SEC": token},
        params={"filter": 'status = "SUCCESS" and type = "CONFIG" and is_valid = true'},
    )  # fmt: skip
    if response.status_code == 401:
        raise LoadError("the token is not accepted (401)")
    ids = [b["id"] for b in response.json()] if response.status_code == 200 else []
    return ids[:20] or [1]


async def _clients(
    options: Options, urls: list[str], token: str, admin: str | None,
    transport: httpx.AsyncBaseTransport | None, roles: list[str], index: int, count: int,
    history: History,
) -> None:  # fmt: skip
    mine = [(i, role) for i, role in enumerate(roles) if i % count == index]
    targets = urls or [IN_PROCESS_URL]
    # One AsyncClient (one keep-alive connection) per virtual client: a pool shared by many
    # tasks costs httpx more than the requests themselves (measured: 200 vs 1,200 req/s at 30).
    https = [_http(targets[i % len(targets)], transport, 1) for i, _ in mine]
    stop = anyio.Event()
    shared = Shared(history=history, token=token, stop=stop, prefix=f"p{index}_{options.seed}",
                    timeout_s=options.timeout_s, think_s=options.think_s,
                    admin_token=admin)  # fmt: skip
    if options.requests is not None:
        shared.max_requests = max(options.requests // count, 1)
    try:
        shared.restorable = await _restorable(https[0], token) if https else [1]
        clients = [
            Client(f"p{index}-c{i}-{role}", role, http, shared,
                   random.Random(f"{options.seed}:{i}"))
            for (i, role), http in zip(mine, https, strict=True)
        ]  # fmt: skip
        started = time.monotonic()
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as group:
                for client in clients:
                    group.start_soon(client.run, name=client.name)
                if options.progress:
                    group.start_soon(_progress, options, shared, started)
                if options.duration_s is not None:
                    with anyio.move_on_after(options.duration_s):
                        await stop.wait()
                else:
                    await stop.wait()
                stop.set()
                # each client finishes the request it is in; after a grace they are cancelled
                scope.deadline = anyio.current_time() + options.timeout_s + 5
    finally:
        for http in https:
            await http.aclose()
        if options.progress:
            sys.stderr.write("\r" + " " * 100 + "\r")
            sys.stderr.flush()


async def _progress(options: Options, shared: Shared, started: float) -> None:
    while not shared.stop.is_set():
        elapsed = time.monotonic() - started
        total = options.duration_s
        fraction = min(elapsed / total, 1.0) if total else 0.0
        if options.requests:
            fraction = min(shared.requests / max(options.requests, 1), 1.0)
        bar = "#" * int(fraction * 20)
        conflicts = sum(1 for e in shared.history.exchanges[-2000:] if e.status == 409)
        errors = sum(1 for e in shared.history.exchanges if e.status >= 500 or e.status == 0)
        rate = shared.requests / elapsed if elapsed > 0 else 0.0
        sys.stderr.write(
            f"\r[{bar:<20}] {elapsed:5.1f} s  {shared.requests:>8,} req  {rate:>7,.0f} req/s  "
            f"409 (last 2000): {conflicts:>4}  5xx/lost: {errors}"
        )
        sys.stderr.flush()
        await anyio.sleep(0.5)


async def _worker(options: Options) -> Outcome:
    """Worker mode: run this process's share of the clients, write the history, no report."""
    assert options.worker is not None
    assert options.history_out is not None
    index, count = options.worker
    history = History()
    roles = assign_roles(options.mix, options.clients)
    assert options.token is not None
    await _clients(options, options.targets, options.token, options.admin_token, None, roles,
                   index, count, history)  # fmt: skip
    history.write(options.history_out)
    return Outcome(None, 0)


async def _children(
    options: Options, urls: list[str], token: str, admin: str | None, scratch: Path,
    history: History,
) -> None:  # fmt: skip
    processes = []
    outs = []
    for index in range(options.processes):
        out = scratch / f"history-{index}.jsonl"
        outs.append(out)
        command = [*launch.bre("load"), "--token", token,
                   "--clients", str(options.clients), "--mix", options.mix_text,
                   "--seed", str(options.seed), "--timeout", str(options.timeout_s),
                   "--think", str(options.think_s),
                   "--worker", f"{index}/{options.processes}", "--history-out", str(out),
                   "--no-progress"]  # fmt: skip
        for url in urls:
            command += ["--target", url]
        if options.requests is not None:
            command += ["--requests", str(options.requests)]
        else:
            command += ["--duration", str(options.duration_s)]
        # the admin credential in the environment: a command line is visible to `ps`
        environment = {**os.environ, **({"BRE_ADMIN_TOKEN": admin} if admin else {})}
        processes.append(await asyncio.create_subprocess_exec(*command, env=environment))
    started = time.monotonic()
    waiting = asyncio.gather(*(p.wait() for p in processes))
    while not waiting.done():
        if options.progress and options.duration_s:
            elapsed = time.monotonic() - started
            bar = "#" * int(min(elapsed / options.duration_s, 1.0) * 20)
            sys.stderr.write(f"\r[{bar:<20}] {elapsed:5.1f} s  {options.processes} processes")
            sys.stderr.flush()
        await asyncio.sleep(0.5)
    if options.progress:
        sys.stderr.write("\r" + " " * 60 + "\r")
    codes = await waiting
    for index, (code, out) in enumerate(zip(codes, outs, strict=True)):
        if code != 0 or not out.exists():
            raise LoadError(f"generator process {index} failed (exit status {code})")
        history.extend(History.read(out).exchanges)


async def _final_reads(
    urls: list[str], token: str, transport: httpx.AsyncBaseTransport | None, history: History,
    options: Options,
) -> None:  # fmt: skip
    """Re-read every acknowledged create (role `final`), with 16 clients of one connection."""
    ids = seen_ids(history)
    todo = [(kind, id) for kind, numbers in ids.items() for id in sorted(numbers)]
    targets = urls or [IN_PROCESS_URL]
    shared = Shared(history=history, token=token, stop=anyio.Event(), timeout_s=options.timeout_s)

    async def reader(n: int) -> None:
        async with _http(targets[n % len(targets)], transport, 1) as http:
            client = Client(f"final-{n}", "final", http, shared, random.Random(n))
            while todo:
                kind, id = todo.pop()
                if kind == "restore":
                    await client.get_restore(id, role="final")
                else:
                    await client.get_backup(id, role="final")

    async with anyio.create_task_group() as group:
        for n in range(min(16, len(todo))):
            group.start_soon(reader, n)
