"""The list of QRadar API versions and the reading of the `Version` header, directly (the
releases' view of them is tests/core/test_releases.py)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.core import versions
from engine.core.versions import (
    ALL,
    FIRST,
    LATEST,
    REMOVED,
    SUPPORTED,
    ApiVersion,
    VersionNotValid,
    VersionRemoved,
    choose,
    known,
)

V = ApiVersion.parse


def test_all_is_ordered_without_repeats() -> None:
    assert list(ALL) == sorted(set(ALL))
    assert ALL[0] == V("1.0")
    assert LATEST == ALL[-1] == V("27.0")


def test_supported_is_the_family_s_versions() -> None:
    assert SUPPORTED[0] == FIRST == V("12.0")
    assert SUPPORTED[-1] == LATEST
    assert tuple(v for v in ALL if v >= FIRST) == SUPPORTED
    assert not REMOVED & set(SUPPORTED)


@given(st.integers(0, 9999), st.integers(0, 9999))
def test_parse_reads_what_str_writes(major: int, minor: int) -> None:
    version = ApiVersion(major, minor)
    assert ApiVersion.parse(str(version)) == version


@given(st.integers(0, 9999), st.integers(0, 9999), st.integers(0, 9999), st.integers(0, 9999))
def test_versions_order_numerically(a: int, b: int, c: int, d: int) -> None:
    """`12.10` is after `12.9`: the order is the numbers', not the text's."""
    assert (ApiVersion(a, b) < ApiVersion(c, d)) == ((a, b) < (c, d))


@given(st.text(max_size=12))
def test_parse_refuses_anything_but_major_dot_minor(text: str) -> None:
    try:
        version = ApiVersion.parse(text)
    except ValueError:
        return
    assert str(version) == f"{int(text.split('.')[0])}.{int(text.split('.')[1])}"


@pytest.mark.parametrize(
    "text", ["26", "26.", ".0", "26.0.1", " 26.0", "v26.0", "26,0", "\u0661\u0662.\u0660"]
)
def test_parse_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(text)):
        ApiVersion.parse(text)


@pytest.mark.parametrize("newest", SUPPORTED, ids=str)
def test_known_is_every_version_up_to_the_newest(newest: ApiVersion) -> None:
    assert known(newest) == ALL[: ALL.index(newest) + 1]


@pytest.mark.parametrize("version", ALL, ids=str)
def test_choose_each_version_by_its_name(version: ApiVersion) -> None:
    if version in REMOVED:
        with pytest.raises(VersionRemoved):
            choose(str(version))
    else:
        assert choose(str(version)) == version
        assert choose(f"  {version}\t") == version


@pytest.mark.parametrize("major", sorted({v.major for v in ALL}))
def test_a_major_alone_is_its_newest_minor_still_served(major: int) -> None:
    within = [v for v in ALL if v.major == major and v not in REMOVED]
    if not within:
        with pytest.raises(VersionRemoved):
            choose(str(major))
    else:
        assert choose(str(major)) == max(within)


@pytest.mark.parametrize("newest", SUPPORTED, ids=str)
def test_choose_never_goes_above_the_console_s_newest(newest: ApiVersion) -> None:
    assert choose(None, newest) == choose("", newest) == newest
    for later in (v for v in ALL if v > newest):
        with pytest.raises(VersionNotValid):
            choose(str(later), newest)


@given(st.text(max_size=12))
def test_choose_on_any_text_is_a_served_version_or_a_refusal(text: str) -> None:
    try:
        version = choose(text)
    except (VersionNotValid, VersionRemoved):
        return
    assert version in versions.ALL
    assert version not in REMOVED
