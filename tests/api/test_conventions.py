"""QRadar's REST conventions over HTTP: Version, auth, fields, Range, filter, sort, routing."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from engine.core.releases import DEPRECATED_BELOW
from engine.core.versions import LATEST, SUPPORTED, ApiVersion
from engine.simulator import Simulator
from tests.support.http import API, UNAUTHORIZED, control, error, framework, make_client, snapshot
from tests.support.worlds import GROUPS

V = ApiVersion.parse


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# --- Version ---


async def test_no_version_header_is_the_latest(client: httpx.AsyncClient) -> None:
    resp = await client.get(f"{API}/backups")
    assert resp.status_code == 200
    assert "Deprecated" not in resp.headers
    assert "app_deployment_location" in resp.json()[0]
    assert V("27.0") == LATEST


@pytest.mark.parametrize(
    ("header", "app_location", "deprecated"),
    [
        ("26", True, False),
        ("26.0", True, False),
        ("12", False, True),
        ("12.1", False, True),
        ("25.0", False, False),
        ("24.0", False, True),
        ("27", True, False),
        (" 26 ", True, False),
    ],
)
async def test_version_header_is_read(
    client: httpx.AsyncClient, header: str, app_location: bool, deprecated: bool
) -> None:
    resp = await client.get(f"{API}/backups", headers={"Version": header})
    assert resp.status_code == 200, resp.text
    assert ("app_deployment_location" in resp.json()[0]) is app_location
    assert ("Deprecated" in resp.headers) is deprecated


async def test_major_12_is_12_1(client: httpx.AsyncClient) -> None:
    """`12` is the latest 12.x: the journal of the request records what was served."""
    # 12.1 and 12.0 answer alike; the deprecated header shows a 12.x was chosen, and an
    # unknown minor of 12 is refused, so 12 resolved to a listed minor.
    assert (await client.get(f"{API}/backups", headers={"Version": "12"})).headers["Deprecated"]
    framework(await client.get(f"{API}/backups", headers={"Version": "12.5"}), 422, 13)
    from engine.core import versions

    assert versions.choose("12") == V("12.1")


@pytest.mark.parametrize("version", SUPPORTED, ids=str)
async def test_deprecated_header_per_version(
    client: httpx.AsyncClient, version: ApiVersion
) -> None:
    resp = await client.get(f"{API}/restores", headers={"Version": str(version)})
    assert resp.status_code == 200
    assert ("Deprecated" in resp.headers) is (version < DEPRECATED_BELOW)
    # errors of a deprecated version carry it too
    missing = await client.get(f"{API}/restores/999", headers={"Version": str(version)})
    error(missing, 404, 1001)
    assert ("Deprecated" in missing.headers) is (version < DEPRECATED_BELOW)


async def test_unknown_version_is_422(client: httpx.AsyncClient) -> None:
    for path in (f"{API}/backups", "/api/help/versions"):
        framework(
            await client.get(path, headers={"Version": "322.0123"}),
            422,
            13,
            "Version (322.0123) from header parameter (Version) is not a valid version. "
            "Please refer to documentation for list of valid versions.",
        )
    for bad in ("abc", "26.0.1", "26.", "99999999999", "28.5", "0.5", "3.2", "3.1"):
        framework(await client.get(f"{API}/backups", headers={"Version": bad}), 422, 13)


@pytest.mark.parametrize("above", ["28.0", "9999.0", "99999.0", "28", "9999", "27.1"])
async def test_versions_above_the_newest_are_not_valid(
    client: httpx.AsyncClient, above: str
) -> None:
    """A console knows no version above its release's newest: 422 as for `322.0123`."""
    framework(
        await client.get(f"{API}/backups", headers={"Version": above}),
        422,
        13,
        f"Version ({above}) from header parameter (Version) is not a valid version. "
        "Please refer to documentation for list of valid versions.",
    )


@pytest.mark.parametrize("removed", ["2.0", "1.0", "3.0", "2", "3"])
async def test_removed_version_is_422(client: httpx.AsyncClient, removed: str) -> None:
    framework(
        await client.get(f"{API}/backups", headers={"Version": removed}),
        422,
        14,
        f"Version ({removed}) from header parameter (Version) has been removed and is no "
        "longer valid. Please refer to documentation for list of valid versions.",
    )


