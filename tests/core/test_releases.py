"""QRadar releases and API versions: the tables against IBM's, and the reading of names and
`Version` headers (hypothesis where text is parsed)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.core import versions
from engine.core.releases import DEFAULT, RELEASES, Release, read_release
from engine.core.versions import ApiVersion, VersionNotValid, VersionRemoved, choose

V = ApiVersion.parse

#: IBM's table "QRadar and API versions", written out by hand from
#: https://www.ibm.com/docs/en/qradar-common?topic=api-endpoint-documentation-supported-versions
#: (and its German copy for UP7-UP14): release, introduced, supported, deprecated column.
IBM_TABLE = [
    ("7.4.0", "13.0", "13.0 12.1 12.0", "10.x"),
    ("7.4.0 Fix Pack 1", "13.1", "13.1 13.0 12.1 12.0", "10.x"),
    ("7.4.1", "14.0", "14.0 13.1 13.0 12.1 12.0", "11.x"),
    ("7.4.2", "15.0", "15.0 14.0 13.1 13.0", "12.x"),
    ("7.4.3", "16.0", "16.0 15.0 14.0", "13.x"),
    ("7.5.0", "17.0", "17.0 16.0 15.0", "14.x"),
    ("7.5.0 Update Package 2", "18.0", "18.0 17.0 16.0", "15.x"),
    ("7.5.0 Update Package 3", "19.0", "19.0 18.0 17.0", "16.x"),
    ("7.5.0 Update Package 6", "20.0", "20.0 19.0 18.0", "17.x"),
    ("7.5.0 Update Package 7", "21.0", "21.0 20.0 19.0", "18.x"),
    ("7.5.0 Update Package 8", "22.0", "22.0 21.0 20.0", "19.x"),
    ("7.5.0 Update Package 9", "23.0", "23.0 22.0 21.0", "20.x"),
    ("7.5.0 Update Package 10", "24.0", "24.0 23.0 22.0", "21.x"),
    ("7.5.0 Update Package 11", "25.0", "25.0 24.0 23.0", "22.x"),
    ("7.5.0 Update Package 12", "26.0", "26.0 25.0 24.0", "23.x"),
    ("7.5.0 Update Package 13", "26.0", "26.0 25.0 24.0", "23.x"),
    ("7.5.0 Update Package 14", "27.0", "27.0 26.0 25.0", "24.x"),
]


def test_releases_are_ibms_table() -> None:
    assert [(r.newest, r.supported, r.deprecated_column) for r in RELEASES] == [
        (V(new), tuple(V(v) for v in sup.split()), dep) for _, new, sup, dep in IBM_TABLE
    ]
    assert [read_release(name) for name, *_ in IBM_TABLE] == list(RELEASES)
    assert DEFAULT.name == "7.5.0 UP14"


def test_versions_include_the_real_older_ones() -> None:
    for v in ("8.1", "9.1", "9.2", "10.1", "11.0", "12.1", "13.1"):
        assert V(v) in versions.ALL
    assert tuple(sorted(versions.ALL)) == versions.ALL
    assert versions.SUPPORTED[0] == V("12.0")
    assert versions.SUPPORTED[-1] == V("27.0")


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r.name)
def test_a_release_deprecates_what_its_row_says(release: Release) -> None:
    """The supported versions are not deprecated; the deprecated column's major and every one
    below it are (removed ones too); 7.4.0's 11.0, in neither column, is served as is."""
    newest_deprecated = int(release.deprecated_column.removesuffix(".x"))
    for version in release.known:
        if version in release.supported:
            assert not release.deprecated(version)
        expected = version.major <= newest_deprecated
        assert release.deprecated(version) is expected
    assert release.deprecated(V("11.0")) is (release.newest >= V("14.0"))


