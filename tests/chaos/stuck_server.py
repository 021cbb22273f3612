"""`bre serve` whose unit of work for `POST /backups` never returns: the chaos suite's stuck
engine (test_shutdown.py). The unit spins on the event loop's thread, so nothing of the loop
runs any more; only the watchdog can end the process, at the bound given in BRE_TEST_BOUND_S.
The unit creates the file BRE_TEST_STUCK_FILE when it starts spinning.

Usage: python stuck_server.py serve [bre serve flags...]
"""

from __future__ import annotations

import os
import sys
from typing import Any

from engine import cli, server
from engine.runtime import units


def never_returns(*args: Any) -> None:
    with open(os.environ["BRE_TEST_STUCK_FILE"], "w"):
        pass
    while True:  # a unit that never returns, holding the loop's thread
        pass


if __name__ == "__main__":
    server.SHUTDOWN_BOUND_S = float(os.environ["BRE_TEST_BOUND_S"])
    units.create_backup = never_returns  # type: ignore[assignment]
    sys.exit(cli.main(sys.argv[1:]))
