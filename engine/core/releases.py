"""QRadar releases: the API versions each one serves, and what `/api/system/about` shows.

A console runs one release. Its newest API version bounds the versions it knows (a `Version`
above it answers 422 "not a valid version"), its supported list says which of them are not
deprecated, and `/api/system/about` names it the way QRadar does: clients read that answer to
choose the `Version` they send.

Sources:
- releases, introduced, supported and deprecated versions: IBM's table "QRadar and API
  versions" (https://www.ibm.com/docs/en/qradar-common?topic=api-endpoint-documentation-supported-versions
  for 7.4.0-7.5.0 UP6, and its German copy
  https://www.ibm.com/docs/de/SS42VS_SHR/com.ibm.qradarapi.doc/c_rest_api_getting_started.html
  for UP7-UP14). The table has no rows for 7.5.0 UP4 and UP5; UP12 and UP13 share one row.
- `/api/system/about`: IBM's page 26.0--system-about-GET (fields `build_version`,
  `external_version`, `fips_enabled`, `release_name`); consoles observed to answer
  `{"release_name": "7.5.0 UpdatePackage 6", "build_version": "2021.6.6.20230519190832",
  "fips_enabled": false, "external_version": "7.5.0"}` (zoldax/NHSuite qradarzoldaxlib.py) and
  `{"release_name":"7.3.3","build_version":"2019.14.0.20191031163225","external_version":"7.3.3"}`
  (diaryofarjun.com "QRadar REST APIs with Python"); content exports carry the build of UP12
  (`2021.6.12.20250509154206`) and UP14 (`2021.6.14.20251017194912`).
- The rest (the release_name of a fix pack, the builds nobody published, `fips_enabled`) is
  decided in docs/decisions.md, "Releases".
"""

from __future__ import annotations

import re
from typing import Any

from engine.core import versions
from engine.core.frozen import record
from engine.core.versions import ApiVersion

V = ApiVersion.parse


@record
class Release:
    """One row of IBM's table, with what `/api/system/about` shows for it."""

    name: str  # the simulator's short name: "7.4.0 FP1", "7.5.0 UP6"
    external_version: str  # "7.5.0"
    fix: int  # the update package (7.5.0) or fix pack (7.4.0) number; 0 for the release itself
    newest: ApiVersion  # "Introduced REST API version"
    supported: tuple[ApiVersion, ...]  # "Supported REST API versions"
    deprecated_column: str  # "Deprecated REST API versions", as the table prints it
    build_version: str
    fips_enabled: bool = False

    @property
    def release_name(self) -> str:
        """As `/api/system/about` prints it: `7.5.0 UpdatePackage 6`, `7.4.3`."""
        if self.fix == 0:
            return self.external_version
        kind = "UpdatePackage" if self.external_version == "7.5.0" else "FixPack"
        return f"{self.external_version} {kind} {self.fix}"

    @property
    def known(self) -> tuple[ApiVersion, ...]:
        """Every version this console knows, oldest first (removed ones too)."""
        return versions.known(self.newest)

    def deprecated(self, version: ApiVersion) -> bool:
        """Known, and of a major the table's deprecated column covers (`17.x`: 17 and below;
        removed versions were deprecated before). On 7.4.0, 11.0 is neither listed supported
        nor deprecated: 7.4.1's row deprecates 11.x, so 7.4.0 serves it undeprecated."""
        return version <= self.newest and version.major <= int(self.deprecated_column.split(".")[0])

    def removed(self, version: ApiVersion) -> bool:
        return version in versions.REMOVED

    def choose(self, header: str | None) -> ApiVersion:
        """The version a request is served with (`versions.choose` on this release)."""
        return versions.choose(header, self.newest)

    def about(self) -> dict[str, Any]:
        """The body of `GET /api/system/about`, in the key order consoles were seen to send."""
        return {
            "release_name": self.release_name,
            "build_version": self.build_version,
            "fips_enabled": self.fips_enabled,
            "external_version": self.external_version,
        }


