"""Every validation and conflict code of the catalogue, provoked through the embedded API.

`CASES` is the table (endpoint, code) -> how to provoke it, with the exact error body expected
(`err.body(version)`). The descriptions are written out from the reference (sections 2-4) in
tests/reference_texts.py, not read from the catalogue, so the test also checks the catalogue's
wording; that module also holds the messages this table shares with tests/api/test_codes.py.
`test_cases_cover_catalogue` fails when a code is added to the catalogue without a case here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from engine.core import codes
from engine.core.endpoints import EndpointId
from engine.core.enums import BackupStatus, BackupType
from engine.core.errors import Conflict, NotFound, QRadarError, Unprocessable
from engine.core.query import parse_sort
from engine.core.records import BACKUP_SORTABLE, RESTORE_SORTABLE
from engine.core.versions import LATEST, ApiVersion
from engine.runtime.console import Console
from tests.support.reference_texts import (
    BACKUP_1_DELETING_UNDELETABLE,
    HOST_53_BUSY,
    NAME_NIGHTLY_1_TAKEN,
    NO_BACKUP_999,
    NO_BACKUP_WITH_ID_999,
    NO_CONFIGURATION_99,
    NO_HOST_999,
    NO_RESTORE_WITH_ID_999,
    RESTORE_1_NOT_PENDING,
    RESTORE_1_SUCCESS_UNDELETABLE,
    description,
)
from tests.support.worlds import (
    GROUPS,
    INACTIVE_HOST,
    NO_ARIEL_HOST,
    UNCONFIGURED_HOST,
    backup_record,
    make_world,
)

E = EndpointId
V = ApiVersion.parse

HTTP = {
    404: "We could not find the resource you requested.",
    409: "The request could not be completed due to a conflict with the current state of the "
    "resource",
    422: "The request was well-formed but was unable to be followed due to semantic errors",
}

Provoke = Callable[[Console], Awaitable[Any]]


@dataclass(frozen=True)
class Case:
    id: str
    endpoint: EndpointId
    code: int
    status: int
    provoke: Provoke
    message: str | None = None  # None: the message is the description
    version: ApiVersion = LATEST

    @property
    def description(self) -> str | None:
        return description(self.endpoint, self.code, self.version)


# --- set-ups -------------------------------------------------------------------------------


async def running_restore(c: Console) -> int:
    """A requested restore held in REQUESTING (manual mode): it holds the gate."""
    await c.set_rule("restore", {"mode": "manual"})
    restore = await c.create_restore(1, GROUPS)
    await c.request_restore(restore.id)
    return restore.id


async def finished_restore(c: Console, outcome: str = "SUCCESS") -> int:
    await c.set_rule("restore", {"mode": "immediate", "outcome": outcome})
    restore = await c.create_restore(1, GROUPS)
    await c.request_restore(restore.id)
    done = await c.wait_for_restore(restore.id)
    assert done.status == outcome
    return restore.id


async def running_backup(c: Console, host: int = 53, kind: str = "CONFIG") -> int:
    """A backup held in INITIALIZING (manual mode): it holds its host."""
    await c.set_rule("backup", {"mode": "manual"})
    backup = await c.create_backup(kind, f"running_{host}", host_id=host)
    return backup.id


async def seeded(c: Console, **changes: Any) -> int:
    await c.add_backup(backup_record(10, **changes))
    return 10


# --- restores: POST /restores --------------------------------------------------------------


async def rc_1002(c: Console) -> Any:
    return await c.create_restore(None, GROUPS)


async def rc_1003(c: Console) -> Any:
    return await c.create_restore(999, GROUPS)


async def rc_1004(c: Console) -> Any:
    return await c.create_restore(await seeded(c, type=BackupType.DATA), GROUPS)


async def rc_1005(c: Console) -> Any:
    return await c.create_restore(await seeded(c, status=BackupStatus.FAILED), GROUPS)


async def rc_1006(c: Console) -> Any:
    return await c.create_restore(await seeded(c, is_valid=False), GROUPS)


async def rc_1007(c: Console) -> Any:
    return await c.create_restore(await seeded(c, is_version_compatible=False), GROUPS)


async def rc_1011(c: Console) -> Any:
    await c.create_restore(1, GROUPS)
    return await c.create_restore(2, GROUPS)


def rc_groups(groups: Any, version: str = "27.0") -> Provoke:
    async def provoke(c: Console) -> Any:
        return await c.create_restore(1, groups, version=V(version))

    return provoke


# --- restores: POST /restores/{id} ----------------------------------------------------------


async def ru_1012(c: Console) -> Any:
    rid = await running_restore(c)
    return await c.request_restore(rid)


async def ru_1013(c: Console) -> Any:
    restore = await c.create_restore(1, GROUPS)
    return await c.request_restore(restore.id, "SUCCESS")


async def ru_1014(c: Console) -> Any:
    restore = await c.create_restore(1, GROUPS)
    await c.set_rebalancing(True)
    return await c.request_restore(restore.id)


async def ru_1015(c: Console) -> Any:
    await running_backup(c, 104, "DATA")  # a backup on any host blocks restores
    restore = await c.create_restore(1, GROUPS)
    return await c.request_restore(restore.id)


async def ru_1016_deleted_record(c: Console) -> Any:
    """The record of a running restore is deleted; its job still holds the gate."""
    rid = await running_restore(c)
    await c.delete_restore(rid)
    restore = await c.create_restore(2, GROUPS)  # no 1011: the running record is gone
    return await c.request_restore(restore.id)


async def ru_1016_external(c: Console) -> Any:
    """A restore started from the console's UI holds the gate without any record."""
    await c.start_external_restore()
    assert await c.list_restores() == []
    restore = await c.create_restore(1, GROUPS)
    return await c.request_restore(restore.id)


