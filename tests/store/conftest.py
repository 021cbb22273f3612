"""The adapters the store contract runs on, one entry each (apscheduler v4's model).

Each entry gives a fresh database for one test as a URL for `open_store`, and cleans it up
afterwards. Adding an adapter to the contract is one line in `DATABASES` (or `SERVERS` for one
that needs a server the tests find, as PostgreSQL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from engine.store.base import Store
from engine.store.factory import open_store
from engine.store.factory import parse as parse_url


@asynccontextmanager
async def _fixed(url: str) -> AsyncIterator[str]:
    yield url


@asynccontextmanager
async def _sqlite_file(tmp_path: Path) -> AsyncIterator[str]:
    yield str(tmp_path / "contract.sqlite3")


#: adapter -> a fresh database of it for one test (the test's tmp_path given), as a URL
DATABASES: dict[str, Callable[[Path], AbstractAsyncContextManager[str]]] = {
    "memory": lambda _: _fixed("memory:"),
    "sqlite-ram": lambda _: _fixed(":memory:"),
    "sqlite-file": _sqlite_file,
}


#: PostgreSQL: an empty schema of the run's database on BRE_TEST_POSTGRES (fixture `pg_url`;
#: skipped with the reason without a server, except in CI)
SERVERS = ("postgresql",)


@pytest.fixture(params=[*DATABASES, *SERVERS])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database of each adapter in turn, as its URL."""
    if request.param == "postgresql":
        fresh: str = request.getfixturevalue("pg_url")
        yield fresh
        return
    async with DATABASES[request.param](tmp_path) as url:
        yield url


@pytest.fixture
async def store(database: str) -> AsyncIterator[Store]:
    opened = await open_store(database)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def other(database: str, store: Store) -> AsyncIterator[Store]:
    """A second store on the same database, as another process would open it: the same store
    where the data belongs to one process (`memory:`, `:memory:`)."""
    if not parse_url(database).shared:
        yield store
        return
    opened = await open_store(database)
    try:
        yield opened
    finally:
        await opened.close()
