"""The HTTP benchmark (issue 3): `bre serve` under wrk, beside a trivial Starlette app.

Both servers run the same way, one after the other in the same run: uvicorn with uvloop and
httptools in a subprocess pinned to CPU 0 (`bre serve --cpu 0`; the ceiling pins itself), an
SQLite file in a temporary directory, the real clock, progression rules `immediate` (a created
backup finishes in its own transaction). wrk (Debian's package) is pinned to CPU 1 with taskset,
64 connections, one thread, `--latency`, ~10 s per endpoint (3 s in quick mode).

Endpoints and what their answers are (status mixes are counted by a wrk Lua script and reported):
- GET /api/backup_and_restore/restores/{id}: one PENDING restore, 200 every time;
- POST /restores refused: the first creates (201), every later one is 409/1011 (one unfinished
  restore record at a time): the refusal path of a create, not the write path;
- POST /restores/{id} REQUESTING refused: the first starts it, then 422/1012 (not PENDING);
  the write path itself (real creates and requests) is `bench.served`'s lifecycle rows;
- POST /backups (CONFIG, a unique name per request): 201 each, a full backup lifecycle written
  per request (immediate rule) - the write path.
Ceilings: GET /ping and POST /ping (reads the body, answers JSON) of a trivial Starlette app.

In-process: the ASGI app through `httpx.ASGITransport` (no sockets), GET restore by id,
sequentially and from 16 concurrent tasks, beside the same trivial app through the same transport.

Goals: GET >= 0.6 of the ceiling, GET p99 <= 20 ms, in-process >= 2,000 req/s.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench import Row, process_cpu_s
from engine.load.servers import Server, start_server, stop

TOKEN = "bench-token"
API = "/api/backup_and_restore"
CONNECTIONS = 64
CONFIG = "rules:\n  restore: {mode: immediate}\n  backup: {mode: immediate}\n"

PING_SERVER = r"""
import socket, sys, os
import uvicorn, uvloop
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

async def ping(request: Request) -> JSONResponse:
    if request.method == "POST":
        await request.body()
    return JSONResponse({"ping": "pong"})

app = Starlette(routes=[Route("/ping", ping, methods=["GET", "POST"])])
cpu = int(sys.argv[1])
if cpu >= 0:
    os.sched_setaffinity(0, {cpu})
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", 0))
sock.listen(2048)
sock.setblocking(False)
config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False, http="auto")
server = uvicorn.Server(config)