def ru_site(version: str = "27.0", **site: Any) -> Provoke:
    async def provoke(c: Console) -> Any:
        restore = await c.create_restore(1, GROUPS)
        return await c.request_restore(restore.id, version=V(version), **site)

    return provoke


async def ru_1001(c: Console) -> Any:
    return await c.request_restore(999)


# --- restores: DELETE, GET, list ------------------------------------------------------------


def rd_1017(outcome: str) -> Provoke:
    async def provoke(c: Console) -> Any:
        return await c.delete_restore(await finished_restore(c, outcome))

    return provoke


async def rd_1001(c: Console) -> Any:
    return await c.delete_restore(999)


async def rg_1001(c: Console) -> Any:
    return await c.get_restore(999)


async def rl_1018(c: Console) -> Any:
    return parse_sort("backup_id", RESTORE_SORTABLE, QRadarError.at(E.RESTORES_LIST, 1018))


# --- backups --------------------------------------------------------------------------------


def bc(kind: Any = "CONFIG", name: Any = "ok_name", **body: Any) -> Provoke:
    async def provoke(c: Console) -> Any:
        return await c.create_backup(kind, name, **body)

    return provoke


async def bc_1011(c: Console) -> Any:
    world = make_world()
    undeployed = tuple(replace(x, undeployed_changes=True) for x in world.configurations)
    await c.seed_world(replace(world, configurations=undeployed))
    return await c.create_backup("CONFIG", "after_staging")


async def bc_1015(c: Console) -> Any:
    await running_backup(c, 53, "CONFIG")
    # another host is free: a DATA backup on 104 runs while 53 is busy
    other = await c.create_backup("DATA", "on_104", host_id=104)
    assert other.status == BackupStatus.INITIALIZING
    return await c.create_backup("DATA", "second_on_53", host_id=53)


async def bc_1016(c: Console) -> Any:
    await running_restore(c)
    return await c.create_backup("DATA", "during_restore", host_id=104)


async def bu_1001(c: Console) -> Any:
    return await c.update_backup(999, "x")


async def bu_1008(c: Console) -> Any:
    return await c.update_backup(1, "d" * 256)


async def bd_1001(c: Console) -> Any:
    return await c.delete_backup(999)


async def bd_1017_cancelling(c: Console) -> Any:
    bid = await running_backup(c)
    assert (await c.delete_backup(bid)).status == BackupStatus.CANCELLING
    return await c.delete_backup(bid)


async def bd_1017_deleting(c: Console) -> Any:
    await c.set_rule("backup", {"mode": "manual"})
    assert (await c.delete_backup(1)).status == BackupStatus.DELETING
    return await c.delete_backup(1)


