"""Every code of the catalogue, provoked once, for two drivers: the embedded console and HTTP.

A `Case` says how to provoke one (endpoint, unique code) with the family's operations and
control actions, written against a `Driver`, and the answer expected: the status, the code,
the documented description of the version (tests/support/reference_texts.py, written out from
the reference, not read from the catalogue) and the specific message. tests/api/test_codes.py
runs every case over HTTP in each supported version where it applies;
tests/runtime/test_console_codes.py runs the cases the console can answer through the embedded
API, in the versions where the expected text changes. `ACCEPTED` holds the requests a version
must accept although a later version refuses them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple, Protocol

from engine.core import codes
from engine.core.endpoints import BY_ID, EndpointId
from engine.core.versions import LATEST, SUPPORTED, ApiVersion
from engine.runtime.console import Console
from tests.support.http import HTTP
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
from tests.support.worlds import GROUPS, INACTIVE_HOST, NO_ARIEL_HOST, UNCONFIGURED_HOST, make_world

E = EndpointId
V = ApiVersion.parse

#: The endpoints the embedded console has an operation for (the 21.0 HA helpers are HTTP only).
EMBEDDED_ENDPOINTS = frozenset(E) - {E.HA_ACTION, E.IPTABLES_UPDATE}


class Answer(NamedTuple):
    """What a driver got: the HTTP status, the JSON body (None when empty), and the driver's
    own object (an `httpx.Response`, a record, or the `QRadarError` raised)."""

    status: int
    body: Any
    raw: Any = None


class Driver(Protocol):
    """One way of speaking to a console in an API version."""

    console: Console
    version: ApiVersion

    async def call(
        self,
        endpoint: EndpointId,
        id: int | str | None = None,
        body: Any = None,
        *,
        backup_type: Any = "CONFIG",
        sort: str | None = None,
    ) -> Answer:
        """One request of the family: `id` fills the path's placeholder, `body` is the JSON
        body, `backup_type` the header of POST /backups, `sort` the list parameter."""
        ...

    async def control(self, actions: Mapping[str, Any]) -> Any:
        """Control actions (the control language); they must succeed."""
        ...


Provoke = Callable[[Driver], Awaitable[Answer]]


# --- steps that must succeed -----------------------------------------------------------------


async def ok(
    d: Driver, endpoint: EndpointId, id: int | None = None, body: Any = None, **kw: Any
) -> Any:
    """The body of a request that must succeed with the endpoint's success status."""
    answer = await d.call(endpoint, id, body, **kw)
    assert answer.status == BY_ID[endpoint].success_status, (endpoint, answer)
    return answer.body


async def restore(d: Driver, backup_id: int = 1) -> int:
    """A PENDING restore of `backup_id` (groups: GROUPS)."""
    return int(
        (await ok(d, E.RESTORE_CREATE, body={"backup_id": backup_id, "groups": GROUPS}))["id"]
    )


async def start(d: Driver, id: int, **site: Any) -> Answer:
    return await d.call(E.RESTORE_UPDATE, id, {"status": "REQUESTING", **site})


async def running_restore(d: Driver) -> int:
    """A requested restore held in REQUESTING (manual mode): it holds the gate."""
    await d.control({"engine": {"restore": {"mode": "manual"}}})
    rid = await restore(d)
    assert (await start(d, rid)).status == 200
    return rid


async def finished_restore(d: Driver, outcome: str) -> int:
    await d.control({"engine": {"restore": {"mode": "immediate", "outcome": outcome}}})
    rid = await restore(d)
    assert (await start(d, rid)).status == 200
    assert (await d.console.wait_for_restore(rid)).status == outcome
    return rid


async def running_backup(d: Driver, host: int = 53, kind: str = "CONFIG") -> int:
    """A backup held in INITIALIZING (manual mode): it holds its host."""
    await d.control({"engine": {"backup": {"mode": "manual"}}})
    body = {"name": f"running_{host}", "configuration_id": 1, "host_id": host}
    return int((await ok(d, E.BACKUP_CREATE, body=body, backup_type=kind))["id"])


async def seeded(d: Driver, **changes: Any) -> int:
    """A backup 10 added by control (SUCCESS CONFIG on the console unless changed)."""
    await d.control({"add_backup": {"id": 10, "name": "seeded_10", **changes}})
    return 10


# --- provocations ------------------------------------------------------------------------------


