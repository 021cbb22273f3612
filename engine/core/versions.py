"""Every QRadar API version, and how a console reads the `Version` header.

A console knows the versions up to its release's newest (`engine.core.releases`); this module
holds the list of all of them and the reading of the header given that newest version. Which
of them a release marks deprecated is the release's fact, not this module's.

Sources (docs/decisions.md, "API versions"): IBM's table "QRadar and API versions"
(https://www.ibm.com/docs/en/qradar-common?topic=api-endpoint-documentation-supported-versions,
12.0-27.0); the QRadar 7.3.0 and 7.3.1 API guides (REST API V8.0, V9.0 references); the
`ibm.qradar` Ansible collection, which sends `Version: 9.1` on every call
(ansible-collections/ibm.qradar plugins/module_utils/qradar.py) and cites IBM's
`9.2--staged_config-deploy_status-POST.html`; Cortex XSOAR's QRadar v3 ("Minimum API version is
10.1", demisto/content Packs/QRadar/Integrations/QRadar_v3/README.md); QRadar's observed
message naming 3.0 as removed (reference section 1.3).

Decision (reference section 0.1): 25.0's pages were never retrieved; it is served with the
behaviour of 24.0, and the 26.0 changes (`app_deployment_location`, 500/1021) start at 26.0.
"""

from __future__ import annotations

import re

from engine.core.frozen import record


@record(order=True)
class ApiVersion:
    """A `major.minor` API version; orders numerically (as the tuple of its fields: each
    comparison is one method, where `functools.total_ordering` made three calls of some)."""

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


_VERSION_TEXT = re.compile(r"([0-9]{1,4})\.([0-9]{1,4})")

#: Every QRadar API version, oldest first: 1.0 (QRadar 7.2.0) to 27.0 (7.5.0 UP14).
ALL: tuple[ApiVersion, ...] = tuple(
    ApiVersion.parse(v)
    for v in (
        "1.0",
        "2.0",
        "3.0",
        "4.0",
        "5.0",
        "5.1",
        "6.0",
        "7.0",
        "8.0",
        "8.1",
        "9.0",
        "9.1",
        "9.2",
        "10.0",
        "10.1",
        "11.0",
        "12.0",
        "12.1",
        "13.0",
        "13.1",
        "14.0",
        "15.0",
        "16.0",
        "17.0",
        "18.0",
        "19.0",
        "20.0",
        "21.0",
        "22.0",
        "23.0",
        "24.0",
        "25.0",
        "26.0",
        "27.0",
    )
)
#: Versions QRadar has removed (422 "has been removed"): its observed message names 3.0.
REMOVED: frozenset[ApiVersion] = frozenset(ApiVersion.parse(v) for v in ("1.0", "2.0", "3.0"))
#: The version that introduced the backup_and_restore family (its 12.0 "what's new" page).
FIRST = ApiVersion(12, 0)
V21 = ApiVersion(21, 0)
#: added `app_deployment_location` on the backup list and 500/1021
V26 = ApiVersion(26, 0)
#: The versions whose pages carry the family, oldest first.
SUPPORTED: tuple[ApiVersion, ...] = tuple(v for v in ALL if v >= FIRST)
#: The newest version of the newest release.
LATEST: ApiVersion = ALL[-1]


class VersionNotValid(ValueError):
    """The header names no version the console knows."""


class VersionRemoved(ValueError):
    """The header names a version QRadar has removed."""


def known(newest: ApiVersion = LATEST) -> tuple[ApiVersion, ...]:
    """The versions a console whose newest version is `newest` knows (removed ones too)."""
    return tuple(v for v in ALL if v <= newest)


def choose(header: str | None, newest: ApiVersion = LATEST) -> ApiVersion:
    """Read a `Version` header the way a console whose newest version is `newest` does.

    Absent or blank: the newest. A major alone (`26`): the newest minor of that major. A
    version the console knows: itself (an endpoint that did not exist yet in it is the
    router's answer). A removed one: VersionRemoved. Anything else, a version above the
    console's newest included (`28.0`, `9999.0`, `28`): VersionNotValid, as QRadar answers
    `322.0123` (reference section 1.3).
    """
    if header is None or header.strip() == "":
        return newest
    text = header.strip()
    versions = known(newest)
    if text.isascii() and text.isdigit() and len(text) <= 4:
        within = [v for v in versions if v.major == int(text)]
        if not within:
            raise VersionNotValid(text)
        if all(v in REMOVED for v in within):
            raise VersionRemoved(text)
        return max(v for v in within if v not in REMOVED)
    try:
        version = ApiVersion.parse(text)
    except ValueError:
        raise VersionNotValid(text) from None
    if version not in versions:
        raise VersionNotValid(text)
    if version in REMOVED:
        raise VersionRemoved(text)
    return version
