"""A child process of test_multiprocess.py: starts simulators on files another process opens too.

Usage: python open_worker.py ROLE. Answers one JSON line per line read on stdin:
- `open PATH`: start a simulator on PATH (a new file the other child opens at the same moment),
  try to create a restore on its default console, stop; report the restore's id or the code
  that refused it, or the error that stopped the simulator;
- `quit` (or end of input): stop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys

import structlog

from engine.core.errors import QRadarError
from engine.simulator import Settings, Simulator


async def open_and_use(path: str) -> dict[str, object]:
    try:
        async with Simulator(Settings(db=path, clock="real")) as sim:
            try:
                restore = await sim.console().create_restore(1, ["CUSTOM_RULES_CONFIG"])
            except QRadarError as refused:
                return {"ok": True, "refused": refused.code.unique}
            return {"ok": True, "restore": restore.id}
    except Exception as error:  # reported to the test, which fails with it
        return {"ok": False, "error": repr(error)}


def main(role: str) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print(json.dumps({"ready": role}), flush=True)
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command != "open":
            break
        print(json.dumps(asyncio.run(open_and_use(argument))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