def call(endpoint: EndpointId, id: int | str | None = None, body: Any = None, **kw: Any) -> Provoke:
    async def provoke(d: Driver) -> Answer:
        return await d.call(endpoint, id, body, **kw)

    return provoke


def rc(groups: Any, backup_id: Any = 1) -> Provoke:
    return call(E.RESTORE_CREATE, body={"backup_id": backup_id, "groups": groups})


def rc_seeded(**changes: Any) -> Provoke:
    async def provoke(d: Driver) -> Answer:
        body = {"backup_id": await seeded(d, **changes), "groups": GROUPS}
        return await d.call(E.RESTORE_CREATE, body=body)

    return provoke


async def rc_1011(d: Driver) -> Answer:
    await restore(d, 1)
    return await rc(GROUPS, 2)(d)


async def ru_1012(d: Driver) -> Answer:
    return await start(d, await running_restore(d))


async def ru_1013(d: Driver) -> Answer:
    return await d.call(E.RESTORE_UPDATE, await restore(d), {"status": "SUCCESS"})


async def ru_1014(d: Driver) -> Answer:
    rid = await restore(d)
    await d.control({"rebalancing": True})
    return await start(d, rid)


async def ru_1015(d: Driver) -> Answer:
    await running_backup(d, 104, "DATA")  # a backup on any host blocks restores
    return await start(d, await restore(d))


async def ru_1016_deleted_record(d: Driver) -> Answer:
    """The record of a running restore is deleted; its job still holds the gate."""
    await ok(d, E.RESTORE_DELETE, await running_restore(d))
    return await start(d, await restore(d, 2))  # no 1011: the running record is gone


async def ru_1016_external(d: Driver) -> Answer:
    """A restore started from the console's UI holds the gate without any record."""
    await d.control({"external_restore": "start"})
    assert await ok(d, E.RESTORES_LIST) == []
    return await start(d, await restore(d))


def ru_site(**site: Any) -> Provoke:
    async def provoke(d: Driver) -> Answer:
        return await start(d, await restore(d), **site)

    return provoke


def rd_1017(outcome: str) -> Provoke:
    async def provoke(d: Driver) -> Answer:
        return await d.call(E.RESTORE_DELETE, await finished_restore(d, outcome))

    return provoke


def bc(kind: str = "CONFIG", **body: Any) -> Provoke:
    return call(
        E.BACKUP_CREATE, body={"name": "ok_name", "configuration_id": 1, **body}, backup_type=kind
    )


async def bc_1011(d: Driver) -> Answer:
    world = make_world()
    undeployed = tuple(replace(x, undeployed_changes=True) for x in world.configurations)
    await d.console.seed_world(replace(world, configurations=undeployed))
    return await bc()(d)


async def bc_1015(d: Driver) -> Answer:
    await running_backup(d, 53, "CONFIG")
    # another host is free: a DATA backup on 104 runs while 53 is busy
    other = await ok(
        d,
        E.BACKUP_CREATE,
        body={"name": "on_104", "configuration_id": 1, "host_id": 104},
        backup_type="DATA",
    )
    assert other["status"] == "INITIALIZING"
    return await bc("DATA", name="second_on_53", host_id=53)(d)


async def bc_1016(d: Driver) -> Answer:
    await running_restore(d)
    return await bc("DATA", name="during_restore", host_id=104)(d)


async def bd_1017_cancelling(d: Driver) -> Answer:
    bid = await running_backup(d)
    assert (await ok(d, E.BACKUP_DELETE, bid))["status"] == "CANCELLING"
    return await d.call(E.BACKUP_DELETE, bid)


async def bd_1017_deleting(d: Driver) -> Answer:
    await d.control({"engine": {"backup": {"mode": "manual"}}})
    assert (await ok(d, E.BACKUP_DELETE, 1))["status"] == "DELETING"
    return await d.call(E.BACKUP_DELETE, 1)


def fault(endpoint: EndpointId, status: int, code: int) -> Provoke:
    """A fault rule on the endpoint's path template, then one request to it (HTTP only: the
    fault table sits in front of the HTTP API)."""
    ep = BY_ID[endpoint]

    async def provoke(d: Driver) -> Answer:
        rule = {"method": ep.method, "path": "/api" + ep.path, "status": status, "code": code}
        await d.control({"fault": rule})
        return await d.call(endpoint, 1, {"status": "REQUESTING"} if ep.method == "POST" else None)

    return provoke


