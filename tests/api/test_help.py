"""Self-description (/api/help/...) and the world the validations refer to (/api/config/...)."""

from __future__ import annotations

import httpx
import pytest

from engine.core import codes
from engine.core.endpoints import ENDPOINTS
from engine.core.versions import ALL, SUPPORTED, ApiVersion
from tests.support.http import control, framework

V = ApiVersion.parse
FAMILY_12 = [
    ("GET", "/backup_and_restore/backups"),
    ("POST", "/backup_and_restore/backups"),
    ("GET", "/backup_and_restore/backups/{id}"),
    ("POST", "/backup_and_restore/backups/{id}"),
    ("DELETE", "/backup_and_restore/backups/{id}"),
    ("GET", "/backup_and_restore/restores"),
    ("POST", "/backup_and_restore/restores"),
    ("GET", "/backup_and_restore/restores/{id}"),
    ("POST", "/backup_and_restore/restores/{id}"),
    ("DELETE", "/backup_and_restore/restores/{id}"),
]
FAMILY_21 = [
    *FAMILY_12,
    ("GET", "/backup_and_restore/haAction/{flag}"),
    ("POST", "/backup_and_restore/updateiptablesprefile"),
]


async def test_help_versions(client: httpx.AsyncClient) -> None:
    """Every version the console (7.5.0 UP14) knows, removed ones too, with their flags."""
    resp = await client.get("/api/help/versions")
    assert resp.status_code == 200
    docs = resp.json()
    assert [d["version"] for d in docs] == [str(v) for v in ALL]
    assert {"8.1", "9.1", "9.2", "10.1"} <= {d["version"] for d in docs}
    assert resp.headers["Content-Range"] == f"items 0-{len(ALL) - 1}/{len(ALL)}"
    for d in docs:
        assert list(d) == ["id", "version", "deprecated", "removed", "root_resource_ids"]
        removed = d["version"] in ("1.0", "2.0", "3.0")
        assert d["removed"] is removed
        assert d["deprecated"] is (V(d["version"]) < V("25.0"))
        assert (d["root_resource_ids"] == []) is (V(d["version"]) < V("12.0"))


async def test_help_versions_filter_fields_range(client: httpx.AsyncClient) -> None:
    resp = await client.get(
        "/api/help/versions", params={"filter": "deprecated = false", "fields": "version"}
    )
    assert resp.json() == [{"version": "25.0"}, {"version": "26.0"}, {"version": "27.0"}]
    resp = await client.get(
        "/api/help/versions", headers={"Range": "items=1-2"}, params={"fields": "version"}
    )
    assert resp.json() == [{"version": "2.0"}, {"version": "3.0"}]
    assert resp.headers["Content-Range"] == f"items 1-2/{len(ALL)}"
    framework(await client.get("/api/help/versions", headers={"Range": "items=x"}), 422, 36)
    framework(await client.get("/api/help/versions", params={"fields": "nope"}), 422, 30)
    framework(await client.get("/api/help/versions", params={"filter": "nope = 1"}), 422, 12)


async def test_help_endpoints_of_26_0(client: httpx.AsyncClient) -> None:
    """The discovery call of self-discovering clients, exactly as they send it (with the space)."""
    resp = await client.get(
        "/api/help/endpoints", params={"filter": "version=26.0", "fields": "http_method, path"}
    )
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert len(got) == 12
    assert all(list(d) == ["path", "http_method"] for d in got)  # the record's own key order
    assert sorted((d["http_method"], d["path"]) for d in got) == sorted(FAMILY_21)
    assert resp.headers["Content-Range"] == "items 0-11/12"


@pytest.mark.parametrize("version", SUPPORTED, ids=str)
async def test_help_endpoints_per_version(client: httpx.AsyncClient, version: ApiVersion) -> None:
    resp = await client.get("/api/help/endpoints", params={"filter": f'version = "{version}"'})
    docs = resp.json()
    expected = FAMILY_21 if version >= V("21.0") else FAMILY_12
    assert sorted((d["http_method"], d["path"]) for d in docs) == sorted(expected)
    if version == V("20.0"):
        assert len(docs) == 10
    by_key = {(e.method, e.path): e for e in ENDPOINTS}
    for doc in docs:
        endpoint = by_key[(doc["http_method"], doc["path"])]
        wanted = sorted(
            (c.http_status, c.unique, c.description(version))
            for c in codes.for_endpoint(endpoint.id, version)
        )
        got = sorted(
            (e["response_code"], e["unique_code"], e["description"]) for e in doc["error_responses"]
        )
        assert got == wanted
        assert doc["success_responses"][0]["response_code"] == endpoint.success_status
        assert V(doc["last_modified_version"]) <= version
        for p in doc["parameters"]:
            assert p["type"] in ("QUERY", "HEADER", "PATH", "BODY")


async def test_help_endpoint_codes_follow_version(client: httpx.AsyncClient) -> None:
    async def codes_of(version: str, method: str, path: str) -> set[int]:
        resp = await client.get(
            "/api/help/endpoints",
            params={
                "filter": f'version = "{version}" and http_method = {method} and path = "{path}"'
            },
        )
        (doc,) = resp.json()
        return {e["unique_code"] for e in doc["error_responses"]}

    ru, rc, bl = (
        "/backup_and_restore/restores/{id}",
        "/backup_and_restore/restores",
        "/backup_and_restore/backups",
    )
    assert {1030, 1034} & await codes_of("12.1", "POST", ru) == set()
    assert {1030, 1031, 1032, 1033, 1034, 1035} <= await codes_of("13.0", "POST", ru)
    assert {1036, 1037} & await codes_of("14.0", "POST", ru) == set()
    assert {1036, 1037} <= await codes_of("15.0", "POST", ru)
    assert 1019 not in await codes_of("14.0", "POST", rc)
    assert 1019 in await codes_of("15.0", "POST", rc)
    assert await codes_of("25.0", "GET", bl) == {1018, 1000}
    assert await codes_of("26.0", "GET", bl) == {1018, 1000, 1021}


