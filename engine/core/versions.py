"""API versions of the backup_and_restore family and how QRadar reads the `Version` header.

Decision (reference section 0.1): 25.0's pages were never retrieved; it is served with the
behaviour of 24.0, and the 26.0 changes (`app_deployment_location`, 500/1021) start at 26.0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering


@total_ordering
@dataclass(frozen=True, slots=True)
class ApiVersion:
    """A `major.minor` API version; orders numerically."""

    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> ApiVersion:
        """Parse `26.0`; raise ValueError on anything else."""
        match = _VERSION_TEXT.fullmatch(text)
        if match is None:
            raise ValueError(text)
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ApiVersion):
            return NotImplemented
        return (self.major, self.minor) < (other.major, other.minor)


_VERSION_TEXT = re.compile(r"(\d{1,4})\.(\d{1,4})")

#: Every API version whose pages carry the family, oldest first (12.0 introduced it).
SUPPORTED: tuple[ApiVersion, ...] = tuple(
    ApiVersion.parse(v)
    for v in (
        "12.0", "12.1", "13.0", "13.1", "14.0", "15.0", "16.0", "17.0", "18.0", "19.0",
        "20.0", "21.0", "22.0", "23.0", "24.0", "25.0", "26.0", "27.0",
    )
)  # fmt: skip
LATEST: ApiVersion = SUPPORTED[-1]
FIRST: ApiVersion = SUPPORTED[0]

#: Versions older than the family: QRadar knows them (they are valid API versions), but no
#: backup_and_restore endpoint exists there.
KNOWN_OLDER: tuple[ApiVersion, ...] = tuple(
    ApiVersion.parse(v) for v in ("4.0", "5.0", "5.1", "6.0", "7.0", "8.0", "9.0", "10.0", "11.0")
)
#: Versions QRadar has removed: its observed message names 3.0 as removed.
REMOVED: tuple[ApiVersion, ...] = tuple(ApiVersion.parse(v) for v in ("1.0", "2.0", "3.0", "3.1"))

#: What QRadar marks deprecated: a release supports its own version and about two before it.
DEPRECATED_BELOW: ApiVersion = ApiVersion(25, 0)


class VersionNotValid(ValueError):
    """The header names no version QRadar knows."""


class VersionRemoved(ValueError):
    """The header names a version QRadar has removed."""


@dataclass(frozen=True, slots=True)
class VersionChoice:
    """The version a request is served with, and the text the client sent."""

    version: ApiVersion
    requested: str | None

    @property
    def deprecated(self) -> bool:
        return self.version < DEPRECATED_BELOW


def choose(header: str | None) -> VersionChoice:
    """Read a `Version` header the way QRadar does (reference section 1.3).

    Absent: the latest. A major alone: the latest minor of that major. A version newer than the
    newest: the newest. Older known versions are returned as they are (their endpoints do not
    exist; the router answers for that). Removed versions (up to 3.1): VersionRemoved; anything
    else: VersionNotValid.
    """
    if header is None or header.strip() == "":
        return VersionChoice(LATEST, None)
    text = header.strip()
    if text.isdigit() and len(text) <= 4:
        major = int(text)
        within = [v for v in (*KNOWN_OLDER, *SUPPORTED) if v.major == major]
        if within:
            return VersionChoice(max(within), text)
        if major > LATEST.major:
            return VersionChoice(LATEST, text)
        if any(v.major == major for v in REMOVED):
            raise VersionRemoved(text)
        raise VersionNotValid(text)
    try:
        version = ApiVersion.parse(text)
    except ValueError:
        raise VersionNotValid(text) from None
    if version in SUPPORTED or version in KNOWN_OLDER:
        return VersionChoice(version, text)
    if version > LATEST and version.minor == 0:
        return VersionChoice(LATEST, text)
    if version in REMOVED:
        raise VersionRemoved(text)
    raise VersionNotValid(text)
