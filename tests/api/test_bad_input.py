"""Bad input (issue 3, build point 10): always a QRadar-shaped 4xx, never a 500, nothing changed.

Each refused request is followed by a look at both lists and at the next id: a refusal must not
create, change or number anything.
"""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.simulator import Simulator
from tests.support.http import API, error, framework, is_qradar_error, snapshot
from tests.support.worlds import GROUPS

READ_BODY = 'Failed to transform user body parameter "{}" with a content type of "APPLICATION_JSON"'

BAD_RESTORE_BODIES: list[tuple[str, bytes, int, str | None]] = [
    ("malformed", b'{"backup_id": 1, "groups": [', 11, READ_BODY.format("restore")),
    ("trailing-garbage", b'{"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"]} x', 11, None),
    (
        "array",
        b'[{"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"]}]',
        11,
        READ_BODY.format("restore"),
    ),
    ("string", b'"restore"', 11, None),
    ("number", b"42", 11, None),
    ("null", b"null", 10, None),
    (
        "string-id",
        b'{"backup_id": "1", "groups": ["CUSTOM_RULES_CONFIG"]}',
        11,
        READ_BODY.format("backup_id"),
    ),
    ("float-id", b'{"backup_id": 1.5, "groups": ["CUSTOM_RULES_CONFIG"]}', 11, None),
    ("bool-id", b'{"backup_id": true, "groups": ["CUSTOM_RULES_CONFIG"]}', 11, None),
    ("nan-id", b'{"backup_id": NaN, "groups": ["CUSTOM_RULES_CONFIG"]}', 11, None),
    ("infinity-id", b'{"backup_id": Infinity, "groups": ["CUSTOM_RULES_CONFIG"]}', 11, None),
    ("huge-float-id", b'{"backup_id": 1e999, "groups": ["CUSTOM_RULES_CONFIG"]}', 11, None),
    (
        "huge-int-id",
        b'{"backup_id": 99999999999999999999999999, "groups": ["CUSTOM_RULES_CONFIG"]}',
        11,
        None,
    ),
    (
        "long-max-plus-one",
        b'{"backup_id": 9223372036854775808, "groups": ["CUSTOM_RULES_CONFIG"]}',
        11,
        None,
    ),
    ("digits-5000", b'{"backup_id": ' + b"9" * 5000 + b', "groups": []}', 11, None),
    ("unknown-group", b'{"backup_id": 1, "groups": ["NOPE"]}', 1010, None),
    ("group-number", b'{"backup_id": 1, "groups": [1]}', 11, READ_BODY.format("groups")),
    ("groups-string", b'{"backup_id": 1, "groups": "CUSTOM_RULES_CONFIG"}', 11, None),
    ("groups-object", b'{"backup_id": 1, "groups": {"a": 1}}', 11, None),
    ("invalid-utf8", b'{"backup_id": 1, "groups": ["\xff\xfe"]}', 11, None),
    ("latin1", '{"backup_id": 1, "groups": ["é"]}'.encode("latin-1"), 11, None),
    ("utf16", '{"backup_id": 1}'.encode("utf-16"), 11, None),
    ("empty", b"", 10, 'Request body must be populated for body parameter "restore"'),
    ("blank", b"  \n\t ", 10, None),
    ("deep-nesting", b"[" * 100_000 + b"]" * 100_000, 11, None),
    ("lone-surrogate", b'{"backup_id": 1, "groups": ["\\ud800"]}', 11, READ_BODY.format("restore")),
    ("nul-byte", b'{"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG\\u0000"]}', 1010, None),
    ("negative-id", b'{"backup_id": -1, "groups": ["CUSTOM_RULES_CONFIG"]}', 1003, None),
    (
        "long-min",
        b'{"backup_id": -9223372036854775808, "groups": ["CUSTOM_RULES_CONFIG"]}',
        1003,
        None,
    ),
]


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [b[1:] for b in BAD_RESTORE_BODIES],
    ids=[b[0] for b in BAD_RESTORE_BODIES],
)
async def test_bad_restore_bodies(
    client: httpx.AsyncClient, body: bytes, code: int, message: str | None
) -> None:
    before = await snapshot(client)
    resp = await client.post(
        f"{API}/restores", content=body, headers={"Content-Type": "application/json"}
    )
    got = error(resp, 422, code)
    if message is not None:
        assert got["message"] == message
    if code < 1000:
        assert got["description"] == ""
    assert await snapshot(client) == before
    ok = await client.post(f"{API}/restores", json={"backup_id": 1, "groups": GROUPS})
    assert ok.status_code == 201
    assert ok.json()["id"] == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"[]", 11),
        (b'{"status": 1}', 11),
        (b'{"status": null}', 1013),
        (b"{}", 1013),
        (b"", 10),
        (b'{"status": "REQUESTING", "restore_site_host_id": "53"}', 11),
        (b'{"status": "REQUESTING", "restore_site_host_id": 1e400}', 11),
        (b'{"status": "REQUESTING", "restore_site_event_collector_id": 123456789012345678901}', 11),
        (b'{"status": "requesting"}', 1013),
        (b"\x80", 11),
    ],
)
async def test_bad_restore_request_bodies(
    client: httpx.AsyncClient, body: bytes, code: int
) -> None:
    rid = (await client.post(f"{API}/restores", json={"backup_id": 1, "groups": GROUPS})).json()[
        "id"
    ]
    before = await snapshot(client)
    error(await client.post(f"{API}/restores/{rid}", content=body), 422, code)
    assert await snapshot(client) == before


