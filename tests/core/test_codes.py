"""The code catalogue directly: well formed, each (endpoint, code) once, texts per version, and
the error bodies built from it (the wording against the reference is tests/support/code_cases.py).
"""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.core import codes
from engine.core.codes import CATALOGUE, FRAMEWORK, HTTP_MESSAGES, Code, UnknownCode
from engine.core.endpoints import EndpointId
from engine.core.errors import QRadarError
from engine.core.lifecycle import BACKUP_DELETABLE, RESTORE_DELETABLE
from engine.core.records import BACKUP_SORTABLE, RESTORE_SORTABLE
from engine.core.versions import FIRST, LATEST, SUPPORTED, ApiVersion

E = EndpointId
V = ApiVersion.parse


def _id(code: Code) -> str:
    names = ",".join(sorted(e.value for e in code.endpoints)) if not code.framework else "any"
    return f"{code.http_status}/{code.unique}@{names}"


@pytest.mark.parametrize("code", CATALOGUE, ids=_id)
def test_catalogue_entry_is_well_formed(code: Code) -> None:
    assert code.http_status in HTTP_MESSAGES
    assert 1000 <= code.unique < 1100
    assert code.endpoints
    assert not code.framework
    assert code.since >= FIRST
    firsts = [first for first, _ in code.texts]
    assert firsts[0] == FIRST
    assert firsts == sorted(set(firsts))


@pytest.mark.parametrize("code", FRAMEWORK, ids=_id)
def test_framework_entry_answers_on_every_endpoint_without_description(code: Code) -> None:
    assert code.framework
    assert code.endpoints == frozenset(EndpointId)
    assert code.description(LATEST) == ""
    assert code.message
    assert code.http_status in HTTP_MESSAGES


def test_each_endpoint_code_pair_is_one_entry() -> None:
    pairs = [(endpoint, c.unique) for c in CATALOGUE for endpoint in c.endpoints]
    assert len(pairs) == len(set(pairs))
    assert len({c.unique for c in FRAMEWORK}) == len(FRAMEWORK)


@pytest.mark.parametrize("code", CATALOGUE, ids=_id)
def test_lookup_finds_each_entry_by_its_endpoints(code: Code) -> None:
    for endpoint in code.endpoints:
        assert codes.lookup(endpoint, code.unique) is code
    for other in set(EndpointId) - code.endpoints:
        if not any(c.unique == code.unique and other in c.endpoints for c in CATALOGUE):
            with pytest.raises(UnknownCode):
                codes.lookup(other, code.unique)


@given(st.sampled_from(list(EndpointId)), st.integers())
def test_lookup_of_any_number_is_an_entry_or_unknown(endpoint: EndpointId, unique: int) -> None:
    try:
        code = codes.lookup(endpoint, unique)
    except UnknownCode:
        assert all(c.unique != unique for c in FRAMEWORK)
        return
    assert code.unique == unique
    assert endpoint in code.endpoints


@pytest.mark.parametrize("version", SUPPORTED, ids=str)
def test_for_endpoint_lists_the_codes_that_exist_in_a_version(version: ApiVersion) -> None:
    for endpoint in EndpointId:
        listed = codes.for_endpoint(endpoint, version)
        assert set(listed) == {c for c in CATALOGUE if c.exists_in(version, endpoint)}
        assert all(c.since <= version for c in listed)


@pytest.mark.parametrize("code", CATALOGUE, ids=_id)
@pytest.mark.parametrize("version", SUPPORTED, ids=str)
def test_description_is_the_newest_text_of_the_version(code: Code, version: ApiVersion) -> None:
    expected = [text for first, text in code.texts if first <= version][-1]
    assert code.description(version) == expected


def test_1009_changed_its_text_in_18_0() -> None:
    entry = codes.lookup(E.RESTORE_CREATE, 1009)
    assert "OFFENSES_DATA" not in (entry.description(V("17.0")) or "")
    assert "OFFENSES_DATA" in (entry.description(V("18.0")) or "")


def test_texts_that_list_states_and_fields_follow_their_tables() -> None:
    """1017 and 1018 name the lifecycle's deletable states and the sortable fields."""
    for endpoint, states in (
        (E.BACKUP_DELETE, BACKUP_DELETABLE),
        (E.RESTORE_DELETE, RESTORE_DELETABLE),
    ):
        assert (codes.lookup(endpoint, 1017).description(LATEST) or "").endswith(
            ", ".join(states) + "."
        )
    for endpoint, fields in (
        (E.BACKUPS_LIST, BACKUP_SORTABLE),
        (E.RESTORES_LIST, RESTORE_SORTABLE),
    ):
        assert f"[{', '.join(fields)}]" in (codes.lookup(endpoint, 1018).description(LATEST) or "")


@pytest.mark.parametrize("code", CATALOGUE + FRAMEWORK, ids=_id)
@pytest.mark.parametrize("version", [FIRST, V("18.0"), LATEST], ids=str)
def test_error_body_of_every_code(code: Code, version: ApiVersion) -> None:
    """Without the details its message names, an error still renders QRadar's whole body."""
    error = QRadarError.of(code)
    assert error.http_status == code.http_status
    body = error.body(version)
    assert list(body) == ["message", "details", "description", "code", "http_response"]
    assert body["code"] == code.unique
    assert body["details"] == {}
    assert body["description"] == code.description(version)
    assert body["http_response"] == {
        "message": HTTP_MESSAGES[code.http_status],
        "code": code.http_status,
    }
    assert isinstance(body["message"], str)


@pytest.mark.parametrize("code", [c for c in CATALOGUE if c.message], ids=_id)
def test_message_templates_name_the_details(code: Code) -> None:
    """Each placeholder of a specific message is filled from the error's details."""
    template = code.message or ""
    names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    error = QRadarError.of(code, **{name: f"<{name}>" for name in names})
    for name in names:
        assert f"<{name}>" in error.message
    assert "{" not in error.message


@given(st.sampled_from(CATALOGUE), st.dictionaries(st.text(max_size=8), st.text(max_size=8)))
def test_any_details_give_a_message(code: Code, details: dict[str, str]) -> None:
    """Details that do not fit the template never break the error (the template is shown)."""
    assert isinstance(
        QRadarError.of(code, **{f"k_{k}": v for k, v in details.items()}).message, str
    )
