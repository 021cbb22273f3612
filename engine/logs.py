"""structlog, configured once: JSON lines when served or piped, readable in a terminal."""

from __future__ import annotations

import logging
import sys
from typing import Literal

Format = Literal["auto", "json", "console"]


def resolved(format: Format) -> Literal["json", "console"]:
    """`auto`: readable in a terminal, JSON lines when served or piped."""
    if format == "auto":
        return "console" if sys.stderr.isatty() else "json"
    return format


#: What structlog imports eagerly if it can, but the JSON lines of a server never use: rich
#: (renders tracebacks in a terminal; a third of the start-up of `bre serve`) and greenlet
#: (for its deprecated `threadlocal` module).
_UNUSED_WHEN_JSON = ("rich", "greenlet")


def load_structlog(format: Format) -> None:
    """Import structlog first thing, without `_UNUSED_WHEN_JSON` when the logs are JSON lines.
    Later imports of those modules are not affected."""
    if "structlog" in sys.modules or resolved(format) == "console":
        return
    blocked = [name for name in _UNUSED_WHEN_JSON if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # "import rich" fails: absent
    try:
        import structlog  # noqa: F401
    finally:
        for name in blocked:
            del sys.modules[name]


def configure(format: Format = "auto", level: str = "INFO") -> None:
    import structlog

    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"log level {level!r} is not DEBUG, INFO, WARNING or ERROR")
    format = resolved(format)
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if format == "json" else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


def quiet() -> None:
    """Drop everything below WARNING (benchmarks, load runs)."""
    configure("json", "WARNING")
