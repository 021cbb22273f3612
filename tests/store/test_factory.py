"""The store a URL names: one factory, the adapter chosen by the URL's scheme."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.simulator import Settings, SettingsError, Simulator
from engine.store import factory
from engine.store.factory import open_store, parse


@pytest.mark.parametrize(
    ("url", "scheme", "shared"),
    [
        ("memory:", "memory", False),
        (":memory:", "sqlite", False),
        ("bre.sqlite3", "sqlite", True),
        ("/var/lib/bre/bre.sqlite3", "sqlite", True),
        ("sqlite:bre.sqlite3", "sqlite", True),
        ("sqlite:///var/lib/bre.sqlite3", "sqlite", True),
        ("C:/bre.sqlite3", "sqlite", True),  # a drive letter is no scheme
    ],
)
def test_the_url_names_the_adapter(url: str, scheme: str, shared: bool) -> None:
    found = parse(url)
    assert (found.scheme, found.shared) == (scheme, shared)


def test_an_unknown_scheme_is_refused_before_anything_opens() -> None:
    with pytest.raises(ValueError, match="unknown store scheme 'mysql'"):
        parse("mysql://db/bre")
    with pytest.raises(SettingsError, match="mysql"):
        Settings(db="mysql://db/bre")


async def test_sqlite_urls_open_the_file_they_name(tmp_path: Path) -> None:
    path = tmp_path / "named.sqlite3"
    store = await open_store(f"sqlite://{path}")
    await store.close()
    assert path.exists()


def test_every_registered_opener_resolves() -> None:
    for scheme in factory.ADAPTERS:
        assert callable(factory.opener(scheme)), scheme


async def test_the_simulator_runs_on_the_store_its_url_names() -> None:
    async with Simulator(Settings(db="memory:")) as sim:
        console = sim.console()
        restore = await console.create_restore(1, ["CUSTOM_RULES_CONFIG"])
        await console.request_restore(restore.id)
        done = await console.wait_for_restore(restore.id)
        assert done.status == "SUCCESS"
        assert sim.store.stats()["thread_batches"] == 0
        assert type(sim.store).__module__ == "engine.store.memory"


def test_the_sim_fixture_runs_on_the_store_of_the_option(
    sim: Simulator, bre_store: str | None
) -> None:
    """`pytest --store URL` (or BRE_TEST_STORE) puts the suites' simulators on that store."""
    assert sim.settings.db == (bre_store or ":memory:")
