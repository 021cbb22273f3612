"""Store URLs as the rest of the simulator may look at them, without loading any driver."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

SCHEMES = ("postgresql://", "postgres://")


def is_postgres(url: str) -> bool:
    """Whether a `--db` value names a PostgreSQL database."""
    return url.startswith(SCHEMES)


def redacted(url: str) -> str:
    """The URL without its password: what logs, errors and readiness may show."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