async def main() -> None:
    import asyncio
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    print(f"ready: http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    await task

uvloop.run(main())
"""

STATUS_LUA = r"""
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
function init(args) statuses = {} end
function response(status, headers, body)
  local key = tostring(status)
  if status >= 400 then
    local code = string.match(body, '"code": (%d+)')
    if code then key = key .. "/" .. code end
  end
  statuses[key] = (statuses[key] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do total[k] = (total[k] or 0) + v end
  end
  for k, v in pairs(total) do io.write(string.format("status %s %d\n", k, v)) end
end
"""


def ensure_wrk(install: bool = True) -> str | None:
    """wrk's path; tries `apt-get install -y wrk` quietly (as root) when it is missing."""
    found = shutil.which("wrk")
    if found or not install or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install_wrk = ["apt-get", "install", "-y", "-qq", "wrk"]
    for command in (install_wrk, ["apt-get", "update", "-qq"], install_wrk):
        subprocess.run(command, capture_output=True, env=env, timeout=300, check=False)
        if shutil.which("wrk"):
            return shutil.which("wrk")
    return shutil.which("wrk")


def _cpus() -> tuple[int | None, int | None]:
    """(server CPU, wrk CPU): 0 and 1 when both exist for this process, else no pinning."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2 and shutil.which("taskset"):
        return cpus[0], cpus[1]
    return None, None


def _lua(
    tmp: Path,
    name: str,
    method: str,
    path: str,
    body: str | None,
    *,
    headers: dict[str, str],
    unique_backup: bool = False,
) -> Path:
    lines = [f'wrk.method = "{method}"']
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    if body is not None:
        lines.append('wrk.headers["Content-Type"] = "application/json"')
        lines.append(f"wrk.body = [[{body}]]")
    if unique_backup:
        lines.append(
            "local counter = 0\n"
            "request = function()\n"
            "  counter = counter + 1\n"
            '  local b = string.format(\'{"name": "wrk_%d_%d", "configuration_id": 1}\', '
            "tid or 0, counter)\n"
            f'  return wrk.format("POST", "{path}", nil, b)\n'
            "end"
        )
    script = tmp / f"{name}.lua"
    script.write_text("\n".join(lines) + "\n" + STATUS_LUA)
    return script


def _wrk(
    wrk: str,
    url: str,
    seconds: float,
    cpu: int | None,
    script: Path | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    command = [
        wrk,
        "-t1",
        f"-c{CONNECTIONS}",
        f"-d{max(int(seconds), 1)}s",
        "--latency",
        "--timeout",
        "5s",
    ]
    for k, v in (headers or {}).items():
        command += ["-H", f"{k}: {v}"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    return parse_wrk(out.stdout)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(text: str) -> dict[str, Any]:
    """Requests/s, p50/p99 (ms), non-2xx count and the Lua status mix from wrk's output."""
    result: dict[str, Any] = {
        "rps": 0.0,
        "p50_ms": None,
        "p99_ms": None,
        "non2xx": 0,
        "statuses": {},
        "errors": "",
        "requests": 0,
    }
    if m := re.search(r"(\d+) requests in", text):
        result["requests"] = int(m[1])
    if m := re.search(r"Requests/sec:\s+([\d.]+)", text):
        result["rps"] = float(m[1])
    for q in ("50", "99"):
        if m := re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M):
            result[f"p{q}_ms"] = float(m[1]) * _UNITS[m[2]]
    if m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text):
        result["non2xx"] = int(m[1])
    if m := re.search(r"Socket errors:.*", text):
        result["errors"] = m[0]
    for key, count in re.findall(r"^status (\S+) (\d+)$", text, re.M):
        result["statuses"][key] = int(count)
    return result


def _start_ping(cpu: int | None, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    errors = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", PING_SERVER, str(-1 if cpu is None else cpu)],
        stdout=subprocess.PIPE,
        stderr=errors,
        stdin=subprocess.DEVNULL,
    )
    errors.close()
    assert process.stdout is not None
    line = process.stdout.readline().decode().strip()
    if not line.startswith("ready: "):
        stop(process)
        raise RuntimeError(f"the ping server did not start: {log.read_text()[-2000:]}")
    return process, line.split()[1]


def _mix(statuses: dict[str, int]) -> str:
    total = sum(statuses.values()) or 1
    return ", ".join(
        f"{k} {v / total:.1%}" for k, v in sorted(statuses.items(), key=lambda i: -i[1])
    )


def run(
    quick: bool = False,
    progress: Callable[[str], None] | None = None,
    notes: list[str] | None = None,
) -> list[Row]:
    """Every figure of the HTTP benchmark as rows; remarks (status mixes, goals) go to `notes`."""
    say = progress or (lambda s: None)
    notes = notes if notes is not None else []
    rows: list[Row] = []
    seconds = 3.0 if quick else 10.0
    wrk = ensure_wrk()
    if wrk is None:
        notes.append("wrk is not installed (apt-get install wrk): the HTTP figures are skipped")
    else:
        with tempfile.TemporaryDirectory(prefix="bre-bench-http-") as scratch:
            rows += _served(wrk, Path(scratch), seconds, say, notes)
    rows += asyncio.run(_in_process(quick, say, notes))
    return rows


