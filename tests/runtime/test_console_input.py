"""Bad input to the embedded API raises the typed error and changes nothing.

After every refused call the lists are unchanged and no id was consumed: the next successful
create gets the next id (restore 1; backup 4, after the demo's 1, 2, 3).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from engine.core import codes
from engine.core.errors import NotFound, QRadarError, Unprocessable
from engine.runtime.console import Console
from tests.support.worlds import GROUPS

Call = Callable[[Console], Awaitable[Any]]

FRAMEWORK_11 = codes.UNREADABLE_PARAMETER.unique
FRAMEWORK_10 = codes.MISSING_BODY.unique
FRAMEWORK_8 = codes.MISSING_PARAMETER.unique

RESTORE_INPUT: list[tuple[str, Call, type[QRadarError], int]] = [
    ("string backup_id", lambda c: c.create_restore("1", GROUPS), Unprocessable, FRAMEWORK_11),
    ("float backup_id", lambda c: c.create_restore(1.0, GROUPS), Unprocessable, FRAMEWORK_11),
    ("bool backup_id", lambda c: c.create_restore(True, GROUPS), Unprocessable, FRAMEWORK_11),
    (
        "groups a string",
        lambda c: c.create_restore(1, "CUSTOM_RULES_CONFIG"),
        Unprocessable,
        FRAMEWORK_11,
    ),
    ("groups a dict", lambda c: c.create_restore(1, {"a": 1}), Unprocessable, FRAMEWORK_11),
    ("group not a string", lambda c: c.create_restore(1, [1]), Unprocessable, FRAMEWORK_11),
    ("unknown group", lambda c: c.create_restore(1, ["NOPE"]), Unprocessable, 1010),
    (
        "lowercase group",
        lambda c: c.create_restore(1, ["custom_rules_config"]),
        Unprocessable,
        1010,
    ),
    ("missing backup_id", lambda c: c.create_restore(groups=GROUPS), Unprocessable, 1002),
    ("missing groups", lambda c: c.create_restore(1), Unprocessable, 1008),
    ("missing everything", lambda c: c.create_restore(), Unprocessable, 1002),
    ("None body", lambda c: c.create_restore_from(None), Unprocessable, FRAMEWORK_10),
    ("list body", lambda c: c.create_restore_from([1]), Unprocessable, FRAMEWORK_11),
    ("empty body", lambda c: c.create_restore_from({}), Unprocessable, 1002),
    ("unknown backup", lambda c: c.create_restore(404, GROUPS), Unprocessable, 1003),
    ("request unknown", lambda c: c.request_restore(1), NotFound, 1001),
    ("request None body", lambda c: c.request_restore_from(1, None), Unprocessable, FRAMEWORK_10),
    ("delete unknown", lambda c: c.delete_restore(1), NotFound, 1001),
]

BACKUP_INPUT: list[tuple[str, Call, type[QRadarError], int]] = [
    ("wrong backup_type", lambda c: c.create_backup("FULL", "b"), Unprocessable, FRAMEWORK_11),
    (
        "lowercase backup_type",
        lambda c: c.create_backup("config", "b"),
        Unprocessable,
        FRAMEWORK_11,
    ),
    ("missing backup_type", lambda c: c.create_backup(None, "b"), Unprocessable, FRAMEWORK_8),
    ("None body", lambda c: c.create_backup_from("CONFIG", None), Unprocessable, FRAMEWORK_10),
    ("string body", lambda c: c.create_backup_from("CONFIG", "b"), Unprocessable, FRAMEWORK_11),
    ("missing name", lambda c: c.create_backup("CONFIG"), Unprocessable, 1002),
    ("empty body", lambda c: c.create_backup_from("CONFIG", {}), Unprocessable, 1002),
    ("name not a string", lambda c: c.create_backup("CONFIG", 5), Unprocessable, FRAMEWORK_11),
    (
        "string configuration_id",
        lambda c: c.create_backup("CONFIG", "b", "1"),
        Unprocessable,
        FRAMEWORK_11,
    ),
    (
        "string host_id",
        lambda c: c.create_backup("CONFIG", "b", host_id="53"),
        Unprocessable,
        FRAMEWORK_11,
    ),
    (
        "description not a string",
        lambda c: c.create_backup("CONFIG", "b", description=1),
        Unprocessable,
        FRAMEWORK_11,
    ),
    ("update unknown", lambda c: c.update_backup(99, "d"), NotFound, 1001),
    ("update None body", lambda c: c.update_backup_from(1, None), Unprocessable, FRAMEWORK_10),
    ("update long description", lambda c: c.update_backup(1, "d" * 256), Unprocessable, 1008),
    (
        "lone surrogate description",
        lambda c: c.create_backup("CONFIG", "b", description="\ud800"),
        Unprocessable,
        FRAMEWORK_11,
    ),
    ("update lone surrogate", lambda c: c.update_backup(1, "x\udfff"), Unprocessable, FRAMEWORK_11),
    ("delete unknown", lambda c: c.delete_backup(99), NotFound, 1001),
]


def _ids(kind: str, cases: list[tuple[str, Call, type[QRadarError], int]]) -> list[Any]:
    return [pytest.param(*case[1:], id=f"{kind}: {case[0]}") for case in cases]


@pytest.mark.parametrize(
    ("call", "error", "code"), _ids("restore", RESTORE_INPUT) + _ids("backup", BACKUP_INPUT)
)
async def test_bad_input_changes_nothing(
    console: Console, call: Call, error: type[QRadarError], code: int
) -> None:
    """Refused, with nothing stored and no id used up."""
    before = (await console.list_restores(), await console.list_backups())
    with pytest.raises(error) as caught:
        await call(console)
    assert caught.value.code.unique == code
    assert (await console.list_restores(), await console.list_backups()) == before
    assert (await console.create_restore(1, GROUPS)).id == 1
    assert (await console.create_backup("CONFIG", "next_one")).id == 4


async def test_refused_conflicts_consume_no_id(console: Console) -> None:
    """409s decided inside the unit (1011, 1005, 1015) roll back their id and ordinal too."""
    await console.set_rule("backup", {"mode": "manual"})
    first = await console.create_restore(1, GROUPS)
    for _ in range(3):
        with pytest.raises(QRadarError):
            await console.create_restore(2, GROUPS)  # 1011
    backup = await console.create_backup("CONFIG", "b1")
    for name in ("b1", "b2", "b3"):
        with pytest.raises(QRadarError):
            await console.create_backup("CONFIG", name)  # 1005, then 1015
    await console.delete_restore(first.id)
    assert (await console.create_restore(1, GROUPS)).id == first.id + 1
    await console.step("backup", backup.id)  # INITIALIZING -> IN_PROGRESS
    await console.step("backup", backup.id)  # -> SUCCESS
    assert (await console.create_backup("CONFIG", "b2")).id == backup.id + 1


async def test_bad_rule_names_key_and_changes_nothing(console: Console) -> None:
    from engine.core.progression import RuleError

    before = (await console.state()).settings
    with pytest.raises(RuleError, match="in_progress"):
        await console.set_rule("restore", {"in_progress": "soon"})
    with pytest.raises(RuleError, match="mode"):
        await console.set_rule("restore", {"mode": "fast"})
    with pytest.raises(RuleError, match="cancelling"):
        await console.set_rule("restore", {"cancelling": "1s"})
    assert (await console.state()).settings == before
