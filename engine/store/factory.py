"""One factory: the store a URL names. Nothing outside `engine.store` names an adapter class.

    memory:                         the memory adapter (one process; gone when it stops)
    :memory:                        SQLite in RAM (one process; the embedded default)
    PATH, sqlite:PATH, sqlite:///ABSOLUTE/PATH
                                    an SQLite file (processes on one host may share it)
    postgresql://user@host:port/db  a PostgreSQL database (processes on many hosts)

`ADAPTERS` maps a URL scheme to the opener of its adapter, written as "module:callable"
(imported on first use, so a driver is loaded only by the URLs that need it). An opener takes
the URL as given and returns an open `Store`. Adding an adapter is one line there.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import cast

from engine.core.frozen import record
from engine.store.base import Store

#: scheme -> "module:callable" of the adapter's opener; a URL without a known scheme is an
#: SQLite path.
ADAPTERS: dict[str, str] = {
    "memory": "engine.store.memory:MemoryStore.open",
    "sqlite": "engine.store.sqlite:SqliteStore.open_url",
    "postgresql": "engine.store.postgres:PostgresStore.open",
}
#: The environment variable saying how many simulator processes share this host's CPUs (a
#: positive integer; unset: this one alone). `bre serve --workers N` gives it to its N
#: processes; processes started some other way may set it. A store that runs threads of its
#: own sizes them by it (the PostgreSQL store: `engine.store.postgres.writers_for`).
HOST_PROCESSES = "BRE_HOST_PROCESSES"
#: what `memory:` and `:memory:` have in common: the data lives in the process that opened it
_PER_PROCESS = (":memory:", "memory:")


@record
class StoreUrl:
    """A store URL, read: which adapter, and whether other processes can share the data."""

    url: str
    scheme: str

    @property
    def shared(self) -> bool:
        """Whether another process opening the same URL sees the same data."""
        return self.url not in _PER_PROCESS


def parse(url: str) -> StoreUrl:
    """The adapter a URL names. `postgres://` is `postgresql://` (as libpq reads it)."""
    if url == ":memory:":
        return StoreUrl(url, "sqlite")
    scheme, colon, _ = url.partition(":")
    scheme = scheme.lower()
    if scheme == "postgres":
        scheme = "postgresql"
    if colon and scheme in ADAPTERS and (scheme != "sqlite" or url[len(scheme) + 1 :]):
        return StoreUrl(url, scheme)
    if colon and "://" in url:
        known = ", ".join(f"{s}:" for s in ADAPTERS)
        raise ValueError(f"--db {url}: unknown store scheme {scheme!r} (known: {known}, or a path)")
    return StoreUrl(url, "sqlite")


def opener(scheme: str) -> Callable[[str], Awaitable[Store]]:
    """The opener registered for `scheme` (its module imported now)."""
    module, _, attribute = ADAPTERS[scheme].partition(":")
    target: object = importlib.import_module(module)
    for name in attribute.split("."):
        target = getattr(target, name)
    return cast("Callable[[str], Awaitable[Store]]", target)


async def open_store(url: str) -> Store:
    """Open (creating and migrating where needed) the store `url` names; a `StorageError`
    names the database and what to do when it cannot be used, a ValueError a URL that names
    no adapter."""
    found = parse(url)
    return await opener(found.scheme)(found.url)
