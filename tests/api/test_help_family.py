"""The whole help family (reference section 1.9) and /api/system/about, per version and release:
resources, single documents by id, and IBM's words on the endpoint documents."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from engine.core.releases import RELEASES, Release
from engine.core.versions import SUPPORTED, ApiVersion
from engine.simulator import Simulator
from tests.support.http import error, framework, make_client
from tests.support.reference_texts import (
    SEED_FIELDS_DESCRIPTION,
    SEED_RU_BODY_DESCRIPTION,
    SEED_RU_BODY_SAMPLE,
    SEED_RU_IMPORTANT,
    SEED_RU_RESPONSE_FIRST_LINES,
    SEED_RU_RESPONSE_LAST_LINE,
    SEED_RU_RESPONSE_SAMPLE,
    SEED_RU_SUMMARY,
)
from tests.support.worlds import make_world

V = ApiVersion.parse
RU = "/backup_and_restore/restores/{id}"
BL = "/backup_and_restore/backups"


async def doc_of(client: httpx.AsyncClient, version: ApiVersion, method: str, path: str) -> Any:
    resp = await client.get(
        "/api/help/endpoints",
        params={"filter": f'version = "{version}" and http_method = {method} and path = "{path}"'},
    )
    (doc,) = resp.json()
    return doc


@pytest.mark.parametrize("version", SUPPORTED, ids=str)
async def test_restore_update_page_words(client: httpx.AsyncClient, version: ApiVersion) -> None:
    """IBM's words for POST /restores/{id}: those of the seed page (15.0-20.0), the Note
    paragraph from 21.0."""
    doc = await doc_of(client, version, "POST", RU)
    assert doc["summary"] == SEED_RU_SUMMARY
    assert doc["description"].startswith(SEED_RU_SUMMARY + "\n")
    assert doc["description"].endswith("\n" + SEED_RU_IMPORTANT)
    assert ("Note: Only the restore status field is modifiable." in doc["description"]) is (
        version >= V("21.0")
    )
    params = {p["parameter_name"]: p for p in doc["parameters"]}
    assert list(params) == ["id", "fields", "restore"]
    assert params["id"]["description"] is None  # IBM prints `null`
    assert params["id"]["type"] == "PATH"
    assert params["fields"]["description"] == SEED_FIELDS_DESCRIPTION
    assert params["fields"]["type"] == "HEADER"
    body = params["restore"]
    assert body["description"] == SEED_RU_BODY_DESCRIPTION
    assert json.loads(body["mime_types"][0]["sample"]) == SEED_RU_BODY_SAMPLE
    assert body["mime_types"][0]["data_type"] == "Object"
    assert doc["response_description"].startswith(SEED_RU_RESPONSE_FIRST_LINES)
    assert doc["response_description"].endswith(SEED_RU_RESPONSE_LAST_LINE)
    (mime,) = doc["response_mime_types"]
    assert mime["mime_type"] == "APPLICATION_JSON"
    assert mime["media_type"] == "application/json"
    assert json.loads(mime["sample"]) == SEED_RU_RESPONSE_SAMPLE


@pytest.mark.parametrize("version", SUPPORTED, ids=str)
async def test_backup_list_documents_app_deployment_location_from_26(
    client: httpx.AsyncClient, version: ApiVersion
) -> None:
    doc = await doc_of(client, version, "GET", BL)
    from_26 = version >= V("26.0")
    assert ("app_deployment_location" in doc["response_description"]) is from_26
    (sample,) = json.loads(doc["response_mime_types"][0]["sample"])
    assert ("app_deployment_location" in sample) is from_26
    assert "intiated_by" in sample  # IBM's sample keys, as IBM prints them
    assert [p["parameter_name"] for p in doc["parameters"]] == ["Range", "fields", "sort", "filter"]
    assert all(p["description"].startswith("Optional - ") for p in doc["parameters"])
    assert doc["last_modified_version"] == ("26.0" if from_26 else "12.0")


async def test_resources_are_the_family_tree(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/help/resources", params={"filter": 'version = "21.0"'})
    assert resp.status_code == 200
    docs = resp.json()
    for d in docs:
        assert list(d) == ["id", "child_resource_ids", "endpoint_ids", "resource", "path",
                           "parent_resource_id", "version"]  # fmt: skip
    by_path = {d["path"]: d for d in docs}
    assert list(by_path) == [
        "/backup_and_restore", "/backup_and_restore/backups", "/backup_and_restore/backups/{id}",
        "/backup_and_restore/restores", "/backup_and_restore/restores/{id}",
        "/backup_and_restore/haAction", "/backup_and_restore/haAction/{flag}",
        "/backup_and_restore/updateiptablesprefile",
    ]  # fmt: skip
    root = by_path["/backup_and_restore"]
    assert root["parent_resource_id"] is None
    assert root["resource"] == "backup_and_restore"
    assert root["endpoint_ids"] == []
    assert by_path["/backup_and_restore/backups/{id}"]["resource"] == "{id}"
    for d in docs:
        for child in d["child_resource_ids"]:
            assert next(c for c in docs if c["id"] == child)["parent_resource_id"] == d["id"]
    endpoints = (
        await client.get("/api/help/endpoints", params={"filter": 'version="21.0"'})
    ).json()
    for e in endpoints:
        resource = next(d for d in docs if d["id"] == e["resource_id"])
        assert resource["path"] == e["path"]
        assert e["id"] in resource["endpoint_ids"]
    assert sorted(i for d in docs for i in d["endpoint_ids"]) == sorted(e["id"] for e in endpoints)
    (v21,) = (await client.get("/api/help/versions", params={"filter": 'version="21.0"'})).json()
    assert v21["root_resource_ids"] == [root["id"]]
    before = await client.get("/api/help/resources", params={"filter": 'version = "20.0"'})
    assert "/backup_and_restore/haAction" not in {d["path"] for d in before.json()}


@pytest.mark.parametrize(
    ("listing", "single", "name"),
    [
        ("/api/help/versions", "/api/help/versions/{}", "version"),
        ("/api/help/resources", "/api/help/resources/{}", "resource"),
        ("/api/help/endpoints", "/api/help/endpoints/{}", "endpoint"),
    ],
)
async def test_single_documents_by_id(
    client: httpx.AsyncClient, listing: str, single: str, name: str
) -> None:
    docs = (await client.get(listing)).json()
    for doc in docs[:: max(1, len(docs) // 7)] + docs[-1:]:
        resp = await client.get(single.format(doc["id"]))
        assert resp.status_code == 200, resp.text
        assert resp.json() == doc
    one = await client.get(single.format(docs[0]["id"]), params={"fields": "id"})
    assert one.json() == {"id": docs[0]["id"]}
    framework(await client.get(single.format(docs[0]["id"]), params={"fields": "nope"}), 422, 30)
    id_word = "ID" if name == "resource" else "id"
    text = f"No {name} documentation object was found for the provided {name} {id_word}."
    error(await client.get(single.format(999999)), 404, 1002, description=text, message=text)
    framework(await client.get(single.format("x")), 422, 11)


async def test_operator_has_no_access_to_the_family(sim: Simulator, app: Starlette) -> None:
    await sim.add_token("default", "read-only", admin=False)
    async with make_client(app, {"SEC": "read-only"}) as c:
        docs = (await c.get("/api/help/endpoints")).json()
        assert docs
        assert all(d["caller_has_access"] is False for d in docs)
        assert (await c.get("/api/system/about")).status_code == 200
    async with make_client(app) as admin:
        docs = (await admin.get("/api/help/endpoints")).json()
        assert all(d["caller_has_access"] is True for d in docs)


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r.name)
async def test_a_release_describes_its_own_versions(
    sim: Simulator, app: Starlette, release: Release
) -> None:
    token = "t-" + release.name.replace(" ", "-")
    await sim.create_console(token, tokens=(token,), world=make_world(), release=release.name)
    async with make_client(app, {"SEC": token}) as c:
        about = await c.get("/api/system/about")
        assert about.status_code == 200
        assert about.json() == release.about()
        versions = (await c.get("/api/help/versions")).json()
        assert versions[-1]["version"] == str(release.newest)
        for d in versions:
            assert d["deprecated"] is release.deprecated(V(d["version"]))
        endpoints = (await c.get("/api/help/endpoints")).json()
        assert max(V(d["version"]) for d in endpoints) == release.newest
        for d in endpoints:
            assert d["deprecated"] is release.deprecated(V(d["version"]))


async def test_about_on_the_default_console(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Version": "9.1"}, {"Version": "12.0"}):
        resp = await client.get("/api/system/about", headers=headers)
        assert resp.status_code == 200
        assert resp.json() == {
            "release_name": "7.5.0 UpdatePackage 14",
            "build_version": "2021.6.14.20251017194912",
            "fips_enabled": False,
            "external_version": "7.5.0",
        }
    fields = await client.get("/api/system/about", params={"fields": "external_version"})
    assert fields.json() == {"external_version": "7.5.0"}
    framework(await client.get("/api/system/about", headers={"Version": "28.0"}), 422, 13)