async def bg_1001(c: Console) -> Any:
    return await c.get_backup(999)


async def bl_1018(c: Console) -> Any:
    return parse_sort("is_valid", BACKUP_SORTABLE, QRadarError.at(E.BACKUPS_LIST, 1018))


# --- the table (expected descriptions: reference_texts.DESCRIPTIONS) -----------------------

CASES: tuple[Case, ...] = (
    # POST /restores
    Case("Rc-1002", E.RESTORE_CREATE, 1002, 422, rc_1002),
    Case("Rc-1003", E.RESTORE_CREATE, 1003, 422, rc_1003, NO_BACKUP_999),
    Case("Rc-1004", E.RESTORE_CREATE, 1004, 422, rc_1004),
    Case("Rc-1005", E.RESTORE_CREATE, 1005, 422, rc_1005),
    Case("Rc-1006", E.RESTORE_CREATE, 1006, 422, rc_1006),
    Case("Rc-1007", E.RESTORE_CREATE, 1007, 422, rc_1007),
    Case("Rc-1008-empty", E.RESTORE_CREATE, 1008, 422, rc_groups([])),
    Case("Rc-1008-null", E.RESTORE_CREATE, 1008, 422, rc_groups(None)),
    Case("Rc-1009-apps-17.0", E.RESTORE_CREATE, 1009, 422,
         rc_groups(["INSTALLED_APPS_CONFIG"], "17.0"), version=V("17.0")),
    Case("Rc-1009-apps-18.0", E.RESTORE_CREATE, 1009, 422,
         rc_groups(["INSTALLED_APPS_CONFIG"], "18.0"), version=V("18.0")),
    Case("Rc-1009-offenses-18.0", E.RESTORE_CREATE, 1009, 422,
         rc_groups(["OFFENSES_DATA"], "18.0"), version=V("18.0")),
    Case("Rc-1009-apps-12.0", E.RESTORE_CREATE, 1009, 422,
         rc_groups(["INSTALLED_APPS_CONFIG", "CUSTOM_RULES_CONFIG"], "12.0"), version=V("12.0")),
    Case("Rc-1010", E.RESTORE_CREATE, 1010, 422,
         rc_groups(["CUSTOM_RULES_CONFIG", "NOT_A_GROUP"]),
         "The group NOT_A_GROUP does not exist."),
    Case("Rc-1019-users-15.0", E.RESTORE_CREATE, 1019, 422,
         rc_groups(["USERS_CONFIG"], "15.0"), version=V("15.0")),
    Case("Rc-1019-assets-27.0", E.RESTORE_CREATE, 1019, 422, rc_groups(["ASSETS_DATA"])),
    Case("Rc-1011", E.RESTORE_CREATE, 1011, 409, rc_1011),
    # POST /restores/{id}
    Case("Ru-1001", E.RESTORE_UPDATE, 1001, 404, ru_1001, NO_RESTORE_WITH_ID_999),
    Case("Ru-1012", E.RESTORE_UPDATE, 1012, 422, ru_1012, RESTORE_1_NOT_PENDING),
    Case("Ru-1013", E.RESTORE_UPDATE, 1013, 422, ru_1013),
    Case("Ru-1014", E.RESTORE_UPDATE, 1014, 409, ru_1014),
    Case("Ru-1015", E.RESTORE_UPDATE, 1015, 409, ru_1015),
    Case("Ru-1016-deleted-record", E.RESTORE_UPDATE, 1016, 409, ru_1016_deleted_record),
    Case("Ru-1016-external", E.RESTORE_UPDATE, 1016, 409, ru_1016_external),
    Case("Ru-1030", E.RESTORE_UPDATE, 1030, 422, ru_site(restore_site_host_id=104)),
    Case("Ru-1031", E.RESTORE_UPDATE, 1031, 422, ru_site(restore_site_host_id=999)),
    Case("Ru-1032", E.RESTORE_UPDATE, 1032, 422,
         ru_site(restore_site_event_collector_id=NO_ARIEL_HOST)),
    Case("Ru-1033", E.RESTORE_UPDATE, 1033, 422,
         ru_site("13.0", restore_site_event_collector_id=999), version=V("13.0")),
    # DELETE, GET /restores/{id}, GET /restores
    Case("Rd-1001", E.RESTORE_DELETE, 1001, 404, rd_1001, NO_RESTORE_WITH_ID_999),
    Case("Rd-1017-success", E.RESTORE_DELETE, 1017, 422, rd_1017("SUCCESS"),
         RESTORE_1_SUCCESS_UNDELETABLE),
    Case("Rd-1017-failed", E.RESTORE_DELETE, 1017, 422, rd_1017("FAILED"),
         "The restore 1 is FAILED and cannot be deleted."),
    Case("Rg-1001", E.RESTORE_GET, 1001, 404, rg_1001, NO_RESTORE_WITH_ID_999),
    Case("Rl-1018", E.RESTORES_LIST, 1018, 422, rl_1018),
    # POST /backups
    Case("Bc-1002-null", E.BACKUP_CREATE, 1002, 422, bc(name=None)),
    Case("Bc-1002-empty", E.BACKUP_CREATE, 1002, 422, bc(name="")),
    Case("Bc-1003", E.BACKUP_CREATE, 1003, 422, bc(name="n" * 101)),
    Case("Bc-1004", E.BACKUP_CREATE, 1004, 422, bc(name="no spaces")),
    Case("Bc-1005", E.BACKUP_CREATE, 1005, 409, bc(name="nightly_1"), NAME_NIGHTLY_1_TAKEN),
    Case("Bc-1006", E.BACKUP_CREATE, 1006, 422, bc(configuration_id=None)),
    Case("Bc-1007", E.BACKUP_CREATE, 1007, 422, bc(configuration_id=99), NO_CONFIGURATION_99),
    Case("Bc-1008", E.BACKUP_CREATE, 1008, 422, bc(description="d" * 256)),
    Case("Bc-1009", E.BACKUP_CREATE, 1009, 422, bc(host_id=999), NO_HOST_999),
    Case("Bc-1010", E.BACKUP_CREATE, 1010, 422, bc("DATA", host_id=INACTIVE_HOST)),
    Case("Bc-1011", E.BACKUP_CREATE, 1011, 409, bc_1011),
    Case("Bc-1012", E.BACKUP_CREATE, 1012, 422, bc("CONFIG", host_id=104)),
    Case("Bc-1013", E.BACKUP_CREATE, 1013, 422, bc("DATA", host_id=NO_ARIEL_HOST)),
    Case("Bc-1014", E.BACKUP_CREATE, 1014, 422, bc("DATA", host_id=UNCONFIGURED_HOST)),
    Case("Bc-1015", E.BACKUP_CREATE, 1015, 409, bc_1015, HOST_53_BUSY),
    Case("Bc-1016", E.BACKUP_CREATE, 1016, 409, bc_1016),
    # POST, DELETE, GET /backups/{id}, GET /backups
    Case("Bu-1001", E.BACKUP_UPDATE, 1001, 404, bu_1001, NO_BACKUP_WITH_ID_999),
    Case("Bu-1008", E.BACKUP_UPDATE, 1008, 422, bu_1008),
    Case("Bd-1001", E.BACKUP_DELETE, 1001, 404, bd_1001, NO_BACKUP_WITH_ID_999),
    Case("Bd-1017-cancelling", E.BACKUP_DELETE, 1017, 422, bd_1017_cancelling,
         "The backup 4 is CANCELLING and cannot be deleted."),
    Case("Bd-1017-deleting", E.BACKUP_DELETE, 1017, 422, bd_1017_deleting,
         BACKUP_1_DELETING_UNDELETABLE),
    Case("Bg-1001", E.BACKUP_GET, 1001, 404, bg_1001, NO_BACKUP_WITH_ID_999),
    Case("Bl-1018", E.BACKUPS_LIST, 1018, 422, bl_1018),
)  # fmt: skip