@pytest.mark.parametrize(
    ("headers", "body", "code"),
    [
        ({}, b'{"name": "a", "configuration_id": 1}', 8),
        ({"backup_type": "config"}, b"{}", 11),
        ({"backup_type": "BOTH"}, b'{"name": "a", "configuration_id": 1}', 11),
        ({"backup_type": ""}, b'{"name": "a", "configuration_id": 1}', 11),
        ({"backup_type": "CONFIG"}, b"", 10),
        ({"backup_type": "CONFIG"}, b"[]", 11),
        ({"backup_type": "CONFIG"}, b'{"name": 5, "configuration_id": 1}', 11),
        ({"backup_type": "CONFIG"}, b'{"name": "a", "configuration_id": "1"}', 11),
        ({"backup_type": "CONFIG"}, b'{"name": "a", "configuration_id": 1, "host_id": 1e3}', 11),
        ({"backup_type": "CONFIG"}, b'{"name": "a", "configuration_id": 18446744073709551616}', 11),
        ({"backup_type": "CONFIG"}, b'{"name": "a", "configuration_id": 1, "description": []}', 11),
        ({"backup_type": "CONFIG"}, b'{"name": "a\\u0000", "configuration_id": 1}', 1004),
        ({"backup_type": "CONFIG"}, b'{"name": "\xc3\x28", "configuration_id": 1}', 11),
        (
            {"backup_type": "CONFIG"},
            b'{"name": "a", "configuration_id": 1, "description": "\\ud800"}',
            11,
        ),
        (
            {"backup_type": "CONFIG"},
            b'{"name": "a", "configuration_id": 1, "description": "x\\udfff\\ud800"}',
            11,
        ),
    ],
)
async def test_bad_backup_creates(
    client: httpx.AsyncClient, headers: dict[str, str], body: bytes, code: int
) -> None:
    before = await snapshot(client)
    error(await client.post(f"{API}/backups", content=body, headers=headers), 422, code)
    assert await snapshot(client) == before
    ok = await client.post(
        f"{API}/backups",
        json={"name": "fine", "configuration_id": 1},
        headers={"backup_type": "CONFIG"},
    )
    assert ok.status_code == 201
    assert ok.json()["id"] == 4


@pytest.mark.parametrize(
    "raw", ["abc", "1.0", "-1", "1e3", "%C2%B2", "%D9%A1", "%EF%BC%91", "0x10", "9" * 19, "%20"]
)
async def test_bad_path_ids(client: httpx.AsyncClient, raw: str) -> None:
    before = await snapshot(client)
    for method, path, kw in (
        ("GET", "/backups/", {}),
        ("DELETE", "/backups/", {}),
        ("POST", "/backups/", {"json": {"description": "x"}}),
        ("GET", "/restores/", {}),
        ("DELETE", "/restores/", {}),
        ("POST", "/restores/", {"json": {"status": "REQUESTING"}}),
    ):
        resp = await client.request(method, f"{API}{path}{raw}", **kw)
        framework(
            resp,
            422,
            11,
            'Failed to transform user path parameter "id" with a content type of "TEXT_PLAIN"',
        )
    assert await snapshot(client) == before