def _served(
    wrk: str, tmp: Path, seconds: float, say: Callable[[str], None], notes: list[str]
) -> list[Row]:
    server_cpu, wrk_cpu = _cpus()
    (tmp / "bre.yaml").write_text(CONFIG)
    server: Server = start_server(
        db=str(tmp / "http.sqlite3"),
        token=TOKEN,
        cpu=server_cpu,
        log=tmp / "serve.log",
        extra=("--config", str(tmp / "bre.yaml")),
    )
    ping, ping_url = _start_ping(server_cpu, tmp / "ping.log")
    headers = {"SEC": TOKEN, "Version": "26.0"}
    rows: list[Row] = []
    try:
        with httpx.Client(base_url=server.url, headers=headers) as http:
            created = http.post(
                f"{API}/restores", json={"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"]}
            )
            created.raise_for_status()
            rid = created.json()["id"]
        say("http: wrk GET /ping (ceiling)")
        ping_get = _wrk(wrk, f"{ping_url}/ping", seconds, wrk_cpu)
        say("http: wrk GET /restores/{id}")
        get = _wrk(wrk, f"{server.url}{API}/restores/{rid}", seconds, wrk_cpu, headers=headers)
        say("http: wrk POST /ping (ceiling)")
        post_ping = _wrk(
            wrk,
            f"{ping_url}/ping",
            seconds,
            wrk_cpu,
            _lua(tmp, "ping", "POST", "/ping", '{"ping": 1}', headers={}),
        )
        posts: list[tuple[str, dict[str, Any]]] = []
        restore_body = '{"backup_id": 2, "groups": ["CUSTOM_RULES_CONFIG"]}'
        config = {"backup_type": "CONFIG"}
        for name, path, body, extra, unique in (
            ("POST /restores refused (409/1011)", f"{API}/restores", restore_body, {}, False),
            (
                "POST /restores/{id} REQUESTING refused (422/1012)",
                f"{API}/restores/{rid}",
                '{"status": "REQUESTING"}',
                {},
                False,
            ),
            ("POST /backups (CONFIG, unique names)", f"{API}/backups", None, config, True),
        ):
            say(f"http: wrk {name}")
            script = _lua(
                tmp,
                re.sub(r"\W+", "_", name),
                "POST",
                path,
                body,
                headers={**headers, **extra},
                unique_backup=unique,
            )
            posts.append((name, _wrk(wrk, f"{server.url}{path}", seconds, wrk_cpu, script)))
        rss = server.rss_kib()
    finally:
        stop(server.process)
        stop(ping)
    ceiling_get = "uvicorn + Starlette GET /ping, wrk 64 conns"
    ceiling_post = "uvicorn + Starlette POST /ping, wrk 64 conns"
    rows.append(
        Row(
            f"HTTP GET /restores/{{id}}, wrk {CONNECTIONS} conns",
            get["rps"],
            "req/s",
            ceiling_get,
            ping_get["rps"],
        )
    )
    rows.append(
        Row(
            "HTTP GET /restores/{id} p99",
            get["p99_ms"] or 0.0,
            "ms",
            "GET /ping p99",
            ping_get["p99_ms"],
        )
    )
    for name, result in posts:
        rows.append(
            Row(
                f"HTTP {name}, wrk {CONNECTIONS} conns",
                result["rps"],
                "req/s",
                ceiling_post,
                post_ping["rps"],
            )
        )
        rows.append(
            Row(
                f"HTTP {name} p99",
                result["p99_ms"] or 0.0,
                "ms",
                "POST /ping p99",
                post_ping["p99_ms"],
            )
        )
        notes.append(f"{name}: status mix {_mix(result['statuses'])}")
    ratio = get["rps"] / ping_get["rps"] if ping_get["rps"] else 0.0
    p99 = get["p99_ms"] or 0.0
    notes.append(
        f"HTTP GET: {get['rps']:,.0f} req/s = {ratio:.2f} of the ceiling (goal >= 0.6: "
        f"{'met' if ratio >= 0.6 else 'NOT met'}), p99 {p99:.1f} ms (goal <= 20 ms: "
        f"{'met' if p99 <= 20 else 'NOT met'}); non-2xx {get['non2xx']}"
    )
    pinning = "no pinning (one CPU)"
    if server_cpu is not None:
        pinning = (
            f"`bre serve --cpu {server_cpu}` and the ceiling on CPU {server_cpu}, "
            f"wrk on CPU {wrk_cpu} (taskset)"
        )
    notes.append(
        f"HTTP: wrk {wrk} -t1 -c{CONNECTIONS} -d{int(seconds)}s --latency; {pinning}; SQLite "
        f"file, real clock, rules immediate; server RSS after the runs {rss} KiB"
    )
    return rows


