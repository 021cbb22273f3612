"""A child process of test_crash.py: acknowledges work, then waits to be killed mid-restore.

Usage: python crash_worker.py DB. Prints one JSON line per acknowledged create (backups, then a
restore), requests the restore, and prints `in_progress` once the restore is IN_PROGRESS. The
restore's in_progress phase lasts an hour: the test kills this process (SIGKILL) long before.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys

import anyio
import structlog

from engine.simulator import Settings, Simulator

BACKUPS = 5
RULES = {
    "restore": {"requesting": "20ms", "initializing": "20ms", "in_progress": "1h"},
    "backup": {"mode": "immediate"},
}


def say(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def main(db: str) -> None:
    settings = Settings(db=db, clock="real", scan_interval_s=0.05, rules=RULES)
    async with Simulator(settings) as sim:
        console = sim.console()
        for i in range(BACKUPS):
            backup = await console.create_backup("DATA", f"acked_{i}", host_id=104)
            say(backup=backup.id, name=backup.name)
            await console.wait_for_backup(backup.id, within_s=10)
        restore = await console.create_restore(1, ["CUSTOM_RULES_CONFIG"])
        say(restore=restore.id)
        await console.request_restore(restore.id)
        await console.wait_for_restore(restore.id, "IN_PROGRESS", within_s=10)
        say(in_progress=restore.id)
        await anyio.sleep_forever()


if __name__ == "__main__":
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    asyncio.run(main(sys.argv[1]))