async def test_version_3_0_is_removed(client: httpx.AsyncClient) -> None:
    framework(await client.get("/api/help/versions", headers={"Version": "3.0"}), 422, 14)


@pytest.mark.parametrize("older", ["11.0", "5.0", "11", "8.1", "9.1", "9.2", "10.1"])
async def test_known_older_version_lacks_the_family(client: httpx.AsyncClient, older: str) -> None:
    resp = await client.get(f"{API}/backups", headers={"Version": older})
    framework(
        resp,
        404,
        4,
        "Relative path (/backup_and_restore/backups) is not a known endpoint "
        "resource. Please refer to documentation for list of endpoint resources.",
    )


# --- auth ---


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"SEC": "nope"},
        {"SEC": ""},
        {"Authorization": basic("admin", "wrong")},
        {"Authorization": basic("nobody", "admin")},
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Basic /w=="},
        {"Authorization": "Basic YWRtaW4="},  # "admin", no colon
        {"Authorization": "Bearer bre-sim-token"},
        {"SEC": "nope", "Authorization": basic("admin", "admin")},
    ],
    ids=[
        "none",
        "bad-token",
        "empty-token",
        "bad-password",
        "bad-user",
        "bad-base64",
        "bad-utf8",
        "no-colon",
        "bearer",
        "bad-token-good-basic",
    ],
)
async def test_bad_credentials_are_401(app: Starlette, headers: dict[str, str]) -> None:
    async with make_client(app, headers) as c:
        for path in (f"{API}/backups", f"{API}/restores/1", "/api/help/versions", "/api/nowhere"):
            framework(await c.get(path), 401, 18, UNAUTHORIZED)
        framework(await c.post(f"{API}/restores", json={"backup_id": 1, "groups": GROUPS}), 401, 18)


async def test_basic_admin_works(app: Starlette, client: httpx.AsyncClient) -> None:
    async with make_client(app, {"Authorization": basic("admin", "admin")}) as c:
        assert (await c.get(f"{API}/backups")).status_code == 200
        created = await c.post(f"{API}/restores", json={"backup_id": 1, "groups": GROUPS})
        assert created.status_code == 201
        assert created.json()["initiated_by"] == "admin"


async def test_non_admin_token_is_403_but_help_works(sim: Simulator, app: Starlette) -> None:
    await sim.add_token("default", "read-only", admin=False)
    async with make_client(app, {"SEC": "read-only"}) as c:
        for method, path in (
            ("GET", "/backups"),
            ("POST", "/backups"),
            ("GET", "/restores/1"),
            ("DELETE", "/restores/1"),
            ("GET", "/haAction/x"),
        ):
            framework(
                await c.request(method, API + path),
                403,
                26,
                "User has insufficient capabilities to access this endpoint resource",
            )
        assert (await c.get("/api/help/versions")).status_code == 200
        assert (await c.get("/api/help/endpoints")).status_code == 200
        framework(await c.get("/api/config/deployment/hosts"), 403, 26)
        # the route is resolved first: an unknown path is 404 for anyone authenticated
        framework(await c.get("/api/nowhere"), 404, 4)


# --- fields ---


async def test_fields_query_on_gets_and_delete(client: httpx.AsyncClient) -> None:
    resp = await client.get(f"{API}/backups", params={"fields": "name,id"})
    assert resp.json() == [{"id": i, "name": f"nightly_{i}"} for i in (1, 2, 3)]  # record order
    assert (await client.get(f"{API}/backups/2", params={"fields": "status"})).json() == {
        "status": "SUCCESS"
    }
    deleted = await client.delete(f"{API}/backups/2", params={"fields": "id, status"})
    assert deleted.status_code == 202
    assert deleted.json() == {"id": 2, "status": "DELETING"}
    created = await client.post(f"{API}/restores", json={"backup_id": 1, "groups": GROUPS})
    rid = created.json()["id"]
    assert (await client.get(f"{API}/restores/{rid}", params={"fields": "backup_id"})).json() == {
        "backup_id": 1
    }
    assert (await client.get(f"{API}/restores", params={"fields": "groups"})).json() == [
        {"groups": GROUPS}
    ]