async def test_help_endpoint_1009_text(client: httpx.AsyncClient) -> None:
    texts = {}
    for version in ("17.0", "18.0"):
        resp = await client.get(
            "/api/help/endpoints",
            params={
                "filter": f'version = "{version}" and http_method = POST '
                'and path = "/backup_and_restore/restores"',
                "fields": "error_responses(unique_code, description)",
            },
        )
        (doc,) = resp.json()
        texts[version] = next(
            e["description"] for e in doc["error_responses"] if e["unique_code"] == 1009
        )
    assert (
        texts["17.0"]
        == "The DEPLOYMENT_CONFIG group must be included with the INSTALLED_APPS_CONFIG group."
    )
    assert texts["18.0"] == (
        "The DEPLOYMENT_CONFIG group must be included with the "
        "INSTALLED_APPS_CONFIG or OFFENSES_DATA group."
    )


async def test_help_endpoints_range(client: httpx.AsyncClient) -> None:
    total = sum(1 for v in SUPPORTED for e in ENDPOINTS if e.exists_in(v))  # 12.0 to 27.0
    resp = await client.get(
        "/api/help/endpoints", headers={"Range": "items=0-4"}, params={"fields": "id"}
    )
    assert len(resp.json()) == 5
    assert resp.headers["Content-Range"] == f"items 0-4/{total}"
    resp = await client.get("/api/help/endpoints", headers={"Range": f"items={total}-{total + 5}"})
    assert resp.json() == []
    assert resp.headers["Content-Range"] == f"items */{total}"
    framework(await client.get("/api/help/endpoints", headers={"Range": "items=4-0"}), 422, 37)
    framework(
        await client.get("/api/help/endpoints", params={"fields": "parameters(nope)"}), 422, 30
    )


async def test_help_works_with_any_known_version(client: httpx.AsyncClient) -> None:
    for version in ("12.0", "11.0", "27.0"):
        assert (
            await client.get("/api/help/endpoints", headers={"Version": version})
        ).status_code == 200


#: IBM's documented host fields, in its order (26.0--config-deployment-hosts-GET).
IBM_HOST_FIELDS = [
    "id", "hostname", "private_ip", "public_ip", "appliance", "version", "status",
    "email_server_id", "eps_rate_hardware_limit", "eps_allocation", "average_eps", "peak_eps",
    "proxy_server_id", "fpm_rate_hardware_limit", "fpm_allocation", "average_fpm", "peak_fpm",
    "primary_server_id", "secondary_server_id", "license_serial_number", "components",
    "compression_enabled", "encryption_enabled", "cpus", "total_memory", "app_memory",
]  # fmt: skip
#: IBM's status values for a host.
HOST_STATUSES = {
    "Active", "ADDING", "Deleted", "Deleting", "ADD_FAILED", "New", "ADD_FAILED_VERSION_CHECK",
    "ADD_FAILED_DEPLOY_IN_PROGRESS", "ADD_FAILED_RETRY_CONNECTION", "ADD_FAILED_HA",
    "ADD_FAILED_CHECK_LOGS", "ADD_FAILED_QVMPROCESSOR_ALREADY_EXISTS",
}  # fmt: skip


async def test_deployment_hosts_reflect_the_world(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/config/deployment/hosts")
    hosts = {h["id"]: h for h in resp.json()}
    assert set(hosts) == {53, 104, 201, 202, 203}
    for host in hosts.values():
        assert list(host) == IBM_HOST_FIELDS  # no invented key (is_console, stores_ariel_data)
        assert host["status"] in HOST_STATUSES
        assert host["public_ip"] == host["private_ip"]
        assert set(host["appliance"]) == {"id", "type"}
    assert hosts[53]["appliance"] == {"id": "3199", "type": "Console"}
    assert hosts[104]["appliance"]["id"] != "3199"
    assert "qflow" in hosts[53]["components"]
    assert "eventcollector" in hosts[104]["components"]
    assert hosts[201]["status"] == "New"
    assert hosts[53]["status"] == "Active"
    resp = await client.get(
        "/api/config/deployment/hosts",
        params={"filter": 'status = "New"', "fields": "id, appliance(type)"},
    )
    assert resp.json() == [{"id": 201, "appliance": {"type": "Event Processor"}}]
    framework(
        await client.get("/api/config/deployment/hosts", params={"fields": "is_console"}), 422, 30
    )
    await control(
        client, {"world": {"hosts": [{"id": 7, "console": True, "components": ["console"]}]}}
    )
    assert [h["id"] for h in (await client.get("/api/config/deployment/hosts")).json()] == [7]


async def test_backup_configurations_reflect_the_world(client: httpx.AsyncClient) -> None:
    url = "/api/config/backup_and_restore/scheduled_backup_configurations"
    (conf,) = (await client.get(url)).json()
    assert conf["configuration_id"] == 1
    assert [h["host_id"] for h in conf["data_backup_host_configuration"]] == [53, 104]
    one = await client.get(f"{url}/1")
    assert one.status_code == 200
    assert one.json() == conf
    assert (await client.get(f"{url}/1", params={"fields": "configuration_id"})).json() == {
        "configuration_id": 1
    }
    framework(await client.get(f"{url}/2"), 404, 4)
    framework(await client.get(f"{url}/x"), 422, 11)
