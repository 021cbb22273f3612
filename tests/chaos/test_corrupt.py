"""Databases that cannot be used: at start, one line naming the file and what to do; damaged
while serving, readiness false and every request 503 with a QRadar body.

Regression (issue 9, point 7): a corrupt or unreadable file, a directory as `--db`, a missing or
read-only directory ended `bre serve` in a 40-60 line traceback; pages damaged at run time left
`ready: true` while every request answered 500.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.simulator import Settings, Simulator
from engine.store import schema
from tests.support.chaos import ROOT, Served, assert_no_traceback, mount_tmpfs, unmount
from tests.support.http import API

pytestmark = pytest.mark.chaos

PAGE = 4096  # SQLite's default page size: page 1 (the header and the schema) is left intact


def damage_pages(db: Path) -> None:
    """Overwrite every page but the first (the records, not the header) with garbage."""
    size = db.stat().st_size
    assert size > 2 * PAGE
    with db.open("r+b") as file:
        file.seek(PAGE)
        file.write(b"\x55" * (size - PAGE))


def checkpointed(db: Path) -> None:
    """Everything committed moved from the write-ahead log into the file itself."""
    with sqlite3.connect(db) as conn:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    conn.close()
    assert busy == 0


async def _create(path: Path) -> None:
    async with Simulator(Settings(db=str(path))):
        pass


def not_sqlite(tmp: Path) -> Path:
    path = tmp / "notes.db"
    path.write_bytes(b"this is a text file, not a database\n" * 200)
    return path


def a_directory(tmp: Path) -> Path:
    (tmp / "data").mkdir()
    return tmp / "data"


def in_a_missing_directory(tmp: Path) -> Path:
    return tmp / "no-such-dir" / "bre.db"


def newer_schema(tmp: Path) -> Path:
    path = tmp / "future.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {schema.VERSION + 1}")
    conn.close()
    return path


def damaged(tmp: Path) -> Path:
    path = tmp / "damaged.db"
    asyncio.run(_create(path))
    checkpointed(path)
    damage_pages(path)
    return path


CASES = {
    "not-sqlite": (not_sqlite, "not a database", "move the file away"),
    "damaged-pages": (damaged, "malformed", "move the file away"),
    "a-directory": (a_directory, "unable to open", "it is a directory"),
    "missing-directory": (in_a_missing_directory, "unable to open", "does not exist"),
    "newer-schema": (newer_schema, "schema version", "use a newer simulator"),
}


def bre_serve(db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", "serve", "--port", "0", "--db", str(db)],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip


def assert_one_line(result: subprocess.CompletedProcess[str], db: Path, *words: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"bre: database {db}: "), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert result.stdout == ""  # never announced ready


@pytest.mark.parametrize("case", list(CASES))
def test_bre_serve_refuses_an_unusable_database_in_one_line(tmp_path: Path, case: str) -> None:
    make, cause, advice = CASES[case]
    db = make(tmp_path)
    assert_one_line(bre_serve(db), db, cause, advice)


@pytest.mark.parametrize("existing", [False, True], ids=["new-file", "existing-file"])
def test_bre_serve_refuses_a_read_only_directory_in_one_line(
    tmp_path: Path, existing: bool
) -> None:
    """Root ignores file modes: the directory is a read-only mount."""
    directory = tmp_path / "ro"
    mount_tmpfs(directory, "size=1m")
    try:
        db = directory / "bre.db"
        if existing:
            asyncio.run(_create(db))
            checkpointed(db)
        subprocess.run(["mount", "-o", "remount,ro", str(directory)], check=True)
        assert_one_line(bre_serve(db), db, "writable")
    finally:
        unmount(directory)


def test_pages_damaged_at_run_time_turn_readiness_false_and_requests_503(
    tmp_path: Path, serve: Callable[..., Served]
) -> None:
    db = tmp_path / "bre.db"
    served = serve(str(db))
    with served.client() as client:
        assert client.get("/simulator/ready").status_code == 200
        checkpointed(db)
        damage_pages(db)
        # a write makes every reader drop its cached pages; the next reads meet the damage
        client.post(f"{API}/backups", headers={"backup_type": "CONFIG"},
                    json={"name": "after_the_damage", "configuration_id": 1})  # fmt: skip
        listed = client.get(f"{API}/backups")
        assert listed.status_code == 503, listed.text
        assert listed.json()["code"] == 21
        assert "malformed" in listed.json()["message"]
        ready = client.get("/simulator/ready")
        assert ready.status_code == 503
        assert "damaged" in ready.json()["reason"]
        assert str(db) in ready.json()["reason"]
    assert served.events("store_corrupt")
    assert served.stop() == 0
    assert_no_traceback(served.stderr())
