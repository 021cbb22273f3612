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


def load_structlog(format: Format) -> None:
    """Import structlog first thing, without rich when the logs are JSON lines: rich only
    renders tracebacks in a terminal, and structlog imports it eagerly (a third of the start-up
    of `bre serve`). Later imports of rich are not affected."""
    if "structlog" in sys.modules or resolved(format) == "console":
        return
    blocked = "rich" not in sys.modules
    if blocked:
        sys.modules["rich"] = None  # type: ignore[assignment]  # "import rich" fails: absent
    try:
        import structlog  # noqa: F401
    finally:
        if blocked:
            del sys.modules["rich"]


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