async def test_fields_header_on_posts(client: httpx.AsyncClient) -> None:
    h = {"fields": "id,status"}
    resp = await client.post(f"{API}/restores", json={"backup_id": 1, "groups": GROUPS}, headers=h)
    assert resp.status_code == 201
    assert resp.json() == {"id": 1, "status": "PENDING"}
    resp = await client.post(f"{API}/restores/1", json={"status": "REQUESTING"}, headers=h)
    assert resp.json() == {"id": 1, "status": "REQUESTING"}
    resp = await client.post(
        f"{API}/backups/1", json={"description": "d"}, headers={"fields": "description"}
    )
    assert resp.json() == {"description": "d"}


async def test_fields_header_on_backup_create(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        f"{API}/backups",
        json={"name": "mine", "configuration_id": 1},
        headers={"backup_type": "CONFIG", "fields": "name,status"},
    )
    assert resp.status_code == 201
    assert resp.json() == {"name": "mine", "status": "INITIALIZING"}


@pytest.mark.parametrize(
    ("fields", "code", "name"),
    [
        ("id,bogus", 30, "bogus"),
        ("nope", 30, "nope"),
        ("id(x)", 30, "x"),
        ("id,id", 31, "id"),
        ("name, id ,name", 31, "name"),
    ],
)
async def test_fields_errors(client: httpx.AsyncClient, fields: str, code: int, name: str) -> None:
    for resp in (
        await client.get(f"{API}/backups", params={"fields": fields}),
        await client.get(f"{API}/backups/1", params={"fields": fields}),
        await client.post(f"{API}/backups/1", json={}, headers={"fields": fields}),
    ):
        body = error(resp, 422, code, description="")
        if code == 30:
            assert body["message"] == (
                f'Specified field "{name}" is not recognized by this '
                'endpoint for media type "application/json"'
            )
        else:
            assert body["message"] == (
                f'fields parameter value "{fields}" was invalid. Specified '
                f'field "{name}" was used more than once at the same level'
            )


async def test_fields_error_changes_nothing(client: httpx.AsyncClient) -> None:
    before = await snapshot(client)
    resp = await client.post(
        f"{API}/restores", json={"backup_id": 1, "groups": GROUPS}, headers={"fields": "bogus"}
    )
    error(resp, 422, 30)
    assert await snapshot(client) == before
    ok = await client.post(f"{API}/restores", json={"backup_id": 1, "groups": GROUPS})
    assert ok.json()["id"] == 1  # the refused request consumed no id


async def test_sub_fields_in_brackets(client: httpx.AsyncClient) -> None:
    url = "/api/config/backup_and_restore/scheduled_backup_configurations"
    resp = await client.get(
        url, params={"fields": "configuration_id,data_backup_host_configuration(host_id)"}
    )
    assert resp.status_code == 200
    assert resp.json() == [
        {
            "configuration_id": 1,
            "data_backup_host_configuration": [{"host_id": 53}, {"host_id": 104}],
        }
    ]
    framework(
        await client.get(url, params={"fields": "data_backup_host_configuration(nope)"}), 422, 30
    )
    framework(await client.get(url, params={"fields": "configuration_id(host_id)"}), 422, 30)


# --- Range / Content-Range ---


async def add_backups(client: httpx.AsyncClient, ids: range) -> None:
    for i in ids:
        await control(client, {"add_backup": {"id": i, "name": f"extra_{i}"}})


