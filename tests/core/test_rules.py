"""Request validation (`engine.core.rules`) directly: what each reader accepts and refuses, the
order of its checks, and that any JSON gives a clean value or the catalogue's error, never
another exception (hypothesis)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.core import codes, rules
from engine.core.endpoints import EndpointId
from engine.core.enums import BackupStatus, BackupType, RestoreGroup, RestoreStatus
from engine.core.errors import QRadarError
from engine.core.lifecycle import BACKUP_DELETABLE, RESTORE_DELETABLE
from engine.core.records import Backup, Restore
from engine.core.versions import LATEST, SUPPORTED, ApiVersion
from tests.support.worlds import (
    INACTIVE_HOST,
    NO_ARIEL_HOST,
    UNCONFIGURED_HOST,
    backup_record,
    make_world,
)

E = EndpointId
V = ApiVersion.parse
WORLD = make_world()
HOSTS = WORLD.hosts
CONFIGURATIONS = WORLD.configurations

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
#: What a key of a request body may hold: mostly plausible, sometimes anything.
VALUE = st.one_of(JSON, st.integers(-(2**64), 2**64), st.sampled_from(["CONFIG", "", "x" * 101]))


def _code(error: QRadarError) -> tuple[int, int]:
    return error.code.http_status, error.code.unique


def refused(call: Any, *args: Any, **kwargs: Any) -> tuple[int, int]:
    with pytest.raises(QRadarError) as caught:
        call(*args, **kwargs)
    return _code(caught.value)


def attempt(call: Any, *args: Any) -> tuple[Any, tuple[int, int] | None]:
    """(the value, None), or (None, the status and code of the error raised)."""
    try:
        return call(*args), None
    except QRadarError as error:
        return None, _code(error)


MISSING_BODY = (422, codes.MISSING_BODY.unique)
UNREADABLE = (422, codes.UNREADABLE_PARAMETER.unique)


# --- bodies and values -------------------------------------------------------------------------


def test_require_object() -> None:
    assert refused(rules.require_object, None, "restore") == MISSING_BODY
    for body in ([], "x", 1, True):
        assert refused(rules.require_object, body, "restore") == UNREADABLE
    assert rules.require_object({}, "restore") == {}


@pytest.mark.parametrize("value", [True, 1.0, "1", [1], {"a": 1}, 2**63, -(2**63) - 1], ids=repr)
def test_an_id_that_a_java_long_cannot_hold_is_unreadable(value: Any) -> None:
    assert refused(rules.read_restore_create, {"backup_id": value, "groups": []}) == UNREADABLE


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63), 0], ids=repr)
def test_any_java_long_is_read(value: int) -> None:
    assert rules.read_restore_create({"backup_id": value}).backup_id == value


def test_text_with_a_lone_surrogate_is_unreadable() -> None:
    body = {"name": "ok\ud800", "configuration_id": 1}
    assert refused(rules.read_backup_create, "CONFIG", body, HOSTS, CONFIGURATIONS) == UNREADABLE


# --- POST /restores ----------------------------------------------------------------------------


def test_read_restore_create() -> None:
    assert rules.read_restore_create({"backup_id": 1, "groups": ["A", "B"]}) == (
        rules.RestoreRequest(1, ("A", "B"))
    )
    assert rules.read_restore_create({"backup_id": 1}).groups is None
    assert refused(rules.read_restore_create, {"groups": ["A"]}) == (422, 1002)
    assert refused(rules.read_restore_create, {"backup_id": None}) == (422, 1002)
    for groups in ("DEPLOYMENT_CONFIG", [1], {"a": "b"}, [None]):
        assert refused(rules.read_restore_create, {"backup_id": 1, "groups": groups}) == UNREADABLE


@given(st.dictionaries(st.sampled_from(["backup_id", "groups", "other"]), VALUE, max_size=3))
def test_read_restore_create_reads_any_body_or_refuses_with_a_code(body: dict[str, Any]) -> None:
    request, error = attempt(rules.read_restore_create, body)
    if error is not None:
        assert error in (UNREADABLE, (422, 1002))
        return
    assert isinstance(request.backup_id, int)
    assert request.groups is None or all(isinstance(g, str) for g in request.groups)


BACKUP = backup_record(1)


def _restorable(groups: Any, version: ApiVersion = LATEST, **backup: Any) -> Any:
    candidate = dataclasses.replace(BACKUP, **backup) if backup else BACKUP
    return rules.check_restorable(rules.RestoreRequest(1, groups), candidate, version)


@pytest.mark.parametrize(
    ("backup", "groups", "code"),
    [
        ({"type": BackupType.DATA}, None, 1004),  # the backup first, then the groups
        ({"status": BackupStatus.FAILED}, ("NOPE",), 1005),
        ({"is_valid": False}, (), 1006),
        ({"is_version_compatible": False}, ("USERS_CONFIG",), 1007),
        ({}, (), 1008),
        ({}, None, 1008),
        ({}, ("NOPE", "INSTALLED_APPS_CONFIG"), 1010),
        ({}, ("INSTALLED_APPS_CONFIG", "USERS_CONFIG"), 1009),  # 1009 before 1019
        ({}, ("OFFENSES_DATA",), 1009),
        ({}, ("ASSETS_DATA",), 1019),
    ],
)
def test_check_restorable_in_the_order_of_the_table(
    backup: dict[str, Any], groups: Any, code: int
) -> None:
    assert refused(_restorable, groups, **backup) == (422, code)


def test_no_backup_is_1003_whatever_the_groups() -> None:
    with pytest.raises(QRadarError) as caught:
        rules.check_restorable(rules.RestoreRequest(7, ()), None)
    assert _code(caught.value) == (422, 1003)
    assert caught.value.message == "The backup 7 does not exist."


@pytest.mark.parametrize("version", SUPPORTED, ids=str)
def test_group_rules_per_version(version: ApiVersion) -> None:
    """1009 for offenses from 18.0, 1019 from 15.0; DEPLOYMENT_CONFIG satisfies both."""
    offenses = ("OFFENSES_DATA",)
    if version >= V("18.0"):
        assert refused(_restorable, offenses, version) == (422, 1009)
    else:
        assert _restorable(offenses, version) == (RestoreGroup.OFFENSES_DATA,)
    users = ("USERS_CONFIG",)
    if version >= V("15.0"):
        assert refused(_restorable, users, version) == (422, 1019)
    else:
        assert _restorable(users, version) == (RestoreGroup.USERS_CONFIG,)
    every = tuple(g.value for g in RestoreGroup)
    assert _restorable(every, version) == tuple(RestoreGroup)


def test_groups_are_deduplicated_in_order() -> None:
    groups = ("CUSTOM_RULES_CONFIG", "DEPLOYMENT_CONFIG", "CUSTOM_RULES_CONFIG")
    assert _restorable(groups) == (RestoreGroup.CUSTOM_RULES_CONFIG, RestoreGroup.DEPLOYMENT_CONFIG)


@given(
    st.lists(st.sampled_from([g.value for g in RestoreGroup] + ["NOPE"]), max_size=6),
    st.sampled_from(SUPPORTED),
)
def test_check_restorable_on_any_groups(groups: list[str], version: ApiVersion) -> None:
    chosen, error = attempt(_restorable, tuple(groups), version)
    if error is not None:
        assert error in {(422, 1008), (422, 1009), (422, 1010), (422, 1019)}
        return
    assert chosen
    assert [g.value for g in chosen] == list(dict.fromkeys(groups))


# --- POST /restores/{id} -----------------------------------------------------------------------

RESTORE = Restore(
    1,
    "admin",
    53,
    None,
    None,
    RestoreStatus.PENDING,
    False,
    1,
    "b",
    "7.5.0",
    BackupType.CONFIG,
    "b.tgz",
    (RestoreGroup.CUSTOM_RULES_CONFIG,),
)


@pytest.mark.parametrize("version", SUPPORTED, ids=str)
def test_read_restore_request_reads_the_site_from_13_0(version: ApiVersion) -> None:
    body = {
        "status": "REQUESTING",
        "restore_site_host_id": "x",
        "restore_site_event_collector_id": 104,
    }
    if version < V("13.0"):
        assert rules.read_restore_request(body, version) == rules.RestoreSite("REQUESTING")
    else:
        assert refused(rules.read_restore_request, body, version) == UNREADABLE
        good = {**body, "restore_site_host_id": 53}
        site = rules.read_restore_request(good, version)
        assert (site.host_id, site.event_collector_id, site.elsewhere) == (53, 104, True)


def test_a_status_that_is_no_text_is_unreadable() -> None:
    assert refused(rules.read_restore_request, {"status": 1}) == UNREADABLE
    assert rules.read_restore_request({}).status is None


@pytest.mark.parametrize(
    ("status", "site", "code"),
    [
        (RestoreStatus.IN_PROGRESS, rules.RestoreSite("SUCCESS"), 1013),  # 1013 before 1012
        (RestoreStatus.IN_PROGRESS, rules.RestoreSite(), 1012),
        (RestoreStatus.PENDING, rules.RestoreSite(None), 1013),
        (RestoreStatus.PENDING, rules.RestoreSite(host_id=999, event_collector_id=999), 1031),
        (RestoreStatus.PENDING, rules.RestoreSite(host_id=104, event_collector_id=999), 1030),
        (RestoreStatus.PENDING, rules.RestoreSite(event_collector_id=999), 1033),
        (RestoreStatus.PENDING, rules.RestoreSite(event_collector_id=NO_ARIEL_HOST), 1032),
    ],
)
def test_check_requestable_in_order(
    status: RestoreStatus, site: rules.RestoreSite, code: int
) -> None:
    restore = dataclasses.replace(RESTORE, status=status)
    assert refused(rules.check_requestable, restore, site, HOSTS) == (422, code)


def test_a_valid_site_is_accepted() -> None:
    site = rules.RestoreSite(host_id=53, event_collector_id=104)
    rules.check_requestable(RESTORE, site, HOSTS)
    assert not rules.RestoreSite().elsewhere


@pytest.mark.parametrize("status", list(RestoreStatus), ids=str)
def test_restore_deletable_follows_the_lifecycle(status: RestoreStatus) -> None:
    restore = dataclasses.replace(RESTORE, status=status)
    if status.value in RESTORE_DELETABLE:
        rules.check_restore_deletable(restore)
    else:
        assert refused(rules.check_restore_deletable, restore) == (422, 1017)


# --- POST /backups -----------------------------------------------------------------------------


def _create(kind: Any = "CONFIG", **body: Any) -> rules.BackupRequest:
    return rules.read_backup_create(
        kind, {"name": "ok", "configuration_id": 1, **body}, HOSTS, CONFIGURATIONS
    )


def test_read_backup_type() -> None:
    assert rules.read_backup_type("DATA") is BackupType.DATA
    assert refused(rules.read_backup_type, None) == (422, codes.MISSING_PARAMETER.unique)
    for header in ("config", "", "BOTH", 1):
        assert refused(rules.read_backup_type, header) == UNREADABLE


@pytest.mark.parametrize(
    ("kind", "body", "code"),
    [
        ("CONFIG", {"name": None, "configuration_id": None}, 1002),  # name before configuration
        ("CONFIG", {"name": ""}, 1002),
        ("CONFIG", {"name": "n" * 101, "host_id": 999}, 1003),
        ("CONFIG", {"name": "a b"}, 1004),
        ("CONFIG", {"name": "a/b"}, 1004),
        ("CONFIG", {"configuration_id": None}, 1006),
        ("CONFIG", {"configuration_id": 99, "description": "d" * 256}, 1007),
        ("CONFIG", {"description": "d" * 256, "host_id": 999}, 1008),
        ("CONFIG", {"host_id": 999}, 1009),
        ("DATA", {"host_id": INACTIVE_HOST}, 1010),
        ("CONFIG", {"host_id": 104}, 1012),
        ("DATA", {"host_id": NO_ARIEL_HOST}, 1013),
        ("DATA", {"host_id": UNCONFIGURED_HOST}, 1014),
    ],
)
def test_read_backup_create_in_the_order_of_the_table(
    kind: str, body: dict[str, Any], code: int
) -> None:
    assert refused(_create, kind, **body) == (422, code)


def test_read_backup_create_accepts_the_limits_and_defaults_the_console() -> None:
    request = _create(name="n" * rules.NAME_MAX, description="d" * rules.DESCRIPTION_MAX)
    assert request.host_id == 53
    assert request.type is BackupType.CONFIG
    assert _create(name="a-b_c.d").name == "a-b_c.d"
    assert _create("DATA", host_id=104).host_id == 104


def test_a_world_without_console_has_no_default_host() -> None:
    hosts = [h for h in HOSTS if not h.console]
    with pytest.raises(QRadarError) as caught:
        rules.read_backup_create(
            "CONFIG", {"name": "x", "configuration_id": 1}, hosts, CONFIGURATIONS
        )
    assert _code(caught.value) == (422, 1009)


@given(
    st.dictionaries(
        st.sampled_from(["name", "configuration_id", "description", "host_id"]), VALUE, max_size=4
    ),
    st.one_of(st.sampled_from(["CONFIG", "DATA"]), VALUE),
)
def test_read_backup_create_on_any_body(body: dict[str, Any], kind: Any) -> None:
    request, error = attempt(rules.read_backup_create, kind, body, HOSTS, CONFIGURATIONS)
    if error is not None:
        assert error[0] == 422
        return
    assert request.host_id in {h.id for h in HOSTS}
    assert len(request.name) <= rules.NAME_MAX


def test_world_conflicts() -> None:
    request = _create()
    assert refused(rules.check_backup_world_conflicts, request, CONFIGURATIONS, True) == (409, 1005)
    undeployed = [dataclasses.replace(c, undeployed_changes=True) for c in CONFIGURATIONS]
    assert refused(rules.check_backup_world_conflicts, request, undeployed, False) == (409, 1011)
    rules.check_backup_world_conflicts(request, CONFIGURATIONS, False)


def test_read_backup_update() -> None:
    assert rules.read_backup_update({}) == (False, None)
    assert rules.read_backup_update({"description": None}) == (True, None)
    assert rules.read_backup_update({"description": "d" * 255}) == (True, "d" * 255)
    assert refused(rules.read_backup_update, {"description": "d" * 256}) == (422, 1008)
    assert refused(rules.read_backup_update, {"description": 5}) == UNREADABLE


@pytest.mark.parametrize("status", list(BackupStatus), ids=str)
def test_backup_deletable_follows_the_lifecycle(status: BackupStatus) -> None:
    backup: Backup = dataclasses.replace(BACKUP, status=status)
    if status.value in BACKUP_DELETABLE:
        rules.check_backup_deletable(backup)
    else:
        with pytest.raises(QRadarError) as caught:
            rules.check_backup_deletable(backup)
        assert caught.value.message == f"The backup 1 is {status.value} and cannot be deleted."