@pytest.mark.parametrize(
    ("name", "release_name"),
    [("7.5.0 UP6", "7.5.0 UpdatePackage 6"), ("7.5.0", "7.5.0"), ("7.4.3", "7.4.3"),
     ("7.4.0 FP1", "7.4.0 FixPack 1"), ("7.5.0 UP14", "7.5.0 UpdatePackage 14")],
)  # fmt: skip
def test_about_names_the_release_as_qradar_does(name: str, release_name: str) -> None:
    about = read_release(name).about()
    assert list(about) == ["release_name", "build_version", "fips_enabled", "external_version"]
    assert about["release_name"] == release_name
    assert about["external_version"] == name.split()[0]
    assert about["fips_enabled"] is False


def test_observed_builds() -> None:
    assert read_release("7.5.0 UP6").build_version == "2021.6.6.20230519190832"
    assert read_release("7.5.0 UP12").build_version == "2021.6.12.20250509154206"
    assert read_release("7.5.0 UP14").build_version == "2021.6.14.20251017194912"


_SPELLING = st.sampled_from(
    [
        lambda r: r.name,
        lambda r: r.release_name,
        lambda r: r.name.lower(),
        lambda r: r.release_name.upper().replace(" ", "  "),
        lambda r: r.name.replace(" UP", " Update Package ").replace(" FP", " Fix Pack "),
        lambda r: f"  {r.name.replace(' ', '')} ",
    ]
)


@given(st.sampled_from(RELEASES), _SPELLING)
def test_read_release_reads_every_spelling(release: Release, spelling: object) -> None:
    assert callable(spelling)
    assert read_release(spelling(release)) is release


_NAMES = {
    "".join(k.split()).lower()
    for r in RELEASES
    for k in (
        r.name,
        r.release_name,
        r.name.replace("UP", "Update Package").replace("FP", "Fix Pack"),
    )
}


@given(st.one_of(st.text(max_size=30), st.integers(), st.none(), st.floats()))
def test_read_release_refuses_anything_else(value: object) -> None:
    known = isinstance(value, str) and "".join(value.split()).lower() in _NAMES
    if known:
        assert read_release(value) in RELEASES
        return
    with pytest.raises(ValueError, match="expected one of") as raised:
        read_release(value)
    assert repr(value) in str(raised.value)


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r.name)
def test_choose_on_a_release(release: Release) -> None:
    newest = release.newest
    assert release.choose(None) == newest
    assert release.choose(" ") == newest
    assert release.choose(str(newest)) == newest
    assert release.choose(str(newest.major)) == newest
    above = ApiVersion(newest.major + 1, 0)
    for text in (str(above), str(above.major), "9999.0", "9999", f"{newest.major}.5"):
        with pytest.raises(VersionNotValid):
            release.choose(text)
    for text in ("8.1", "9.1", "9.2", "10.1", "12"):
        assert release.choose(text) == (V("12.1") if text == "12" else V(text))
    for text in ("1.0", "2.0", "3.0", "2", "3"):
        with pytest.raises(VersionRemoved):
            release.choose(text)


@given(st.text(max_size=12))
def test_choose_answers_a_known_version_or_refuses(text: str) -> None:
    try:
        version = choose(text, V("20.0"))
    except (VersionNotValid, VersionRemoved):
        return
    assert version in versions.ALL
    assert version <= V("20.0")
    assert version not in versions.REMOVED


@given(st.integers(0, 99999), st.integers(0, 99999))
def test_choose_reads_any_major_minor(major: int, minor: int) -> None:
    version = ApiVersion(major, minor)
    text = f"{major}.{minor}"
    if version in versions.REMOVED:
        with pytest.raises(VersionRemoved):
            choose(text)
    elif version in versions.ALL:
        assert choose(text) == version
    else:
        with pytest.raises(VersionNotValid):
            choose(text)


def test_deprecated_below_is_what_the_newest_release_deprecates() -> None:
    from engine.core import releases, versions

    for version in versions.known():
        assert releases.DEFAULT.deprecated(version) is (version < releases.DEPRECATED_BELOW)
