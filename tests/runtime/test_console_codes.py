"""The code cases of tests/support/code_cases.py through the embedded API.

The driver calls the `Console` operations with the same bodies the HTTP cases send and applies
control actions with `Control` (the control language of scenarios and `/simulator/...`); each
case runs in the versions where its expected text changes, and must raise the catalogue's typed
error whose body is the one expected. The HA helpers and fault injection exist over HTTP only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from engine.control.actions import Control
from engine.core import codes
from engine.core.endpoints import BY_ID, EndpointId
from engine.core.errors import Conflict, NotFound, QRadarError, Unprocessable
from engine.core.query import parse_sort
from engine.core.records import BACKUP_SORTABLE, RESTORE_SORTABLE
from engine.core.versions import LATEST, ApiVersion
from engine.runtime.console import Console
from engine.simulator import Simulator
from tests.support.code_cases import (
    ACCEPTED_RUNS,
    CASES,
    EMBEDDED_ENDPOINTS,
    Accepted,
    Answer,
    Case,
    running_backup,
)

E = EndpointId
ERROR_CLASS = {404: NotFound, 409: Conflict, 422: Unprocessable}
SORTABLE = {E.RESTORES_LIST: RESTORE_SORTABLE, E.BACKUPS_LIST: BACKUP_SORTABLE}


class ConsoleDriver:
    """The embedded driver of the code cases: a `QRadarError` is the answer of its status."""

    def __init__(self, sim: Simulator, console: Console, version: ApiVersion) -> None:
        self.console = console
        self.version = version
        self._control = Control(sim)

    async def call(
        self, endpoint: EndpointId, id: int | str | None = None, body: Any = None, *,
        backup_type: Any = "CONFIG", sort: str | None = None,
    ) -> Answer:  # fmt: skip
        try:
            result = await self._operation(endpoint, id, body, backup_type, sort)
        except QRadarError as error:
            return Answer(error.code.http_status, error.body(self.version), error)
        return Answer(BY_ID[endpoint].success_status, result, result)

    async def _operation(
        self, endpoint: EndpointId, id: Any, body: Any, backup_type: Any, sort: str | None
    ) -> Any:
        c, version = self.console, self.version
        if sort is not None:  # what the list endpoints do with `sort` before listing
            parse_sort(sort, SORTABLE[endpoint], QRadarError.at(endpoint, 1018))
        match endpoint:
            case E.RESTORES_LIST:
                return [r.to_json() for r in await c.list_restores()]
            case E.RESTORE_CREATE:
                return (await c.create_restore_from(body, version=version)).to_json()
            case E.RESTORE_GET:
                return await c.get_restore_json(id)
            case E.RESTORE_UPDATE:
                return (await c.request_restore_from(id, body, version=version)).to_json()
            case E.RESTORE_DELETE:
                return await c.delete_restore(id)
            case E.BACKUPS_LIST:
                return [b.to_json(version, listing=True) for b in await c.list_backups()]
            case E.BACKUP_CREATE:
                return (await c.create_backup_from(backup_type, body)).to_json(version)
            case E.BACKUP_GET:
                return (await c.get_backup(id)).to_json(version)
            case E.BACKUP_UPDATE:
                return (await c.update_backup_from(id, body)).to_json(version)
            case E.BACKUP_DELETE:
                return (await c.delete_backup(id)).to_json(version)
        raise AssertionError(f"the embedded API has no operation for {endpoint}")

    async def control(self, actions: Mapping[str, Any]) -> Any:
        return await self._control.apply(self.console, dict(actions))


EMBEDDED = [(case, v) for case in CASES if case.embedded for v in case.edge_versions()]


@pytest.mark.parametrize(("case", "version"), EMBEDDED, ids=[f"{c.id}@{v}" for c, v in EMBEDDED])
async def test_code_is_raised_with_its_exact_body(
    sim: Simulator, console: Console, case: Case, version: ApiVersion
) -> None:
    answer = await case.provoke(ConsoleDriver(sim, console, version))
    error = answer.raw
    assert isinstance(error, ERROR_CLASS[case.status]), answer
    assert error.code is codes.lookup(case.endpoint, case.code)
    assert error.code.exists_in(version, case.endpoint)
    assert answer.body == case.expected(version)


@pytest.mark.parametrize(
    ("accepted", "version"), ACCEPTED_RUNS, ids=[f"{a.id}@{v}" for a, v in ACCEPTED_RUNS]
)
async def test_accepted_through_the_console(
    sim: Simulator, console: Console, accepted: Accepted, version: ApiVersion
) -> None:
    answer = await accepted.provoke(ConsoleDriver(sim, console, version))
    assert answer.status in (200, 201), answer.body
    assert answer.body["status"] == accepted.status


#: Codes that only fault injection provokes (an unexpected failure, and the undocumented
#: 1034-1037): the console has no request that raises them.
INJECTED_ONLY = {1000, 1021, 1034, 1035, 1036, 1037}


def test_cases_cover_catalogue() -> None:
    """Every code the console can raise has an embedded case; the others are HTTP only."""
    wanted = {
        (endpoint, code.unique)
        for code in codes.CATALOGUE
        for endpoint in code.endpoints
        if code.unique not in INJECTED_ONLY and endpoint in EMBEDDED_ENDPOINTS
    }
    covered = {(case.endpoint, case.code) for case in CASES if case.embedded}
    assert covered == wanted, {"missing": wanted - covered, "extra": covered - wanted}
    assert {case.code for case in CASES if case.injected} == INJECTED_ONLY


# --- beyond the table -------------------------------------------------------------------------


async def test_backup_per_host_gate(sim: Simulator, console: Console) -> None:
    """One backup per host: 53 busy refuses 53 (1015) but not 104."""
    await running_backup(ConsoleDriver(sim, console, LATEST), 53, "CONFIG")
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