@pytest.mark.parametrize(
    ("header", "ids", "content_range"),
    [
        ("items=0-4", [1, 2, 3, 10, 11], "items 0-4/12"),
        ("items=0-99", None, "items 0-11/12"),
        ("items=11-11", [18], "items 11-11/12"),
        ("items=12-20", [], "items */12"),
        ("items = 3 - 5", [10, 11, 12], "items 3-5/12"),
        (None, None, "items 0-11/12"),
    ],
)
async def test_range(
    client: httpx.AsyncClient, header: str | None, ids: list[int] | None, content_range: str
) -> None:
    await add_backups(client, range(10, 19))
    headers = {} if header is None else {"Range": header}
    resp = await client.get(f"{API}/backups", headers=headers, params={"fields": "id"})
    assert resp.status_code == 200
    assert resp.headers["Content-Range"] == content_range
    got = [b["id"] for b in resp.json()]
    assert got == (ids if ids is not None else [1, 2, 3, *range(10, 19)])


async def test_range_empty_list(client: httpx.AsyncClient) -> None:
    resp = await client.get(f"{API}/restores")
    assert resp.json() == []
    assert resp.headers["Content-Range"] == "items */0"
    resp = await client.get(f"{API}/restores", headers={"Range": "items=0-4"})
    assert resp.headers["Content-Range"] == "items */0"


@pytest.mark.parametrize(
    "header",
    [
        "items=-3-2",
        "items=a-b",
        "items=1",
        "pages=0-1",
        "",
        "items=0-4,6-7",
        "items=0-1234567890123456789",
    ],
)
async def test_malformed_range_is_36(client: httpx.AsyncClient, header: str) -> None:
    for path in ("/backups", "/restores"):
        framework(
            await client.get(API + path, headers={"Range": header}),
            422,
            36,
            "Failed to parse Range header. The syntax of the Range header must follow this "
            "pattern: items=x-y",
        )


async def test_negative_range_is_37(client: httpx.AsyncClient) -> None:
    for path in ("/backups", "/restores"):
        framework(
            await client.get(API + path, headers={"Range": "items=3-0"}),
            422,
            37,
            'Range of pages specified in "Range" header is negative. Non-negative page range '
            "must be specified.",
        )


# --- filter ---


@pytest.fixture
async def varied(client: httpx.AsyncClient) -> None:
    """Backups 1-3 (demo) plus 10 (DATA on 104, no description), 11 (FAILED), 12 (desc "x y")."""
    await control(
        client, {"add_backup": {"id": 10, "name": "data_10", "type": "DATA", "host_id": 104}}
    )
    await control(
        client,
        {
            "add_backup": {
                "id": 11,
                "name": "Failed_11",
                "status": "FAILED",
                "description": "broken",
            }
        },
    )
    await control(client, {"add_backup": {"id": 12, "name": "spaced", "description": "x y"}})


BACKUP_FILTERS = [
    ("id = 2", [2]),
    ("id=2", [2]),
    ("id != 2", [1, 3, 10, 11, 12]),
    ("id <> 2", [1, 3, 10, 11, 12]),
    ("id ^= 2", [1, 3, 10, 11, 12]),
    ("id < 3", [1, 2]),
    ("id > 10", [11, 12]),
    ("id <= 3", [1, 2, 3]),
    ("id >= 11", [11, 12]),
    ("id in (1, 3, 99)", [1, 3]),
    ("id not in (1,3)", [2, 10, 11, 12]),
    ("id between 2 and 10", [2, 3, 10]),
    ("id not between 2 and 10", [1, 11, 12]),
    ("description is null", [10]),
    ("description is not null", [1, 2, 3, 11, 12]),
    ("description = null", []),  # a bare null is a value; nulls never equal anything
    ("description != broken", [1, 2, 3, 10, 12]),  # null fields pass the negations
    ("name like 'nightly%'", [1, 2, 3]),
    ('name like "%_1_"', [10, 11]),
    ("name like '%\\_1'", [1]),
    ("name like 'nightly__'", [1, 2, 3]),
    ("name ilike 'FAILED%'", [11]),
    ("name like 'FAILED%'", []),
    ("name not like 'nightly%'", [10, 11, 12]),
    ('description = "x y"', [12]),
    ("type = DATA", [10]),
    ("status = FAILED or type = DATA", [10, 11]),
    ("status = SUCCESS and not type = DATA", [1, 2, 3, 12]),
    ("NOT (id < 3 OR id > 10)", [3, 10]),
    ("is_valid = true", [1, 2, 3, 10, 11, 12]),
    ("is_valid = false", []),
    ("id = abc", []),
    ("host_id = 104 and (status = SUCCESS or status = FAILED)", [10]),
    ("time_completed > 0", [1, 2, 3, 10, 11, 12]),
    ("size_on_disk >= 5.2e7", [1, 2, 3, 10, 11, 12]),
    ("app_deployment_location = NA", [10]),
]