def _release(
    name: str, fix: int, newest: str, supported: str, deprecated: str, build: str = ""
) -> Release:
    external = name.split()[0]
    if not build:  # no published build: the internal version, and no build stamp (decisions.md)
        build = f"2021.6.{fix}.0" if external == "7.5.0" else f"{external}.{fix}"
    return Release(
        name, external, fix, V(newest), tuple(V(v) for v in supported.split()), deprecated, build
    )


#: IBM's table, oldest release first.
RELEASES: tuple[Release, ...] = (
    _release("7.4.0", 0, "13.0", "13.0 12.1 12.0", "10.x"),
    _release("7.4.0 FP1", 1, "13.1", "13.1 13.0 12.1 12.0", "10.x"),
    _release("7.4.1", 0, "14.0", "14.0 13.1 13.0 12.1 12.0", "11.x"),
    _release("7.4.2", 0, "15.0", "15.0 14.0 13.1 13.0", "12.x"),
    _release("7.4.3", 0, "16.0", "16.0 15.0 14.0", "13.x"),
    _release("7.5.0", 0, "17.0", "17.0 16.0 15.0", "14.x"),
    _release("7.5.0 UP2", 2, "18.0", "18.0 17.0 16.0", "15.x"),
    _release("7.5.0 UP3", 3, "19.0", "19.0 18.0 17.0", "16.x"),
    _release("7.5.0 UP6", 6, "20.0", "20.0 19.0 18.0", "17.x", "2021.6.6.20230519190832"),
    _release("7.5.0 UP7", 7, "21.0", "21.0 20.0 19.0", "18.x"),
    _release("7.5.0 UP8", 8, "22.0", "22.0 21.0 20.0", "19.x"),
    _release("7.5.0 UP9", 9, "23.0", "23.0 22.0 21.0", "20.x"),
    _release("7.5.0 UP10", 10, "24.0", "24.0 23.0 22.0", "21.x"),
    _release("7.5.0 UP11", 11, "25.0", "25.0 24.0 23.0", "22.x"),
    _release("7.5.0 UP12", 12, "26.0", "26.0 25.0 24.0", "23.x", "2021.6.12.20250509154206"),
    _release("7.5.0 UP13", 13, "26.0", "26.0 25.0 24.0", "23.x"),
    _release("7.5.0 UP14", 14, "27.0", "27.0 26.0 25.0", "24.x", "2021.6.14.20251017194912"),
)
BY_NAME: dict[str, Release] = {r.name: r for r in RELEASES}
#: A console created without a release runs the newest.
DEFAULT: Release = RELEASES[-1]
#: What the newest release marks deprecated: every version below its oldest supported one
#: (for texts about the newest release; a console asks its own, `Release.deprecated`).
DEPRECATED_BELOW: ApiVersion = min(DEFAULT.supported)


def _key(text: str) -> str:
    """`7.5.0 Update Package 6`, `7.5.0 UpdatePackage 6`, `7.5.0up6` -> `7.5.0up6`."""
    key = re.sub(r"\s+", "", text).lower()
    return key.replace("updatepackage", "up").replace("fixpack", "fp")


_SPELLINGS: dict[str, Release] = {
    **{_key(r.name): r for r in RELEASES},
    **{_key(r.release_name): r for r in RELEASES},
}


def read_release(value: Any) -> Release:
    """A release from its name: `7.5.0 UP6`, or as `/api/system/about` prints it (`7.5.0
    UpdatePackage 6`), or IBM's table (`7.5.0 Update Package 6`, `7.4.0 Fix Pack 1`); case and
    spaces do not matter. Anything else raises ValueError naming the value and the choices."""
    if isinstance(value, Release):
        return value
    if isinstance(value, str) and len(value) <= 64:
        found = _SPELLINGS.get(_key(value))
        if found is not None:
            return found
    choices = ", ".join(r.name for r in RELEASES)
    raise ValueError(f"release {value!r} is not a QRadar release; expected one of {choices}")
