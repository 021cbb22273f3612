"""Every setting of `bre serve`, declared once in `OPTIONS`.

Each entry gives its flag, environment variable and config-file key, its `--help` line with
its default, and its row of the README's table (`markdown_table`); the command line, `--config`
files and `Settings.from_env` all read values through it, so a bad value is one line naming
where it came from, the value and what is allowed. Adding a setting is adding an entry.

Defaults are not written here: they are those of the dataclass a setting fills (`Settings`,
`Listen`, `ConnectionLimits`), read when `--help` or the README table is written, unless the
entry gives the default `bre serve` uses instead (the real clock).
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from engine.core.frozen import record

#: Which object a setting fills: the simulator's `Settings`, where `bre serve` listens, its
#: connection limits, or the command itself.
Owner = Literal["settings", "listen", "limits", "serve"]
Reader = Callable[[Any, str], Any]


class SettingsError(ValueError):
    """A configuration value that cannot be used: one line naming where it came from, the
    value, and what is allowed (`bre` prints it and exits with status 2)."""


def _fail(where: str, value: Any, allowed: str) -> SettingsError:
    """`where` shows the value as `%r` (quoted) or `%s` (as typed on a command line)."""
    shown = where.replace("%r", repr(value)).replace("%s", str(value))
    return SettingsError(f"{shown}: expected {allowed}")


def integer(minimum: int, maximum: int) -> Reader:
    def read(value: Any, where: str) -> int:
        allowed = f"an integer from {minimum} to {maximum}"
        if isinstance(value, bool):
            raise _fail(where, value, allowed)
        try:
            number = int(value, 10) if isinstance(value, str) else int(value)
        except (TypeError, ValueError):
            raise _fail(where, value, allowed) from None
        if isinstance(value, float) and value != number:
            raise _fail(where, value, allowed)
        if not minimum <= number <= maximum:
            raise _fail(where, value, allowed)
        return number

    return read


def seconds(minimum: float, maximum: float) -> Reader:
    def read(value: Any, where: str) -> float:
        allowed = f"a number of seconds above {minimum:g}, at most {maximum:g}"
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            raise _fail(where, value, allowed) from None
        if not minimum < number <= maximum:  # also NaN and infinity
            raise _fail(where, value, allowed)
        return number

    return read


def choice(*allowed: str) -> Reader:
    def read(value: Any, where: str) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise _fail(where, value, f"one of {', '.join(allowed)}")
        return value

    read.allowed = allowed  # type: ignore[attr-defined]  # the metavar shows them
    return read


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def boolean(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise _fail(where, value, f"true or false ({', '.join(_TRUE)} / {', '.join(_FALSE)})")


def text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value or any(c in value for c in "\r\n\x00"):
        raise _fail(where, value, "a non-empty line of text")
    return value


def tokens(value: Any, where: str) -> tuple[str, ...]:
    """A list: comma-separated in a variable, repeated flags, a YAML list in a config file."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(t, str) for t in items):
        raise _fail(where, value, "a list of tokens (comma-separated in a variable)")
    return tuple(t for t in (t.strip() for t in items) if t)


def _mapping(value: Any, where: str) -> Any:
    """A structure as in scenario files: YAML (or JSON) text on the command line or in a
    variable, a mapping in a config file."""
    if isinstance(value, str):
        import yaml  # here: only a setting given as text needs it (start-up cost otherwise)

        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            raise _fail(where, value, "a YAML or JSON mapping") from None
    if not isinstance(value, Mapping):
        raise _fail(where, value, "a YAML or JSON mapping")
    return value


def _label(where: str, key: str) -> str:
    """`where` without the value (nor the key, which the error's path names): `--world`,
    `BRE_WORLD`, `--config FILE`."""
    label = where.replace("%r", "").replace("%s", "").rstrip(" :=")
    return label.removesuffix(f": {key}")


def world(value: Any, where: str) -> Any:
    """A `World`, read as the scenario format writes one."""
    from engine.control.schema import ControlError
    from engine.control.world import read_world

    try:
        return read_world(_mapping(value, where))
    except ControlError as error:
        raise SettingsError(f"{_label(where, 'world')}: {error}") from None


def rules(value: Any, where: str) -> Any:
    """Progression rules of both kinds, as the `engine` key of scenarios writes them."""
    from engine.control.progression import checked_rules
    from engine.control.schema import ControlError

    try:
        return checked_rules(_mapping(value, where))
    except ControlError as error:
        raise SettingsError(f"{_label(where, 'rules')}: {error}") from None