@pytest.mark.usefixtures("varied")
@pytest.mark.parametrize(("text", "ids"), BACKUP_FILTERS, ids=[t for t, _ in BACKUP_FILTERS])
async def test_filter_backups(client: httpx.AsyncClient, text: str, ids: list[int]) -> None:
    resp = await client.get(f"{API}/backups", params={"filter": text, "fields": "id"})
    assert resp.status_code == 200, resp.text
    assert [b["id"] for b in resp.json()] == ids
    assert resp.headers["Content-Range"] == (
        f"items 0-{len(ids) - 1}/{len(ids)}" if ids else "items */0"
    )


@pytest.fixture
async def restores(client: httpx.AsyncClient, sim: Simulator) -> None:
    """Restores 1 (SUCCESS, groups CUSTOM_RULES), 2 (FAILED, two groups), 3 (PENDING)."""
    console = sim.console()
    await control(
        client, {"engine": {"restore": {"mode": "immediate", "outcome": ["SUCCESS", "FAILED"]}}}
    )
    for groups in (GROUPS, ["DEPLOYMENT_CONFIG", "INSTALLED_APPS_CONFIG"]):
        rid = (
            await client.post(f"{API}/restores", json={"backup_id": 1, "groups": groups})
        ).json()["id"]
        assert (
            await client.post(f"{API}/restores/{rid}", json={"status": "REQUESTING"})
        ).status_code == 200
        await console.wait_for_restore(rid)
    assert (
        await client.post(f"{API}/restores", json={"backup_id": 2, "groups": GROUPS})
    ).status_code == 201


RESTORE_FILTERS = [
    ("status = SUCCESS", [1]),
    ("status in (SUCCESS, FAILED)", [1, 2]),
    ("backup_id is null", [1, 2]),
    ("backup_id is not null", [3]),
    ("backup_id = 2", [3]),
    ("time_completed is null", [3]),
    ("groups contains DEPLOYMENT_CONFIG", [2]),
    ("groups = CUSTOM_RULES_CONFIG", [1, 3]),
    ("groups != CUSTOM_RULES_CONFIG", [2]),
    ("groups like '%APPS%'", [2]),
    ("backup_name = nightly_1 and status != PENDING", [1, 2]),
    ("is_cross_deployment_restore = false", [1, 2, 3]),
    ("initiated_by = 'API_user: bre-sim'", [1, 2, 3]),
    ("id between 2 and 3 and not status = PENDING", [2]),
]


@pytest.mark.usefixtures("restores")
@pytest.mark.parametrize(("text", "ids"), RESTORE_FILTERS, ids=[t for t, _ in RESTORE_FILTERS])
async def test_filter_restores(client: httpx.AsyncClient, text: str, ids: list[int]) -> None:
    resp = await client.get(f"{API}/restores", params={"filter": text})
    assert resp.status_code == 200, resp.text
    assert [r["id"] for r in resp.json()] == ids


INJECTIONS = [
    "id=1; DROP TABLE backups",
    "id = 1 or 1=1",
    "id = 1 or '1'='1'",
    "name = 'x' --",
    "id = 1) or (1=1",
    "__import__('os').system('true')",
    "id = 1 union select * from backups",
    "nope = 1",
    "id ==1",
    "id in ()",
    "(id = 1",
    "id = 1)",
    "name like nightly",
    "id = ",
    "id between 1",
    "id is maybe",
    "id = 'unterminated",
    "x(y) = 1",
    "((((((" * 20,
    "not " * 100 + "id = 1",
    "a" * 5000,
    "id = 1 \x00",
    "id = 1 and",
    "groups contains",
]