# --- the table -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    endpoint: EndpointId
    code: int
    status: int
    provoke: Provoke
    message: str | None = None  # None: the message is the description
    since: ApiVersion = SUPPORTED[0]  # the case needs this version (beyond the code's own)
    injected: bool = False  # provoked by fault injection (HTTP only)

    @property
    def embedded(self) -> bool:
        """Whether the embedded console can answer it."""
        return not self.injected and self.endpoint in EMBEDDED_ENDPOINTS

    def applies(self, version: ApiVersion) -> bool:
        return (
            BY_ID[self.endpoint].exists_in(version)
            and codes.lookup(self.endpoint, self.code).exists_in(version, self.endpoint)
            and version >= self.since
        )

    def versions(self) -> list[ApiVersion]:
        return [v for v in SUPPORTED if self.applies(v)]

    def edge_versions(self) -> list[ApiVersion]:
        """The first and last versions of the case, and each where its expected text changes."""
        every = self.versions()
        return [
            v
            for i, v in enumerate(every)
            if i in (0, len(every) - 1) or self.expected(v) != self.expected(every[i - 1])
        ]

    def expected(self, version: ApiVersion) -> dict[str, Any]:
        """The whole error body the case must answer in a version."""
        text = description(self.endpoint, self.code, version)
        return {
            "message": self.message if self.message is not None else text,
            "details": {},
            "description": text,
            "code": self.code,
            "http_response": {"message": HTTP[self.status], "code": self.status},
        }


def _faults(
    endpoint: EndpointId, status: int, uniques: tuple[int, ...], message: str | None, prefix: str
) -> tuple[Case, ...]:
    return tuple(
        Case(
            f"{prefix}-{n}", endpoint, n, status, fault(endpoint, status, n), message, injected=True
        )
        for n in uniques
    )