def release(value: Any, where: str) -> str:
    """A QRadar release of IBM's table, by any of its spellings (`7.5.0 UP6`)."""
    from engine.core.releases import RELEASES, read_release

    try:
        return read_release(value).name
    except ValueError:
        raise _fail(
            where, value, f"a QRadar release: {', '.join(r.name for r in RELEASES)}"
        ) from None


@record
class Option:
    """One setting: config-file key `key`, flag `--key-with-dashes`, variable `BRE_KEY`,
    unless named otherwise; it sets `field` (default: `key`) of its `owner`."""

    key: str
    help: str
    read: Reader
    owner: Owner = "settings"
    field: str = ""
    flag: str = ""
    env: str = ""
    metavar: str = ""
    #: the default `bre serve` uses when it differs from the owner's (None: the owner's)
    serve_default: Any = None
    #: how the default reads when its value does not say it (e.g. 0 meaning "computed")
    shown: str = ""
    #: a switch: the flag takes no value and sets this one
    switch: bool | None = None
    repeat: bool = False  # the flag may be given several times (a list)

    @property
    def name(self) -> str:
        return self.field or self.key

    @property
    def flag_name(self) -> str:
        return self.flag or "--" + self.key.replace("_", "-")

    @property
    def env_name(self) -> str:
        return self.env or "BRE_" + self.key.upper()

    def default(self) -> Any:
        if self.serve_default is not None or self.owner == "serve":
            return self.serve_default
        return getattr(_owner_defaults(self.owner), self.name)

    def shown_default(self) -> str:
        if self.shown:
            return self.shown
        value = self.default()
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, tuple):
            return ",".join(value) or "none"
        if value is None:
            return "none"
        return f"{value:g}" if isinstance(value, float) else str(value)


