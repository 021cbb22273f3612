"""The simulator as an embedding test suite and `bre serve` use it: its settings, its consoles'
credentials, and what a restart on an existing database does with them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.control.schema import ControlError
from engine.simulator import DEFAULT_TOKEN, Settings, SettingsError, Simulator


async def test_a_configured_token_repairs_an_existing_database(tmp_path: Path) -> None:
    """A database made with other tokens: the configured ones become the default console's."""
    db = str(tmp_path / "bre.sqlite3")
    async with Simulator(Settings(db=db, tokens=("first",))):
        pass
    async with Simulator(Settings(db=db, tokens=("second",))) as sim:
        found = await sim.authenticate("second")
        assert found is not None
        assert found.console == "default"
        assert found.admin


async def test_a_default_token_moved_to_another_console_is_a_start_error(tmp_path: Path) -> None:
    """Issue 9.2: a token moved by `INSERT OR REPLACE` made `bre-sim-token` answer 403/26 for
    good, and `--token` did not repair it. Such a database now refuses to start, naming it."""
    db = tmp_path / "bre.sqlite3"
    async with Simulator(Settings(db=str(db))) as sim:
        await sim.create_console("other", tokens=("other-token",))
    with sqlite3.connect(db) as conn:  # what the old `add_token` could do
        conn.execute(
            "UPDATE credentials SET console = 'other', admin = 0 WHERE secret = ?", (DEFAULT_TOKEN,)
        )
    conn.close()
    with pytest.raises(SettingsError, match=r"tokens\[0\]: .* belongs to console 'other'"):
        async with Simulator(Settings(db=str(db))):
            pass
    async with Simulator(Settings(db=str(db), tokens=("fresh",))) as sim:  # another token works
        fresh = await sim.authenticate("fresh")
        assert fresh is not None
        assert fresh.console == "default"


async def test_create_console_checks_its_arguments_as_the_http_body() -> None:
    async with Simulator() as sim:
        with pytest.raises(ControlError, match=r"^seed: "):
            await sim.create_console("x", seed="abc")  # type: ignore[arg-type]
        with pytest.raises(ControlError, match=r"^rules\.restore\.mode: "):
            await sim.create_console("x", rules={"restore": {"mode": "bogus"}})
        with pytest.raises(ControlError, match=r"^tokens\[0\]: belongs to another console"):
            await sim.create_console("x", tokens=(DEFAULT_TOKEN,))
        assert sim.consoles() == ["default"]


async def test_add_token_never_moves_a_token() -> None:
    async with Simulator() as sim:
        await sim.create_console("other", tokens=("theirs",))
        with pytest.raises(ControlError, match=r"^token: belongs to another console"):
            await sim.add_token("default", "theirs")
        theirs = await sim.authenticate("theirs")
        assert theirs is not None
        assert theirs.console == "other"


async def test_a_presented_secret_must_match_exactly() -> None:
    async with Simulator() as sim:
        assert await sim.authenticate(DEFAULT_TOKEN) is not None  # cached now
        assert await sim.authenticate(DEFAULT_TOKEN.upper()) is None
        assert await sim.authenticate(DEFAULT_TOKEN + " ") is None
        assert await sim.authenticate(DEFAULT_TOKEN, basic=True) is None


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"journal_entries": -1}, "journal_entries=-1"),
        ({"control_body_bytes": "1MB"}, "control_body_bytes='1MB'"),
        ({"admin_token": "has space"}, "admin_token: "),
        ({"control_auth": "no"}, "control_auth='no'"),
    ],
)
def test_bad_settings_name_the_key(values: dict[str, object], words: str) -> None:
    with pytest.raises(SettingsError, match=words):
        Settings(**values)  # type: ignore[arg-type]


def test_settings_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "BRE_ADMIN_TOKEN": "env-admin",
            "BRE_CONTROL_AUTH": "off",
            "BRE_JOURNAL_ENTRIES": "7",
            "BRE_JOURNAL_HEADER_BYTES": "100",
            "BRE_JOURNAL_BYTES": "5000",
            "BRE_CONTROL_BODY_BYTES": "64",
        }
    )
    assert settings.admin_token == "env-admin"
    assert settings.control_auth is False
    assert (settings.journal_entries, settings.journal_header_bytes) == (7, 100)
    assert (settings.journal_bytes, settings.control_body_bytes) == (5000, 64)
    with pytest.raises(SettingsError, match="BRE_JOURNAL_BYTES='lots'"):
        Settings.from_env({"BRE_JOURNAL_BYTES": "lots"})


async def test_a_release_asked_of_an_existing_console_is_logged_not_applied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "bre.sqlite3")
    async with Simulator(Settings(db=db, release="7.5.0 UP6")) as first:
        assert first.console().release.name == "7.5.0 UP6"
    async with Simulator(Settings(db=db, release="7.4.0")) as second:
        assert second.console().release.name == "7.5.0 UP6"  # made on UP6, it runs UP6
    assert "release_not_applied" in capsys.readouterr().out