CASES: tuple[Case, ...] = (
    # POST /restores
    Case("Rc-1002-absent", E.RESTORE_CREATE, 1002, 422,
         call(E.RESTORE_CREATE, body={"groups": GROUPS})),
    Case("Rc-1002-null", E.RESTORE_CREATE, 1002, 422, rc(GROUPS, None)),
    Case("Rc-1003", E.RESTORE_CREATE, 1003, 422, rc(GROUPS, 999), NO_BACKUP_999),
    Case("Rc-1004", E.RESTORE_CREATE, 1004, 422, rc_seeded(type="DATA", host_id=104)),
    Case("Rc-1005", E.RESTORE_CREATE, 1005, 422, rc_seeded(status="FAILED")),
    Case("Rc-1006", E.RESTORE_CREATE, 1006, 422, rc_seeded(is_valid=False)),
    Case("Rc-1007", E.RESTORE_CREATE, 1007, 422, rc_seeded(is_version_compatible=False)),
    Case("Rc-1008-empty", E.RESTORE_CREATE, 1008, 422, rc([])),
    Case("Rc-1008-null", E.RESTORE_CREATE, 1008, 422, rc(None)),
    Case("Rc-1009-apps", E.RESTORE_CREATE, 1009, 422, rc(["INSTALLED_APPS_CONFIG"])),
    Case("Rc-1009-apps-and-rules", E.RESTORE_CREATE, 1009, 422,
         rc(["INSTALLED_APPS_CONFIG", "CUSTOM_RULES_CONFIG"])),
    Case("Rc-1009-offenses", E.RESTORE_CREATE, 1009, 422, rc(["OFFENSES_DATA"]), since=V("18.0")),
    Case("Rc-1010", E.RESTORE_CREATE, 1010, 422, rc(["CUSTOM_RULES_CONFIG", "NOT_A_GROUP"]),
         "The group NOT_A_GROUP does not exist."),
    Case("Rc-1011", E.RESTORE_CREATE, 1011, 409, rc_1011),
    Case("Rc-1019-users", E.RESTORE_CREATE, 1019, 422, rc(["USERS_CONFIG"])),
    Case("Rc-1019-assets", E.RESTORE_CREATE, 1019, 422, rc(["ASSETS_DATA"])),
    # POST /restores/{id}
    Case("Ru-1001", E.RESTORE_UPDATE, 1001, 404,
         call(E.RESTORE_UPDATE, 999, {"status": "REQUESTING"}), NO_RESTORE_WITH_ID_999),
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
    Case("Ru-1033", E.RESTORE_UPDATE, 1033, 422, ru_site(restore_site_event_collector_id=999)),
    *_faults(E.RESTORE_UPDATE, 422, (1034, 1035, 1036, 1037), "", "Ru"),
    # DELETE, GET /restores/{id}, GET /restores
    Case("Rd-1001", E.RESTORE_DELETE, 1001, 404, call(E.RESTORE_DELETE, 999),
         NO_RESTORE_WITH_ID_999),
    Case("Rd-1017-success", E.RESTORE_DELETE, 1017, 422, rd_1017("SUCCESS"),
         RESTORE_1_SUCCESS_UNDELETABLE),
    Case("Rd-1017-failed", E.RESTORE_DELETE, 1017, 422, rd_1017("FAILED"),
         "The restore 1 is FAILED and cannot be deleted."),
    Case("Rg-1001", E.RESTORE_GET, 1001, 404, call(E.RESTORE_GET, 999), NO_RESTORE_WITH_ID_999),
    Case("Rl-1018", E.RESTORES_LIST, 1018, 422, call(E.RESTORES_LIST, sort="backup_id")),
    # HA helpers (21.0+)
    Case("Ha-1001", E.HA_ACTION, 1001, 404, call(E.HA_ACTION, "failover"),
         "The restore with id failover does not exist."),
    Case("Ip-1001", E.IPTABLES_UPDATE, 1001, 404,
         call(E.IPTABLES_UPDATE, body={"status": "SUCCESS"})),
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
    Case("Bu-1001", E.BACKUP_UPDATE, 1001, 404, call(E.BACKUP_UPDATE, 999, {"description": "x"}),
         NO_BACKUP_WITH_ID_999),
    Case("Bu-1008", E.BACKUP_UPDATE, 1008, 422,
         call(E.BACKUP_UPDATE, 1, {"description": "d" * 256})),
    Case("Bd-1001", E.BACKUP_DELETE, 1001, 404, call(E.BACKUP_DELETE, 999), NO_BACKUP_WITH_ID_999),
    Case("Bd-1017-cancelling", E.BACKUP_DELETE, 1017, 422, bd_1017_cancelling,
         "The backup 4 is CANCELLING and cannot be deleted."),
    Case("Bd-1017-deleting", E.BACKUP_DELETE, 1017, 422, bd_1017_deleting,
         BACKUP_1_DELETING_UNDELETABLE),
    Case("Bg-1001", E.BACKUP_GET, 1001, 404, call(E.BACKUP_GET, 999), NO_BACKUP_WITH_ID_999),
    Case("Bl-1018", E.BACKUPS_LIST, 1018, 422, call(E.BACKUPS_LIST, sort="is_valid")),
    *_faults(E.BACKUPS_LIST, 500, (1021,), None, "Bl"),
    # 500/1000 on all twelve
    *(c for ep in EndpointId for c in _faults(ep, 500, (1000,), None, ep.value)),
)  # fmt: skip

#: (case, version) for every supported version in which a case applies.
RUNS = [(case, v) for case in CASES for v in case.versions()]


# --- what an earlier version accepts -------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    """A request that succeeds in `versions` (a later version refuses it, or a rule is passed)."""

    id: str
    versions: tuple[ApiVersion, ...]
    provoke: Provoke
    status: str  # the record's status in the answer


def _upto(first_refusing: str) -> tuple[ApiVersion, ...]:
    return tuple(v for v in SUPPORTED if v < V(first_refusing))


ACCEPTED: tuple[Accepted, ...] = (
    Accepted("no-1019-before-15.0", _upto("15.0"), rc(["USERS_CONFIG", "ASSETS_DATA"]), "PENDING"),
    Accepted("offenses-alone-before-18.0", _upto("18.0"), rc(["OFFENSES_DATA"]), "PENDING"),
    Accepted("group-rules-pass-with-deployment-config", (LATEST,),
             rc(["DEPLOYMENT_CONFIG", "INSTALLED_APPS_CONFIG", "OFFENSES_DATA", "USERS_CONFIG",
                 "ASSETS_DATA"]), "PENDING"),
    Accepted("restore-site-ignored-before-13.0", _upto("13.0"),
             ru_site(restore_site_host_id=999, restore_site_event_collector_id=999),
             "REQUESTING"),
    Accepted("valid-restore-site", (LATEST,),
             ru_site(restore_site_host_id=53, restore_site_event_collector_id=104), "REQUESTING"),
)  # fmt: skip
ACCEPTED_RUNS = [(a, v) for a in ACCEPTED for v in a.versions]