#: Codes provoked only by fault injection (1000, 1021, the undocumented 1034-1037).
NOT_VALIDATION = {1000, 1021, 1034, 1035, 1036, 1037}
#: Entries the embedded API has no operation for: the 21.0 HA helpers exist over HTTP only.
HTTP_ONLY = {(E.HA_ACTION, 1001), (E.IPTABLES_UPDATE, 1001)}
ERROR_CLASS = {404: NotFound, 409: Conflict, 422: Unprocessable}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_code_is_raised_with_its_exact_body(console: Console, case: Case) -> None:
    with pytest.raises(QRadarError) as caught:
        await case.provoke(console)
    error = caught.value
    assert error.code is codes.lookup(case.endpoint, case.code)
    assert isinstance(error, ERROR_CLASS[case.status])
    assert error.code.exists_in(case.version, case.endpoint)
    assert error.body(case.version) == {
        "message": case.message if case.message is not None else case.description,
        "details": {},
        "description": case.description,
        "code": case.code,
        "http_response": {"message": HTTP[case.status], "code": case.status},
    }


def test_cases_cover_catalogue() -> None:
    wanted = {
        (endpoint, code.unique)
        for code in codes.CATALOGUE
        if code.unique not in NOT_VALIDATION
        for endpoint in code.endpoints
    }
    covered = {(case.endpoint, case.code) for case in CASES}
    assert covered <= wanted, f"cases for codes the catalogue lacks: {covered - wanted}"
    assert wanted - HTTP_ONLY == covered, f"codes without a case: {wanted - HTTP_ONLY - covered}"