async def _in_process(quick: bool, say: Callable[[str], None], notes: list[str]) -> list[Row]:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from engine import logs
    from engine.api.app import create_app
    from engine.simulator import Settings, Simulator

    logs.quiet()
    n = 500 if quick else 3000

    async def ping(request: Request) -> JSONResponse:
        return JSONResponse({"ping": "pong"})

    trivial = Starlette(routes=[Route("/ping", ping)])
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bre-bench-asgi-") as scratch:
        settings = Settings(clock="real", db=str(Path(scratch) / "asgi.sqlite3"), tokens=(TOKEN,))
        async with Simulator(settings) as simulator:
            transport = httpx.ASGITransport(app=create_app(simulator))
            headers = {"SEC": TOKEN, "Version": "26.0"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bre", headers=headers
            ) as http:
                created = await http.post(
                    f"{API}/restores", json={"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"]}
                )
                path = f"{API}/restores/{created.json()['id']}"
                say("http: in-process GET /restores/{id}")
                seq = await _rate(http, path, n, 1)
                conc = await _rate(http, path, n, 16)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=trivial), base_url="http://ping"
        ) as http:
            ceiling_seq = await _rate(http, "/ping", n, 1)
            ceiling_conc = await _rate(http, "/ping", n, 16)
    rows.append(
        Row(
            "in-process GET /restores/{id} (ASGITransport), sequential",
            seq,
            "req/s",
            "Starlette GET /ping, same transport",
            ceiling_seq,
        )
    )
    rows.append(
        Row(
            "in-process GET /restores/{id} (ASGITransport), 16 tasks",
            conc,
            "req/s",
            "Starlette GET /ping, same transport, 16 tasks",
            ceiling_conc,
        )
    )
    best = max(seq, conc)
    notes.append(
        f"in-process: {seq:,.0f} req/s sequential, {conc:,.0f} with 16 tasks ({n} requests "
        f"each; goal >= 2,000 req/s: {'met' if best >= 2000 else 'NOT met'})"
    )
    return rows


async def _rate(http: httpx.AsyncClient, path: str, n: int, tasks: int) -> float:
    for _ in range(20):
        (await http.get(path)).raise_for_status()
    left = [n]

    async def worker() -> None:
        while left[0] > 0:
            left[0] -= 1
            response = await http.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path}: {response.status_code}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    return n / (time.perf_counter() - started)


if __name__ == "__main__":  # python -m bench.http [--quick]
    from bench import standalone

    standalone(run)


# ================================================================ peers (issue 12, point 6)

#: Installed on demand, outside the repository (as wrk is): WireMock's standalone jar from npm's
#: `wiremock` package, granian from PyPI (not a dependency of the simulator: measured only).
CACHE = Path(os.environ.get("BENCH_CACHE", Path.home() / ".cache" / "bre-bench"))
WIREMOCK_NPM = "wiremock@3.13.2"

#: `bre serve`'s application on granian (embedded in this event loop, ASGI without lifespan),
#: the simulator started first as `bre serve` does. argv: cpu, port, db, token.
GRANIAN_SERVER = r"""
import asyncio, os, socket, sys
cpu, port, db, token = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
if cpu >= 0:
    os.sched_setaffinity(0, {cpu})
from engine import logs
logs.load_structlog("json")
logs.configure("json", "WARNING")
import uvloop
from granian.constants import HTTPModes, Interfaces
from granian.server.embed import Server
from engine.api.app import create_app
from engine.simulator import Settings, Simulator

async def main():
    async with Simulator(Settings(db=db, tokens=(token,), clock="real")) as simulator:
        server = Server(create_app(simulator), address="127.0.0.1", port=port,
                        interface=Interfaces.ASGINL, http=HTTPModes.http1, websockets=False,
                        log_enabled=False, backlog=2048)
        task = asyncio.get_running_loop().create_task(server.serve())
        while not task.done():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                await asyncio.sleep(0.01)
        print(f"ready: http://127.0.0.1:{port}", flush=True)
        await task

uvloop.run(main())
"""


def ensure_wiremock() -> str | None:
    """WireMock's standalone jar (`npm install wiremock` into CACHE on first use), or None
    when java or npm is missing or the install fails."""
    if not shutil.which("java"):
        return None
    folder = CACHE / "wiremock"
    jars = sorted(folder.glob("node_modules/wiremock/build/wiremock-standalone-*.jar"))
    if not jars and shutil.which("npm"):
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(folder), WIREMOCK_NPM],
            capture_output=True,
            timeout=600,
            check=False,
        )
        jars = sorted(folder.glob("node_modules/wiremock/build/wiremock-standalone-*.jar"))
    return str(jars[-1]) if jars else None


