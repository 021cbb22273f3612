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

import postgres
import pytest
import structlog
from postgres import Database

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


@pytest.fixture
async def sim(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[Simulator]:
    """An isolated in-memory simulator with virtual clocks (`--store postgres`: on a schema of
    its own in the run's PostgreSQL database)."""
    async with Simulator(on_store(settings, request)) as simulator:
        yield simulator


def on_store(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """`settings` on the store `--store` chose for this run (a default in-memory one only)."""
    if request.config.getoption("store") == "postgres" and settings.db == ":memory:":
        return replace(settings, db=request.getfixturevalue("pg_url"))
    return settings


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


# PostgreSQL ---------------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store", choices=("sqlite", "postgres"), default="sqlite",
        help="the store under the `sim` fixture: SQLite :memory: (default) or a PostgreSQL "
        "schema of the run's database on BRE_TEST_POSTGRES",
    )  # fmt: skip


_ON_POSTGRES: set[str] = set()  # the tests that ran on PostgreSQL (through `pg_url`)
_PASSED_ON_POSTGRES: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed and report.nodeid in _ON_POSTGRES:
        _PASSED_ON_POSTGRES.append(report.nodeid)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The line `.ci/run` looks for: in CI the PostgreSQL tests must have run."""
    terminalreporter.write_line(f"postgres: {len(_PASSED_ON_POSTGRES)} tests passed on PostgreSQL")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[Database]:
    """This run's own database on the BRE_TEST_POSTGRES server, dropped at the end. Skipped
    with the reason when no server is reachable, unless CI is set: then the tests fail."""
    server = postgres.server_url()
    reason = postgres.unreachable(server)
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the PostgreSQL tests")
        pytest.skip(reason)
    database = Database(server).create()
    try:
        yield database
    finally:
        database.drop()


@pytest.fixture(scope="session")
def _pg_schema(pg_database: Database) -> tuple[str, str]:
    return pg_database.schema()


@pytest.fixture
def pg_url(
    pg_database: Database, _pg_schema: tuple[str, str], request: pytest.FixtureRequest
) -> Iterator[str]:
    """A URL whose connections use an empty schema of the run's database: one schema for the
    run, its tables emptied after each test (the store creates them on first use)."""
    _ON_POSTGRES.add(request.node.nodeid)  # counted when it passes
    name, url = _pg_schema
    try:
        yield url
    finally:
        pg_database.empty_schema(name)