OPTIONS: tuple[Option, ...] = (
    Option("host", "the address to listen on", text, "listen", metavar="ADDRESS"),
    Option(
        "port",
        "the port to listen on; 0 picks a free one (printed in the ready line)",
        integer(0, 65535),
        "listen",
        metavar="N",
    ),
    Option(
        "db",
        "the store URL: an SQLite file (PATH, sqlite:PATH), :memory: (SQLite in RAM), "
        "memory: (dicts), postgresql://...",
        text,
        metavar="URL",
    ),
    Option(
        "tokens",
        "SEC token of the default console (repeatable; comma-separated in the variable)",
        tokens,
        flag="--token",
        metavar="TOKEN",
        repeat=True,
    ),
    Option(
        "admin_token",
        "the control surface's credential (Authorization: Bearer); none: a "
        "random one, printed in the ready line",
        text,
        metavar="TOKEN",
    ),
    Option(
        "control_auth",
        "whether /simulator needs the admin credential (off: loopback --host only)",
        boolean,
        flag="--no-control-auth",
        switch=False,
    ),
    Option(
        "clock",
        "real, or virtual (moves only when told to)",
        choice("real", "virtual"),
        serve_default="real",
    ),
    Option(
        "autojump",
        "a virtual clock jumps to the next deadline when nothing else happens",
        boolean,
        flag="--autojump",
        switch=True,
    ),
    Option("seed", "the seed of outcome draws", integer(-(2**63), 2**63 - 1), metavar="N"),
    Option("recovery", "what jobs in flight become after a restart", choice("resume", "fail")),
    Option(
        "scan_interval_s",
        "seconds between looks at a database other processes share",
        seconds(0, 3600),
        flag="--scan-interval",
        env="BRE_SCAN_INTERVAL",
        metavar="S",
    ),
    Option(
        "sample_keys",
        "also emit IBM's sample keys intiated_by and build_version on backups",
        boolean,
        flag="--sample-keys",
        switch=True,
    ),
    Option(
        "world",
        "the default console's world on first start, as in scenarios (YAML)",
        world,
        metavar="YAML",
        shown="the demo world",
    ),
    Option(
        "rules",
        "progression rules, as the engine key of scenarios (YAML)",
        rules,
        metavar="YAML",
        shown="auto, served durations",
    ),
    Option(
        "journal_entries", "requests kept in each console's journal", integer(0, 2**31), metavar="N"
    ),
    Option(
        "journal_header_bytes",
        "header bytes kept per journal entry (values cut)",
        integer(0, 2**31),
        metavar="N",
    ),
    Option(
        "journal_bytes",
        "journal bytes per console (what Python holds); the oldest entries go first. "
        "The largest part of a console's memory when served: docs/decisions.md",
        integer(0, 2**40),
        metavar="N",
    ),
    Option(
        "control_body_bytes",
        "the largest control request body: 413 beyond, unparsed",
        integer(0, 2**31),
        metavar="N",
    ),
    Option(
        "release",
        "the default console's QRadar release when it is created (IBM's table, "
        "e.g. '7.5.0 UP6'; an existing console keeps its own)",
        release,
        metavar="NAME",
        shown="the newest",
    ),
    Option(
        "sessions",
        "open /api sessions (a Basic login's SEC cookie) per process, the least "
        "recently used closed first; 0: none",
        integer(0, 1_000_000),
        metavar="N",
    ),
    Option(
        "session_idle_s",
        "seconds of the console's clock a session lasts without a request",
        integer(1, 10 * 365 * 86_400),
        flag="--session-idle",
        env="BRE_SESSION_IDLE",
        metavar="S",
    ),
    Option(
        "page_streams",
        "the web page's live event streams open at once: 503 beyond",
        integer(0, 2**16),
        metavar="N",
    ),
    Option(
        "page_idle_s",
        "seconds without a change after which a page's event stream ends",
        seconds(0, 86_400),
        metavar="S",
    ),
    Option(
        "header_timeout",
        "seconds a request's headers may take; then the connection closes",
        seconds(0, 86_400),
        "limits",
        "header_timeout_s",
        metavar="S",
    ),
    Option(
        "body_timeout",
        "seconds a request's body may take",
        seconds(0, 86_400),
        "limits",
        "body_timeout_s",
        metavar="S",
    ),
    Option(
        "keep_alive",
        "seconds an idle connection is kept open",
        seconds(0, 86_400),
        "limits",
        "keep_alive_s",
        metavar="S",
    ),
    Option(
        "max_header_bytes",
        "bytes of a request's headers: 431 beyond",
        integer(1, 2**24),
        "limits",
        metavar="N",
    ),
    Option(
        "max_connections",
        "open connections per process: more are closed at once",
        integer(0, 2**20),
        "limits",
        metavar="N",
        shown="0: the descriptor limit less 64, at most 4096",
    ),
    Option(
        "tls",
        "serve HTTPS with a test CA and certificate made at start (its file: ca= in "
        "the ready line)",
        boolean,
        "serve",
        flag="--tls",
        switch=True,
        serve_default=False,
    ),
    Option(
        "certfile",
        "serve HTTPS with this PEM certificate (and chain)",
        text,
        "serve",
        metavar="PEM",
        shown="none",
    ),
    Option(
        "keyfile",
        "the private key of --certfile, if not in that file",
        text,
        "serve",
        metavar="PEM",
        shown="none",
    ),
    Option(
        "workers",
        "processes serving one port on the shared database (needs a file or "
        "PostgreSQL; --clock real unless PostgreSQL)",
        integer(1, 64),
        "serve",
        metavar="N",
        serve_default=1,
    ),
    Option(
        "cpu", "pin the process to one CPU", integer(0, 4095), "serve", metavar="N", shown="none"
    ),
    Option(
        "log_format",
        "logs as JSON, for a terminal, or JSON when not on a terminal",
        choice("auto", "json", "console"),
        "serve",
        serve_default="auto",
    ),
    Option(
        "log_level",
        "the least level logged",
        choice("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
        "serve",
        serve_default="INFO",
    ),
)
BY_KEY = {option.key: option for option in OPTIONS}
#: `--config FILE` (or `BRE_CONFIG`): the one setting that is no config-file key.
CONFIG_ENV = "BRE_CONFIG"


def _owner_defaults(owner: Owner) -> Any:
    """The dataclass whose defaults an owner's settings have (`serve`'s are in `OPTIONS`)."""
    if owner == "settings":
        from engine.simulator import Settings

        return Settings()
    if owner == "limits":
        from engine.api.connections import ConnectionLimits

        return ConnectionLimits()
    if owner == "listen":
        from engine.server import Listen

        return Listen()
    raise ValueError(owner)


def help_line(option: Option) -> str:
    """The option's `--help` line: what it sets, its default, its variable and key."""
    return (
        f"{option.help} (default: {option.shown_default()}; env {option.env_name}; "
        f"config {option.key})"
    )


class HelpFormatter(argparse.HelpFormatter):
    """Writes an option's help line (with its default) only when `--help` is printed: the
    defaults come from modules that `bre` need not import otherwise."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        option = BY_KEY.get(action.dest)
        if option is not None and action.help == _LAZY:
            return help_line(option).replace("%", "%%")
        return action.help


_LAZY = "(written by HelpFormatter)"


def _metavar(option: Option) -> str:
    allowed = getattr(option.read, "allowed", None)
    if allowed:
        return "{" + ",".join(allowed) + "}"
    return option.metavar or option.key.upper()


def add_arguments(parser: Any) -> None:
    """The flags of `OPTIONS` on an argparse parser (or group), each read raw (None when not
    given) so that `resolve` checks it as it checks variables and config keys; use
    `HelpFormatter` for their help."""
    for option in OPTIONS:
        kwargs: dict[str, Any] = {"dest": option.key, "default": None, "help": _LAZY}
        if option.switch is not None:
            kwargs.update(action="store_const", const=option.switch)
        else:
            kwargs.update(metavar=_metavar(option))
            if option.repeat:
                kwargs["action"] = "append"
        parser.add_argument(option.flag_name, **kwargs)


def from_env(environ: Mapping[str, str], owners: Iterable[Owner]) -> dict[str, Any]:
    """Values of the `BRE_*` variables of the options of `owners`, by field name (an empty
    variable is an unset one)."""
    wanted = set(owners)
    values: dict[str, Any] = {}
    for option in OPTIONS:
        raw = environ.get(option.env_name)
        if option.owner in wanted and raw:
            values[option.name] = option.read(raw, f"{option.env_name}=%r")
    return values


def from_config(path: str) -> dict[str, Any]:
    """The keys of a YAML config file, each read through its option, by field name."""
    import yaml  # here: only a config file needs it (start-up cost otherwise)

    try:
        with open(path, encoding="utf-8") as file:
            data = yaml.safe_load(file) or {}
    except (OSError, yaml.YAMLError) as error:
        raise SettingsError(f"--config {path}: {error}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"--config {path}: expected a mapping of settings")
    values: dict[str, Any] = {}
    for key, value in data.items():
        option = BY_KEY.get(key)
        if option is None:
            raise SettingsError(
                f"--config {path}: {key!r} is not a setting (keys: {', '.join(BY_KEY)})"
            )
        values[option.name] = option.read(value, f"--config {path}: {key}: %r")
    return values


@record
class Resolved:
    """The values given (by field name, per owner); what is not given keeps its default."""

    settings: dict[str, Any]
    listen: dict[str, Any]
    limits: dict[str, Any]
    serve: dict[str, Any]

    def serve_value(self, key: str) -> Any:
        option = BY_KEY[key]
        return self.serve.get(option.name, option.default())


def resolve(
    flags: Mapping[str, Any], config: str | None = None, environ: Mapping[str, str] | None = None
) -> Resolved:
    """Defaults, then `BRE_*` variables, then the config file, then flags."""
    environ = os.environ if environ is None else environ
    values = from_env(environ, ("settings", "listen", "limits", "serve"))
    config = config or environ.get(CONFIG_ENV) or None
    if config:
        values.update(from_config(config))
    for option in OPTIONS:
        raw = flags.get(option.key)
        if raw is None:
            continue
        if option.repeat:
            raw = list(raw)
        values[option.name] = option.read(raw, f"{option.flag_name} %s")
    parts: dict[str, dict[str, Any]] = {"settings": {}, "listen": {}, "limits": {}, "serve": {}}
    for option in OPTIONS:
        if option.name in values:
            parts[option.owner][option.name] = values[option.name]
        elif option.serve_default is not None:
            parts[option.owner][option.name] = option.serve_default
    return Resolved(**parts)


def markdown_table() -> str:
    """The README's table of settings, from `OPTIONS`."""
    lines = [
        "| config key | flag | environment | default | what it sets |",
        "|---|---|---|---|---|",
    ]
    for option in OPTIONS:
        flag = option.flag_name
        if option.switch is None:
            flag += f" {_metavar(option)}"
        lines.append(
            f"| `{option.key}` | `{flag}` | `{option.env_name}` | "
            f"{option.shown_default()} | {option.help} |"
        )
    return "\n".join(lines) + "\n"
