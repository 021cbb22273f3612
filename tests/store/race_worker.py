"""A child process of test_multiprocess.py: races for host 53 on a SQLite file shared with another.

Usage: python race_worker.py DB ROLE. Attaches the default console of DB (which the test
created, with backups in manual mode) and answers one JSON line per line read on stdin:
- `try N K`: K concurrent tasks each create a CONFIG backup named ROLE_N_k on host 53; report
  the ids created and the error codes of the others;
- `finish ID`: step backup ID to SUCCESS (it is this process's winner), so the host is free;
- `quit` (or end of input): stop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys

import anyio
import structlog

from engine.core.errors import QRadarError
from engine.runtime.console import Console
from engine.simulator import Settings, Simulator


async def attempt(console: Console, name: str, won: list[int], codes: list[int]) -> None:
    try:
        won.append((await console.create_backup("CONFIG", name)).id)
    except QRadarError as error:
        codes.append(error.code.unique)


def say(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def main(db: str, role: str) -> None:
    async with Simulator(Settings(db=db, clock="real", scan_interval_s=0.05)) as sim:
        console = sim.console()
        say(ready=role)
        while True:
            line = (await anyio.to_thread.run_sync(sys.stdin.readline)).split()
            if not line or line[0] == "quit":
                break
            if line[0] == "try":
                round_no, tasks = int(line[1]), int(line[2])
                won: list[int] = []
                codes: list[int] = []
                async with anyio.create_task_group() as group:
                    for k in range(tasks):
                        group.start_soon(attempt, console, f"{role}_{round_no}_{k}", won, codes)
                say(role=role, round=round_no, won=won, codes=codes)
            elif line[0] == "finish":
                bid = int(line[1])
                await console.step("backup", bid)
                await console.step("backup", bid)
                say(role=role, finished=bid, status=(await console.get_backup(bid)).status.value)


if __name__ == "__main__":
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    asyncio.run(main(sys.argv[1], sys.argv[2]))
