"""`/api_doc` and the page's assets: everything from the package, nothing from elsewhere."""

from __future__ import annotations

import re
from importlib.resources import files

import httpx

from engine.api.openapi import document
from engine.web.page import ASSETS

#: where a page could name something to fetch: attributes that load or link
TARGET = re.compile(r'(?:src|href|action)="([^"]*)"')


async def test_api_doc_renders_every_operation_of_the_openapi_document(
    bre_client: httpx.AsyncClient,
) -> None:
    page = await bre_client.get("/api_doc", headers={"SEC": "", "Authorization": ""})
    assert page.status_code == 200
    operations = [
        (method.upper(), path)
        for path, methods in document()["paths"].items()
        for method in methods
    ]
    assert page.text.count('<details class="op"') == len(operations)
    for method, path in operations:
        assert f'data-method="{method}" data-path="{path}"' in page.text
    assert 'id="schema-Restore"' in page.text
    assert "1016" in page.text  # the unique codes of each answer
    assert "/ui/assets/apidoc.js" in page.text


async def test_the_pages_fetch_nothing_from_elsewhere(bre_client: httpx.AsyncClient) -> None:
    await bre_client.get(f"/?token={bre_client.headers['Authorization'].split()[1]}")
    for path in ("/", "/ui/consoles/default", "/api_doc"):
        html = (await bre_client.get(path)).text
        targets = TARGET.findall(html)
        assert targets
        assert all(t.startswith(("/", "#", "?")) for t in targets), (path, targets)
    for name in ASSETS:
        text = (files("engine.web") / "assets" / name).read_text()
        assert not re.search(r"https?://|@import|url\(", text), name
        served = await bre_client.get(f"/ui/assets/{name}")
        assert served.status_code == 200
        assert served.content == (files("engine.web") / "assets" / name).read_bytes()