async def test_huge_path_id_within_digits_is_404(client: httpx.AsyncClient) -> None:
    error(await client.get(f"{API}/backups/{'9' * 18}"), 404, 1001)
    error(await client.get(f"{API}/restores/000000000000000001"), 404, 1001)


@pytest.mark.parametrize(
    "headers",
    [
        [("Version", "26.0"), ("Version", "12.0")],
        [("SEC", "bre-sim-token"), ("SEC", "other")],
        [("Range", "items=0-0"), ("Range", "items=0-1")],
        [("Version", "")],
        [("Version", "\t")],
        [("fields", "")],
        [("Accept", "")],
        [("Content-Type", "application/json;;;")],
        [("X-Weird", "\x7f")],
        [("Range", "items=00-01")],
        [("Accept", "application/json;q=abc")],
        [("Content-Length", "3")],
    ],
    ids=lambda h: ",".join(k for k, _ in h),
)
async def test_odd_or_repeated_headers(
    client: httpx.AsyncClient, headers: list[tuple[str, str]]
) -> None:
    before = await snapshot(client)
    for method, path in (("GET", "/backups"), ("GET", "/restores/1"), ("POST", "/restores")):
        resp = await client.request(method, API + path, headers=headers)
        assert resp.status_code < 500, resp.text
        if resp.status_code >= 400:
            assert is_qradar_error(resp), resp.text
    assert await snapshot(client) == before


async def test_repeated_header_keeps_the_first(client: httpx.AsyncClient) -> None:
    resp = await client.get(
        f"{API}/backups", headers=[("Range", "items=0-0"), ("Range", "items=0-2")]
    )
    assert resp.headers["Content-Range"] == "items 0-0/3"


@pytest.mark.parametrize("description", ["\\ud800", "ok \\udc00", "\\ude00\\ud83d"])
async def test_a_lone_surrogate_in_a_description_update_is_422(
    client: httpx.AsyncClient, description: str
) -> None:
    before = await snapshot(client)
    body = b'{"description": "' + description.encode() + b'"}'
    resp = await client.post(
        f"{API}/backups/1", content=body, headers={"Content-Type": "application/json"}
    )
    framework(resp, 422, 11, READ_BODY.format("backup"))
    assert await snapshot(client) == before
    paired = await client.post(f"{API}/backups/1", json={"description": "\U0001f600 ok"})
    assert paired.status_code == 200
    assert paired.json()["description"] == "\U0001f600 ok"


async def test_huge_numbers_in_description_update(client: httpx.AsyncClient) -> None:
    before = await snapshot(client)
    for body in (
        b'{"description": 1e999}',
        b'{"description": 12345678901234567890123}',
        b'{"description": -0.0}',
        b'{"description": NaN}',
    ):
        error(await client.post(f"{API}/backups/1", content=body), 422, 11)
    assert await snapshot(client) == before


async def test_embedded_huge_backup_id_is_422(sim: Simulator) -> None:
    """The embedded API refuses ids beyond a Long too (rules._integer bounds them)."""
    from engine.core.errors import Unprocessable

    with pytest.raises(Unprocessable):
        await sim.console().create_restore(10**30, GROUPS)


# --- fuzzing ---

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)
RESTORE_KEYS = st.sampled_from(["backup_id", "groups", "status", "id", "x"])
GROUP_NAMES = st.sampled_from(
    [
        "CUSTOM_RULES_CONFIG",
        "DEPLOYMENT_CONFIG",
        "USERS_CONFIG",
        "LICENSE_CONFIG",
        "QVM_CONFIG",
        "INSTALLED_APPS_CONFIG",
        "REPORT_TEMPLATES",
        "ASSETS_DATA",
        "OFFENSES_DATA",
        "DOMAINS",
    ]
)
RESTORE_BODIES = (
    JSON
    | st.fixed_dictionaries(
        {},
        optional={
            "backup_id": st.integers(-3, 5) | JSON,
            "groups": st.lists(GROUP_NAMES, max_size=4) | JSON,
        },
    )
    | st.dictionaries(RESTORE_KEYS, JSON, max_size=3)
)
BACKUP_BODIES = JSON | st.fixed_dictionaries(
    {},
    optional={
        "name": st.from_regex(r"[A-Za-z0-9_.\- ]{0,8}", fullmatch=True) | JSON,
        "configuration_id": st.integers(0, 2) | JSON,
        "description": st.text(max_size=3) | JSON,
        "host_id": st.sampled_from([53, 104, 201, 202, 203, 999]) | JSON,
    },
)
FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def encode(value: Any) -> bytes:
    return json.dumps(value, allow_nan=False).encode()


