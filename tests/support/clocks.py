"""The virtual clock of a test's console (the `console` fixture runs on one)."""

from __future__ import annotations

from engine.runtime.clock import VirtualClock
from engine.runtime.console import Console


def vclock(console: Console) -> VirtualClock:
    """The console's clock, which a test moves by hand."""
    assert isinstance(console.clock, VirtualClock)
    return console.clock