@pytest.mark.usefixtures("varied")
@pytest.mark.parametrize("text", INJECTIONS, ids=range(len(INJECTIONS)))
async def test_bad_filters_are_12_and_change_nothing(client: httpx.AsyncClient, text: str) -> None:
    before = await snapshot(client)
    for path in ("/backups", "/restores"):
        body = error(await client.get(API + path, params={"filter": text}), 422, 12, description="")
        assert body["message"].startswith("Failed to parse filter parameter")
    assert await snapshot(client) == before


# --- sort ---


@pytest.mark.usefixtures("varied")
@pytest.mark.parametrize(
    ("sort", "ids"),
    [
        ("id", [1, 2, 3, 10, 11, 12]),
        ("+id", [1, 2, 3, 10, 11, 12]),
        ("-id", [12, 11, 10, 3, 2, 1]),
        ("-type,+id", [10, 1, 2, 3, 11, 12]),
        ("status,-id", [11, 12, 10, 3, 2, 1]),
        ("+description,id", [10, 11, 1, 2, 3, 12]),
        ("-host_id,-name", [10, 12, 3, 2, 1, 11]),
        ("", [1, 2, 3, 10, 11, 12]),
    ],
)
async def test_sort_backups(client: httpx.AsyncClient, sort: str, ids: list[int]) -> None:
    resp = await client.get(f"{API}/backups", params={"sort": sort, "fields": "id"})
    assert resp.status_code == 200, resp.text
    assert [b["id"] for b in resp.json()] == ids


@pytest.mark.usefixtures("varied")
async def test_sort_then_range(client: httpx.AsyncClient) -> None:
    resp = await client.get(
        f"{API}/backups", params={"sort": "-id", "fields": "id"}, headers={"Range": "items=1-2"}
    )
    assert resp.json() == [{"id": 11}, {"id": 10}]
    assert resp.headers["Content-Range"] == "items 1-2/6"


@pytest.mark.usefixtures("restores")
async def test_sort_restores(client: httpx.AsyncClient) -> None:
    resp = await client.get(f"{API}/restores", params={"sort": "-id"})
    assert [r["id"] for r in resp.json()] == [3, 2, 1]
    resp = await client.get(f"{API}/restores", params={"sort": "time_completed,-id"})
    assert next(r["id"] for r in resp.json()) == 3  # nulls first when ascending
    resp = await client.get(f"{API}/restores", params={"sort": "-time_completed"})
    assert [r["id"] for r in resp.json()][-1] == 3  # and last when descending


B_1018 = (
    "The Sort field must be one of the following fields: [id, host_id, name, description, type, "
    "version, time_initiated, time_completed, initiated_by, status, size_on_disk, "
    "content_file_path]."
)
R_1018 = (
    "The sort field must be one of the following fields: [id, initiated_by, time_initiated, "
    "time_completed, is_cross_deployment_restore, backup_name, backup_type, backup_version, "
    "backup_filename]."
)


@pytest.mark.parametrize(
    ("path", "sort", "text"),
    [
        ("/backups", "is_valid", B_1018),
        ("/backups", "id,configuration_id", B_1018),
        ("/backups", "app_deployment_location", B_1018),
        ("/backups", "-", B_1018),
        ("/backups", "id,", B_1018),
        ("/backups", "bogus", B_1018),
        ("/backups", "id\\", B_1018),
        ("/restores", "status", R_1018),
        ("/restores", "host_id", R_1018),
        ("/restores", "groups", R_1018),
        ("/restores", "backup_id", R_1018),
        ("/restores", "-id,+nope", R_1018),
    ],
)
async def test_sort_1018(client: httpx.AsyncClient, path: str, sort: str, text: str) -> None:
    error(
        await client.get(API + path, params={"sort": sort}),
        422,
        1018,
        description=text,
        message=text,
    )


# --- routing and media ---


