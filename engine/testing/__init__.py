"""Test support for users of the simulator: the pytest plugin's fixtures and server helpers.

The plugin (`engine.testing.plugin`) is registered through the `pytest11` entry point
`qradar_bre_sim`; these re-exports are for code that starts a server or reads the types.
"""

from __future__ import annotations

from engine.testing.plugin import (
    BASE_URL,
    ConsoleFactory,
    ServerConsole,
    ServerConsoleFactory,
    SimulatorServer,
    start_server,
)

__all__ = [
    "BASE_URL",
    "ConsoleFactory",
    "ServerConsole",
    "ServerConsoleFactory",
    "SimulatorServer",
    "start_server",
]