# --- version-dependent codes that must NOT be raised -----------------------------------------


@pytest.mark.parametrize("version", ["12.0", "13.0", "14.0"])
async def test_1019_does_not_exist_before_15_0(console: Console, version: str) -> None:
    restore = await console.create_restore(1, ["USERS_CONFIG", "ASSETS_DATA"], version=V(version))
    assert restore.status == "PENDING"


async def test_1009_ignores_offenses_before_18_0(console: Console) -> None:
    restore = await console.create_restore(1, ["OFFENSES_DATA"], version=V("17.0"))
    assert restore.status == "PENDING"


async def test_group_rules_pass_with_deployment_config(console: Console) -> None:
    groups = ["DEPLOYMENT_CONFIG", "INSTALLED_APPS_CONFIG", "OFFENSES_DATA", "USERS_CONFIG",
              "ASSETS_DATA"]  # fmt: skip
    restore = await console.create_restore(1, groups)
    assert [g.value for g in restore.groups] == groups


@pytest.mark.parametrize("version", ["12.0", "12.1"])
async def test_restore_site_is_ignored_before_13_0(console: Console, version: str) -> None:
    restore = await console.create_restore(1, GROUPS)
    requested = await console.request_restore(
        restore.id, version=V(version), restore_site_host_id=999,
        restore_site_event_collector_id=999,
    )  # fmt: skip
    assert requested.status == "REQUESTING"


async def test_valid_restore_site_is_accepted(console: Console) -> None:
    restore = await console.create_restore(1, GROUPS)
    requested = await console.request_restore(
        restore.id, restore_site_host_id=53, restore_site_event_collector_id=104
    )
    assert requested.status == "REQUESTING"


async def test_backup_per_host_gate(console: Console) -> None:
    """One backup per host: 53 busy refuses 53 (1015) but not 104; a restore is refused (1015)."""
    await running_backup(console, 53, "CONFIG")
    data = await console.create_backup("DATA", "data_104", host_id=104)
    assert data.status == "INITIALIZING"
    with pytest.raises(Conflict) as caught:
        await console.create_backup("CONFIG", "config_53_again")
    assert caught.value.code.unique == 1015
    with pytest.raises(Conflict) as caught:
        await console.create_backup("DATA", "data_104_again", host_id=104)
    assert caught.value.body()["message"] == "A backup is already in progress on the host 104."


# --- order of checks (product.md: parameters, existence 404, validation 422, conflicts 409) ------


async def test_unreadable_body_comes_before_existence(console: Console) -> None:
    with pytest.raises(Unprocessable) as caught:
        await console.request_restore_from(999, None)
    assert caught.value.code is codes.MISSING_BODY


async def test_existence_comes_before_validation_on_backup_update(console: Console) -> None:
    with pytest.raises(NotFound) as caught:
        await console.update_backup(999, "d" * 256)
    assert caught.value.code.unique == 1001


async def test_existence_comes_before_validation_on_restore_request(console: Console) -> None:
    with pytest.raises(NotFound) as caught:
        await console.request_restore(999, "SUCCESS")
    assert caught.value.code.unique == 1001