def ensure_granian() -> str | None:
    """A folder to put on PYTHONPATH that has granian (this environment's, or `pip install
    --target` into CACHE on first use); None when it cannot be had."""
    probe = [sys.executable, "-c", "import granian.server.embed"]
    if subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return ""
    folder = CACHE / "granian"
    env = {**os.environ, "PYTHONPATH": str(folder)}
    if subprocess.run(probe, capture_output=True, env=env, check=False).returncode != 0:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--target", str(folder), "granian"],
            capture_output=True,
            timeout=600,
            check=False,
        )
    if subprocess.run(probe, capture_output=True, env=env, check=False).returncode != 0:
        return None
    return str(folder)


def _ready_url(process: subprocess.Popen[bytes], what: str, log: Path) -> str:
    assert process.stdout is not None
    line = process.stdout.readline().decode().strip()
    if not line.startswith("ready: "):
        stop(process)
        raise RuntimeError(f"{what} did not start: {log.read_text()[-2000:]}")
    return line.split()[1]


def _start_wiremock(
    jar: str, cpu: int | None, tmp: Path, path: str, body: bytes, headers: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str]:
    """WireMock answering GET `path` with `body` and `headers` (a stateless stub; no request
    journal, so that it does not grow with the requests)."""
    root = tmp / "wiremock"
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    stub = {
        "request": {"method": "GET", "url": path},
        "response": {"status": 200, "body": body.decode(), "headers": headers},
    }
    (root / "mappings" / "restore.json").write_text(json.dumps(stub))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = ["java", "-jar", jar, "--port", str(port), "--bind-address", "127.0.0.1"]
    command += ["--root-dir", str(root), "--no-request-journal", "--disable-banner"]
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    with (tmp / "wiremock.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url + path, timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.05)
    stop(process)
    raise RuntimeError(f"WireMock did not start: {(tmp / 'wiremock.log').read_text()[-2000:]}")


def _start_granian(
    path: str, cpu: int | None, tmp: Path, db: str
) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [path, env.get("PYTHONPATH")]))
    args = [str(-1 if cpu is None else cpu), str(port), db, TOKEN]
    log = tmp / "granian.log"
    with log.open("wb") as errors:
        process = subprocess.Popen(
            [sys.executable, "-c", GRANIAN_SERVER, *args],
            stdout=subprocess.PIPE,
            stderr=errors,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    return process, _ready_url(process, "bre's app on granian", log)


def peers(quick: bool, say: Callable[[str], None], notes: list[str]) -> list[Row]:
    """GET /restores/{id}: `bre serve` (uvicorn) beside WireMock answering the same JSON, the
    trivial route on the same uvicorn, and the same application on granian; interleaved
    rounds, servers on one CPU and wrk on the other; medians, and server CPU per request."""
    wrk = ensure_wrk()
    if wrk is None:
        notes.append("peers: wrk is not installed (apt-get install wrk): skipped")
        return []
    say("peers: installing WireMock and granian if needed (outside the repository)")
    jar, granian = ensure_wiremock(), ensure_granian()
    server_cpu, wrk_cpu = _cpus()
    seconds, rounds = (3.0, 1) if quick else (6.0, 3)
    headers = {"SEC": TOKEN, "Version": "26.0"}
    with tempfile.TemporaryDirectory(prefix="bre-bench-peers-") as scratch:
        tmp = Path(scratch)
        started: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
        try:
            bre = start_server(
                db=str(tmp / "bre.sqlite3"), token=TOKEN, cpu=server_cpu, log=tmp / "bre.log"
            )
            started["bre serve (uvicorn)"] = (bre.process, bre.url)
            with httpx.Client(base_url=bre.url, headers=headers) as http:
                created = http.post(
                    f"{API}/restores", json={"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"]}
                )
                created.raise_for_status()
                path = f"{API}/restores/{created.json()['id']}"
                answer = http.get(path)
                answer.raise_for_status()
            started["trivial route (uvicorn)"] = _start_ping(server_cpu, tmp / "ping.log")
            if jar is not None:
                kept = {"Content-Type": answer.headers["content-type"]}
                started["WireMock"] = _start_wiremock(
                    jar, server_cpu, tmp, path, answer.content, kept
                )
            if granian is not None:
                db = str(tmp / "granian.sqlite3")
                started["bre app (granian)"] = _start_granian(granian, server_cpu, tmp, db)
                with httpx.Client(base_url=started["bre app (granian)"][1], headers=headers) as h:
                    h.post(
                        f"{API}/restores",
                        json={"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"]},
                    ).raise_for_status()
            urls = {
                name: url + ("/ping" if name.startswith("trivial") else path)
                for name, (_, url) in started.items()
            }
            for name, url in urls.items():  # warm-up; the JVM's JIT needs longer
                say(f"peers: warming up {name}")
                warm = (8 if quick else 20) if name == "WireMock" else (2 if quick else 4)
                _wrk(wrk, url, warm, wrk_cpu, headers=headers)
            found: dict[str, list[dict[str, Any]]] = {name: [] for name in urls}
            for _ in range(rounds):
                for name, url in urls.items():
                    say(f"peers: wrk GET on {name}")
                    pid = started[name][0].pid
                    before = process_cpu_s(pid)
                    result = _wrk(wrk, url, seconds, wrk_cpu, headers=headers)
                    spent_s = process_cpu_s(pid) - before
                    result["cpu_us"] = spent_s * 1e6 / max(result["requests"], 1)
                    found[name].append(result)
        finally:
            for process, _ in started.values():
                stop(process)
    med = {
        name: {k: statistics.median(r[k] or 0.0 for r in runs) for k in ("rps", "p99_ms", "cpu_us")}
        for name, runs in found.items()
    }
    return _peer_rows(med, jar is not None, granian is not None, seconds, rounds, notes)


