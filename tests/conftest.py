"""Shared fixtures: in-memory simulators on a virtual clock, and the worlds they start from.

Every test gets its own `Simulator` (an in-memory SQLite store, virtual clocks), so tests never
see each other. `console` is the default console of that simulator, seeded with the demo world
(hosts 53 console + 104, backups 1, 2, 3 SUCCESS CONFIG) plus the extra hosts below, which the
validation codes need (an inactive host, a host without Ariel data, an unconfigured data host,
a host without an event collector).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import pytest
import structlog

from engine.core.enums import AppDeploymentLocation, BackupStatus, BackupType
from engine.core.records import Backup, Host, World, demo_world
from engine.runtime.console import Console
from engine.simulator import Settings, Simulator

#: Hosts added to the demo world (ids chosen far from the demo's 53 and 104).
INACTIVE_HOST = 201  # not active: 422/1010 on POST /backups
NO_ARIEL_HOST = 202  # stores no Ariel data: 422/1013 for DATA backups; no qflow, no collector
UNCONFIGURED_HOST = 203  # stores Ariel data but has no data backup configuration: 422/1014

#: Groups a restore accepts with no group rule involved.
GROUPS = ["CUSTOM_RULES_CONFIG"]


def make_world(**changes: Any) -> World:
    """The demo world plus hosts that provoke the host-related validation codes."""
    base = demo_world()
    extra = (
        Host(INACTIVE_HOST, "qradar-down", "10.0.0.201", active=False,
             components=("eventprocessor",), ariel_data=True),
        Host(NO_ARIEL_HOST, "qradar-dn", "10.0.0.202", components=("dataNode",)),
        Host(UNCONFIGURED_HOST, "qradar-ep2", "10.0.0.203",
             components=("eventcollector", "eventprocessor"), ariel_data=True),
    )  # fmt: skip
    return replace(base, hosts=base.hosts + extra, **changes)


def backup_record(id: int, **changes: Any) -> Backup:
    """A finished CONFIG backup of the console host; override any field."""
    values: dict[str, Any] = {
        "id": id, "configuration_id": 1, "host_id": 53, "name": f"seeded_{id}",
        "description": None, "type": BackupType.CONFIG, "version": "7.5.0",
        "time_initiated": 1_767_225_600_000, "time_completed": 1_767_225_660_000,
        "initiated_by": "admin", "status": BackupStatus.SUCCESS, "size_on_disk": 1024,
        "content_file_path": f"/store/backup/backup.seeded_{id}.tgz", "is_valid": True,
        "is_version_compatible": True, "app_deployment_location": AppDeploymentLocation.CONSOLE,
    }  # fmt: skip
    values.update(changes)
    return Backup(**values)


@pytest.fixture
def settings() -> Settings:
    """Override in a module to start the simulator differently."""
    return Settings(world=make_world())


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store", default=os.environ.get("BRE_TEST_STORE", ":memory:"),
        help="the store URL of the `sim` fixtures (memory:, :memory:, a path...); "
        "default $BRE_TEST_STORE or :memory: (SQLite in RAM)",
    )  # fmt: skip


@pytest.fixture
def store_url(request: pytest.FixtureRequest) -> str:
    """The store the `sim` fixtures run on (`--store`): the engine and API suites must not
    depend on which adapter runs under them."""
    url: str = request.config.getoption("--store")
    return url


def on_store(settings: Settings, url: str) -> Settings:
    """`settings` on the store `url`, unless they name a store of their own."""
    return replace(settings, db=url) if settings.db == Settings.db else settings


@pytest.fixture
async def sim(settings: Settings, store_url: str) -> AsyncIterator[Simulator]:
    """An isolated simulator with virtual clocks, on the store of `--store`."""
    async with Simulator(on_store(settings, store_url)) as simulator:
        yield simulator


@pytest.fixture
def console(sim: Simulator) -> Console:
    """The default console of `sim`."""
    return sim.console()


@pytest.fixture
def quiet_logs() -> Iterator[None]:
    """Drop engine log events below WARNING (for tests that make hundreds of thousands)."""
    previous = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        yield
    finally:
        structlog.configure(**previous)