@pytest.mark.parametrize(
    "path",
    [
        "/api/nowhere",
        f"{API}/backupz",
        f"{API}/backups/1/extra",
        "/api/",
        f"{API}",
        "/api/help",
        f"{API}/restores/1/2",
    ],
)
async def test_unknown_path_is_404_4(client: httpx.AsyncClient, path: str) -> None:
    relative = path[len("/api") :]
    framework(
        await client.get(path),
        404,
        4,
        f"Relative path ({relative}) is not a known endpoint "
        "resource. Please refer to documentation for list of endpoint resources.",
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/backups/1"),
        ("PATCH", "/restores/1"),
        ("DELETE", "/backups"),
        ("DELETE", "/restores"),
        ("POST", "/haAction/x"),
        ("OPTIONS", "/backups"),
        ("GET", "/updateiptablesprefile"),
    ],
)
async def test_wrong_method_is_405(client: httpx.AsyncClient, method: str, path: str) -> None:
    before = await snapshot(client)
    body = error(await client.request(method, API + path), 405, 15, description="")
    assert body["message"] == (
        f"{method} is not a supported method for the endpoint resource /backup_and_restore{path}."
    )
    assert await snapshot(client) == before


async def test_wrong_method_on_help_is_405(client: httpx.AsyncClient) -> None:
    error(await client.post("/api/help/versions"), 405, 15)


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "text/plain, text/html"])
async def test_unacceptable_accept_is_406(client: httpx.AsyncClient, accept: str) -> None:
    framework(await client.get(f"{API}/backups", headers={"Accept": accept}), 406, 16)
    framework(
        await client.post(
            f"{API}/restores", json={"backup_id": 1, "groups": GROUPS}, headers={"Accept": accept}
        ),
        406,
        16,
    )
    assert (await client.get(f"{API}/restores")).json() == []


@pytest.mark.parametrize(
    "accept", ["application/json", "*/*", "application/*", "text/html, application/json;q=0.5"]
)
async def test_acceptable_accept(client: httpx.AsyncClient, accept: str) -> None:
    assert (await client.get(f"{API}/backups", headers={"Accept": accept})).status_code == 200


async def test_delete_restore_accepts_text_plain(client: httpx.AsyncClient) -> None:
    await client.post(f"{API}/restores", json={"backup_id": 1, "groups": GROUPS})
    resp = await client.delete(f"{API}/restores/1", headers={"Accept": "text/plain"})
    assert resp.status_code == 204


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"]
)
async def test_non_json_body_is_415(client: httpx.AsyncClient, content_type: str) -> None:
    before = await snapshot(client)
    body = b'{"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"]}'
    resp = await client.post(
        f"{API}/restores", content=body, headers={"Content-Type": content_type}
    )
    framework(
        resp,
        415,
        19,
        f'Content type "{content_type}" is not supported. Supported media types: application/json',
    )
    assert await snapshot(client) == before


async def test_json_charset_is_accepted(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        f"{API}/restores",
        content=b'{"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"]}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert resp.status_code == 201


async def test_body_over_1_mib_is_413(client: httpx.AsyncClient) -> None:
    before = await snapshot(client)
    big = b'{"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"], "pad": "' + b"x" * (1 << 20) + b'"}'
    framework(
        await client.post(f"{API}/restores", content=big),
        413,
        17,
        "The request body is larger than 1048576 bytes.",
    )

    async def chunks() -> Any:  # no Content-Length: counted while reading
        for _ in range(17):
            yield b"x" * 65536

    framework(await client.post(f"{API}/restores", content=chunks()), 413, 17)
    assert await snapshot(client) == before
    # just under the limit is read (and then judged on its content)
    pad = b"x" * ((1 << 20) - 100)
    ok = b'{"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"], "p": "' + pad + b'"}'
    assert len(ok) <= 1 << 20
    assert (await client.post(f"{API}/restores", content=ok)).status_code == 201


async def test_unknown_query_parameters_are_ignored(client: httpx.AsyncClient) -> None:
    plain = await client.get(f"{API}/backups")
    odd = await client.get(f"{API}/backups", params={"bogus": "1", "limit": "x", "filter_": "!"})
    assert odd.status_code == 200
    assert odd.json() == plain.json()
    created = await client.post(
        f"{API}/restores",
        params={"dry_run": "true", "fields": "id"},
        json={"backup_id": 1, "groups": GROUPS},
    )
    assert created.status_code == 201
    assert created.json() == {"id": 1}  # lenient: fields in the query of a POST is read too
