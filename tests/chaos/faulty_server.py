"""`bre serve` with a bug in one transition: a restore cannot enter IN_PROGRESS (building its
record raises), the stand-in for any job whose step cannot be computed or stored. Values that
overflowed the store before the control surface bounded them were the issue's reproduction;
this keeps the served path of a faulted job under test now that no input reaches it.

Usage: python faulty_server.py serve [bre serve flags...]
"""

from __future__ import annotations

import sys

from engine import cli
from engine.core.enums import RestoreStatus
from engine.core.records import Restore

_reached = Restore.reached


def reached(
    self: Restore, status: RestoreStatus, now_ms: int, *, initiated: bool = False
) -> Restore:
    if status is RestoreStatus.IN_PROGRESS:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")
    return _reached(self, status, now_ms, initiated=initiated)


if __name__ == "__main__":
    Restore.reached = reached  # type: ignore[method-assign]
    sys.exit(cli.main(sys.argv[1:]))
