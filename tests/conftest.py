"""Shared fixtures: in-memory simulators on a virtual clock (the pytest plugin's), started from
the world the validation codes need.

Every test gets its own `Simulator` (an in-memory SQLite store unless `--store URL` or
`BRE_TEST_STORE` names another, virtual clocks), so tests never see each other: `sim` is the
plugin's `bre_simulator`, `console` its default console, seeded with the demo world (hosts 53
console + 104, backups 1, 2, 3 SUCCESS CONFIG) plus the hosts of
`tests.support.worlds.make_world`. Override `bre_settings` in a module to start differently.
Helpers live in `tests.support`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from engine.runtime.console import Console
from engine.simulator import Settings, Simulator
from tests.support import postgres
from tests.support.postgres import Database
from tests.support.worlds import make_world


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store",
        default=os.environ.get("BRE_TEST_STORE"),
        help="the store URL of the `sim` fixture (memory:, :memory:, a path...), or "
        "`postgresql`: a schema of this run's database on BRE_TEST_POSTGRES for each test; "
        "default $BRE_TEST_STORE, else the settings' own (:memory:, SQLite in RAM)",
    )


@pytest.fixture
def bre_store(request: pytest.FixtureRequest) -> str | None:
    """The store `sim` runs on (`--store`): the engine and API suites must not depend on which
    adapter runs under them."""
    url: str | None = request.config.getoption("--store")
    if url in ("postgresql", "postgres"):
        fresh: str = request.getfixturevalue("pg_url")
        return fresh
    return url


@pytest.fixture
def bre_settings() -> Settings:
    """The plugin's simulator settings, with the world of the validation codes."""
    return Settings(world=make_world())


@pytest.fixture
def sim(bre_simulator: Simulator) -> Simulator:
    """An isolated in-memory simulator with virtual clocks (the plugin's `bre_simulator`)."""
    return bre_simulator


@pytest.fixture
def console(bre_console: Console) -> Console:
    """The default console of `sim`."""
    return bre_console


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
