"""The inputs of the control surface besides the control language: consoles, their credentials
and seeds, tokens, and the clock.

Declared once with the schema vocabulary; `/simulator/*` reads its bodies with these, the
embedded `Simulator` checks its arguments with them, and the OpenAPI document publishes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.control.progression import RULES
from engine.control.schema import (
    Boolean,
    Constant,
    ControlError,
    Duration,
    Integer,
    ListOf,
    Nullable,
    Obj,
    OneOf,
    Pair,
    Text,
    child,
)
from engine.control.world import INSTANT, WORLD
from engine.core.releases import RELEASES, read_release

#: How many credentials of each kind one request may give a console.
MAX_CREDENTIALS = 100

SEED = Integer(description="Seeds random outcomes: the same seed gives the same story.")
CONSOLE_ID = Text(
    min_length=1,
    max_length=64,
    pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
    meaning="a console id (letters, digits, `_`, `.`, `-`)",
    description="A console id; `current` names the caller's console in paths.",
)
TOKEN = Text(
    min_length=1,
    max_length=256,
    pattern=r"^[!-~]+$",
    meaning="a token of visible ASCII characters",
    description="A SEC token.",
)
BASIC_USER = Text(
    min_length=1,
    max_length=256,
    pattern=r"^[^:\x00-\x1f\x7f]+$",
    meaning="a user name (printable, without a colon)",
)
BASIC_PASSWORD = Text(max_length=256)
BASIC = Pair(BASIC_USER, BASIC_PASSWORD, description="Basic credentials: [user, password].")
CLOCK_KIND = OneOf(("virtual", "real"), description="The console's clock.")


RELEASE = Text(
    min_length=1,
    max_length=64,
    description="The QRadar release the console runs (`7.5.0 UP6`; default: the newest): its "
    "API versions, deprecations and `/api/system/about`. Choices: "
    + ", ".join(r.name for r in RELEASES)
    + ".",
)
TOKEN_NAME = Text(
    min_length=1,
    max_length=64,
    description="The authorized service's label: records it makes show `API_user: <label>`.",
)


def _check_console(data: dict[str, Any], path: str) -> None:
    """`current` names the caller's console in paths, so no console may have it as its id; a
    secret selects one credential, so a token cannot be both admin and not; a release is one
    of IBM's table."""
    if data.get("id") == "current":
        raise ControlError(child(path, "id"), "`current` names the caller's console in paths")
    if "release" in data:
        try:
            read_release(data["release"])
        except ValueError as error:
            raise ControlError(child(path, "release"), str(error)) from None
    admin = set(data.get("tokens", ()))
    for i, token in enumerate(data.get("non_admin_tokens", ())):
        if token in admin:
            raise ControlError(f"{child(path, 'non_admin_tokens')}[{i}]", "given as a token too")


CONSOLE = Obj(
    {
        "id": CONSOLE_ID,
        "tokens": ListOf(
            TOKEN,
            max_items=MAX_CREDENTIALS,
            unique=True,
            description="Admin SEC tokens (default: one generated).",
        ),
        "non_admin_tokens": ListOf(
            TOKEN,
            max_items=MAX_CREDENTIALS,
            unique=True,
            description="Tokens without the admin capability (403/26).",
        ),
        "basic": ListOf(BASIC, max_items=MAX_CREDENTIALS, unique=True),
        "world": WORLD,
        "seed": SEED,
        "rules": RULES,
        "clock": CLOCK_KIND,
        "release": RELEASE,
    },
    check=_check_console,
    description="A new isolated console; every key is optional.",
)


def check_console(
    id: str | None,
    *,
    tokens: Sequence[str],
    non_admin_tokens: Sequence[str],
    basic: Sequence[tuple[str, str]],
    seed: int | None,
    rules: Mapping[str, Any] | None,
    clock: str | None,
    release: str | None = None,
) -> None:
    """The arguments of `Simulator.create_console`, checked as the HTTP body would be."""
    given: dict[str, Any] = {"tokens": tokens, "non_admin_tokens": non_admin_tokens, "basic": basic}
    for key, value in (
        ("id", id),
        ("seed", seed),
        ("rules", rules),
        ("clock", clock),
        ("release", release),
    ):
        if value is not None:
            given[key] = value
    CONSOLE.read(given, "")


TOKEN_REQUEST = Obj(
    {
        "token": TOKEN,
        "admin": Boolean(description="With the admin capability (default)."),
        "name": TOKEN_NAME,
    },
    required=("token",),
    description="A SEC token for the console; a token of another console is refused.",
)


def _limit_with_next(data: dict[str, Any], path: str) -> None:
    if "limit_ms" in data and "next" not in data:
        raise ControlError(child(path, "limit_ms"), "only with {next: true}")


CLOCK_REQUEST = Obj(
    {
        "advance": Duration(description="Move the clock forward; due work runs."),
        "set": INSTANT,
        "next": Constant(description="Jump to the next engine deadline."),
        "limit_ms": Nullable(INSTANT, description="With next: not past this instant."),
    },
    exactly_one_of=("advance", "set", "next"),
    check=_limit_with_next,
    description="Move a virtual clock: one of advance, set, next.",
)
