"""How many writer threads a PostgreSQL store runs: two for a process alone on its host, one
when the processes sharing the host's CPUs leave it fewer than two of its own
(`writers_for`), told by `BRE_HOST_PROCESSES`, which `bre serve --workers N` gives its
processes."""

from __future__ import annotations

import os

import pytest

from engine.store.factory import HOST_PROCESSES
from engine.store.postgres import WRITERS, PostgresStore, host_processes, writers_for
from engine.workers import child_env


@pytest.mark.parametrize(
    ("processes", "cpus", "writers"),
    [(1, 2, 2), (2, 2, 1), (4, 2, 1), (1, 1, 1), (4, 8, 2), (3, 8, 2), (5, 8, 1), (1, 64, 2)],
)
def test_writers_for_the_processes_sharing_the_cpus(
    processes: int, cpus: int, writers: int
) -> None:
    assert WRITERS == 2
    assert writers_for(processes, cpus) == writers


@pytest.mark.parametrize(
    ("value", "processes"), [(None, 1), ("1", 1), ("4", 4), ("0", 1), ("-3", 1), ("four", 1)]
)
def test_host_processes_is_read_leniently(value: str | None, processes: int) -> None:
    """A value that cannot be used only tunes: it never stops a store from opening."""
    environ = {} if value is None else {HOST_PROCESSES: value}
    assert host_processes(environ) == processes


def test_workers_tell_their_processes_how_many_share_the_host() -> None:
    env = child_env({"PATH": "/bin", HOST_PROCESSES: "9"}, 4)
    assert env[HOST_PROCESSES] == "4"
    assert env["PATH"] == "/bin"
    assert env["PYTHONUNBUFFERED"] == "1"


@pytest.mark.usefixtures("pg_url")
async def test_a_store_sizes_its_writers_by_the_processes_on_the_host(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HOST_PROCESSES, "1000")  # more processes than any host has CPUs
    shared = await PostgresStore.open(pg_url)
    try:
        assert shared.stats()["writers"] == 1
    finally:
        await shared.close()
    monkeypatch.delenv(HOST_PROCESSES)
    alone = await PostgresStore.open(pg_url, writers=None)
    try:
        assert alone.stats()["writers"] == writers_for(1, len(os.sched_getaffinity(0)))
    finally:
        await alone.close()