def _finite(value: Any) -> bool:
    return not (isinstance(value, float) and not math.isfinite(value))


class Tracker:
    """The next ids a fresh console would hand out, kept in step with what the fuzzer created."""

    def __init__(self) -> None:
        self.next_restore = 1
        self.next_backup = 4


async def check(client: httpx.AsyncClient, resp: httpx.Response, before: Any) -> None:
    assert resp.status_code < 500, resp.text
    if resp.status_code >= 400:
        assert is_qradar_error(resp), resp.text
        assert await snapshot(client) == before


@FUZZ
@given(body=RESTORE_BODIES)
async def test_fuzz_restore_json(client: httpx.AsyncClient, body: Any) -> None:
    before = await snapshot(client)
    resp = await client.post(f"{API}/restores", content=encode(body))
    await check(client, resp, before)
    if resp.is_success:
        created = resp.json()
        assert resp.status_code == 201
        fetched = await client.get(f"{API}/restores/{created['id']}")
        assert fetched.status_code == 200
        assert fetched.json() == created
        assert created["id"] == len(before[1]) + 1 + _deleted(client)
        deleted = await client.delete(f"{API}/restores/{created['id']}")  # room for the next one
        assert deleted.status_code == 204
        assert deleted.content == b""
        client.__dict__["_deleted"] = _deleted(client) + 1


def _deleted(client: httpx.AsyncClient) -> int:
    return int(client.__dict__.get("_deleted", 0))


@FUZZ
@given(body=BACKUP_BODIES, kind=st.sampled_from(["CONFIG", "DATA", None, "config", "X"]))
async def test_fuzz_backup_json(client: httpx.AsyncClient, body: Any, kind: str | None) -> None:
    before = await snapshot(client)
    headers = {} if kind is None else {"backup_type": kind}
    resp = await client.post(f"{API}/backups", content=encode(body), headers=headers)
    await check(client, resp, before)
    if resp.is_success:
        created = resp.json()
        assert resp.status_code == 201
        assert created["id"] == max(b["id"] for b in before[0]) + 1
        fetched = await client.get(f"{API}/backups/{created['id']}")
        assert fetched.status_code == 200
        assert fetched.json() == created
        assert created["status"] == "INITIALIZING"
        # cancel it, so that its host is free for the next example
        deleted = await client.delete(f"{API}/backups/{created['id']}")
        assert deleted.status_code == 202
        assert deleted.json()["status"] == "CANCELLING"


@FUZZ
@given(
    raw=st.binary(max_size=64),
    path=st.sampled_from(
        ["/restores", "/backups", "/restores/1", "/backups/1", "/updateiptablesprefile"]
    ),
)
async def test_fuzz_raw_bytes(client: httpx.AsyncClient, raw: bytes, path: str) -> None:
    before = await snapshot(client)
    resp = await client.post(API + path, content=raw, headers={"backup_type": "CONFIG"})
    if resp.is_success:  # some bytes are valid JSON by chance
        return
    await check(client, resp, before)


@FUZZ
@given(
    text=st.text(max_size=40),
    param=st.sampled_from(["filter", "sort", "fields"]),
    path=st.sampled_from(["/backups", "/restores", "/backups/1"]),
)
async def test_fuzz_query_parameters(
    client: httpx.AsyncClient, text: str, param: str, path: str
) -> None:
    resp = await client.get(API + path, params={param: text})
    assert resp.status_code < 500, resp.text
    if resp.status_code >= 400:
        assert is_qradar_error(resp), resp.text
        assert resp.json()["code"] in {12, 30, 31, 1018}


@FUZZ
@given(
    value=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
    name=st.sampled_from(["Range", "Version", "fields", "Accept", "SEC", "Authorization"]),
)
async def test_fuzz_headers(client: httpx.AsyncClient, value: str, name: str) -> None:
    resp = await client.get(f"{API}/backups", headers={name: value})
    assert resp.status_code < 500, resp.text
    if resp.status_code >= 400:
        assert is_qradar_error(resp), resp.text
