"""`bre load`: a load generator for the simulator, with invariant checks and a report.

    from engine.load import Options, run, parse_mix
    outcome = run(Options(clients=50, duration_s=10, mix=parse_mix("poller=5,restore=2")))
    assert outcome.exit_status == 0

The pieces: `clients` (virtual clients and their roles), `history` (what they observed),
`invariants` (the checker), `report` (figures, JSON, plot), `servers` (`bre serve` processes),
`runner` (one run from start to report), `command` (the `bre load` subcommand).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.load.clients import ROLES, MixError, assign_roles, parse_mix
    from engine.load.history import Exchange, History, Seen
    from engine.load.invariants import Checker, Violation, check
    from engine.load.report import Report
    from engine.load.runner import FAST_RULES, LoadError, Options, Outcome, run

#: Where each name lives: imported on first use, so that `bre --help` (which registers
#: `engine.load.command`) does not load the generator, httpx and the checker.
_HOMES = {
    **dict.fromkeys(("ROLES", "MixError", "assign_roles", "parse_mix"), "clients"),
    **dict.fromkeys(("Exchange", "History", "Seen"), "history"),
    **dict.fromkeys(("Checker", "Violation", "check"), "invariants"),
    "Report": "report",
    **dict.fromkeys(("FAST_RULES", "LoadError", "Options", "Outcome", "run"), "runner"),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'engine.load' has no attribute {name!r}")
    return getattr(importlib.import_module(f"engine.load.{home}"), name)


__all__ = [
    "FAST_RULES",
    "ROLES",
    "Checker",
    "Exchange",
    "History",
    "LoadError",
    "MixError",
    "Options",
    "Outcome",
    "Report",
    "Seen",
    "Violation",
    "assign_roles",
    "check",
    "parse_mix",
    "run",
]
