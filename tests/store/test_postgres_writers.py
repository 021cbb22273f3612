"""How many writer threads a PostgreSQL store runs: two for a process alone on its host, one
when the processes sharing the host's CPUs leave it fewer than two of its own
(`writers_for`), told by `BRE_HOST_PROCESSES`, which `bre serve --workers N` gives its
processes; and how many of the host's writer transactions may be open at once once the
writers outnumber the CPUs (`slots_for`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from engine.store import postgres
from engine.store.factory import HOST_PROCESSES
from engine.store.postgres import (
    WRITERS,
    PostgresStore,
    host_processes,
    slots_for,
    writers_for,
)
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


@pytest.mark.parametrize(
    ("processes", "writers", "cpus", "slots"),
    [(1, 2, 2, None), (1, 8, 2, None), (2, 1, 2, None), (3, 1, 2, 2), (4, 1, 2, 2),
     (4, 2, 8, None), (5, 1, 8, None), (16, 1, 8, 8), (2, 1, 1, 1)],
)  # fmt: skip
def test_writers_take_turns_once_they_outnumber_the_cpus(
    processes: int, writers: int, cpus: int, slots: int | None
) -> None:
    assert slots_for(processes, writers, cpus) == slots


@contextlib.asynccontextmanager
async def _host_of_one_cpu(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, **options: Any
) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    """Two stores as two of four processes on a host of one CPU: one slot between them."""
    monkeypatch.setenv(HOST_PROCESSES, "4")
    monkeypatch.setattr(postgres, "_cpus", lambda: 1)
    first = await PostgresStore.open(pg_url, **options)
    second = await PostgresStore.open(pg_url, **options)
    try:
        assert first.stats()["slots"] == second.stats()["slots"] == 1
        yield first, second
    finally:
        await first.close()
        await second.close()


def _blocking(started: threading.Event, release: threading.Event) -> Callable[[Any], str]:
    def work(tx: Any) -> str:
        tx.probe(1)
        started.set()
        assert release.wait(10)
        return "first"

    return work


@pytest.mark.usefixtures("pg_url")
async def test_a_writer_waits_for_the_hosts_slot(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one process's transaction is open, another's on the same host does not start."""
    async with _host_of_one_cpu(pg_url, monkeypatch) as (first, second):
        started, release = threading.Event(), threading.Event()
        held = first.transact(_blocking(started, release))
        assert await asyncio.to_thread(started.wait, 10)
        ran = threading.Event()

        def second_unit(tx: Any) -> str:
            ran.set()
            return "second"

        waiting = second.transact(second_unit)
        await asyncio.sleep(0.3)
        assert not ran.is_set()  # its transaction waits for the slot
        release.set()
        assert await held == "first"
        assert await waiting == "second"
        assert second.stats()["slot_waits"] == 1


@pytest.mark.usefixtures("pg_url")
async def test_a_slot_held_past_the_lock_timeout_is_not_waited_for(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The slot only tunes: a writer never waits for it longer than for a row lock."""
    async with _host_of_one_cpu(pg_url, monkeypatch, lock_timeout_ms=200) as (first, second):
        started, release = threading.Event(), threading.Event()
        held = first.transact(_blocking(started, release))
        assert await asyncio.to_thread(started.wait, 10)
        try:
            assert await asyncio.wait_for(second.transact(lambda tx: "second"), 5) == "second"
        finally:
            release.set()
        assert await held == "first"
        assert second.stats()["slot_waits"] == 1