def _peer_rows(
    med: dict[str, dict[str, float]],
    wiremock: bool,
    granian: bool,
    seconds: float,
    rounds: int,
    notes: list[str],
) -> list[Row]:
    bre = med["bre serve (uvicorn)"]
    get = "GET /restores/{id}"

    def beside(label: str, ceiling: str, peer: dict[str, float], named: str) -> list[Row]:
        """bre serve's rate, p99 and CPU per request beside `peer`'s, in three rows."""
        return [
            Row(f"{get}, {label}", bre["rps"], "req/s", ceiling, peer["rps"]),
            Row("  its p99", bre["p99_ms"], "ms", f"p99, {named}", peer["p99_ms"]),
            Row("  its server CPU", bre["cpu_us"], "us/req", named, peer["cpu_us"]),
        ]

    trivial = "trivial route"
    rows = beside("bre serve", f"{trivial}, same uvicorn", med[f"{trivial} (uvicorn)"], trivial)
    if wiremock:
        peer = med["WireMock"]
        rows += beside("bre serve", "WireMock, same JSON", peer, "WireMock")
        rate, p99 = bre["rps"] / peer["rps"], bre["p99_ms"] / (peer["p99_ms"] or 1)
        notes.append(
            f"peers: GET {bre['rps']:,.0f} req/s, p99 {bre['p99_ms']:.1f} ms; WireMock "
            f"{peer['rps']:,.0f} req/s, p99 {peer['p99_ms']:.1f} ms: {rate:.2f}x its throughput "
            f"(goal >= 1.0: {'met' if rate >= 1 else 'NOT met'}), {p99:.2f}x its p99 (goal <= "
            f"0.3: {'met' if p99 <= 0.3 else 'NOT met'})"
        )
    else:
        notes.append("peers: WireMock skipped (needs java and npm's `wiremock` package)")
    if granian:
        rows += beside("bre app on uvicorn", "on granian", med["bre app (granian)"], "on granian")
    else:
        notes.append("peers: granian skipped (pip install granian failed)")
    figures = "; ".join(
        f"{name} {m['rps']:,.0f} req/s p99 {m['p99_ms']:.1f} ms {m['cpu_us']:.0f} us/req"
        for name, m in med.items()
    )
    notes.append(
        f"peers: wrk -t1 -c{CONNECTIONS} -d{int(seconds)}s, medians of {rounds} interleaved "
        f"round(s) after a warm-up, servers on one CPU, wrk on the other: {figures}"
    )
    return rows
