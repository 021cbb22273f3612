"""Browser tests of the web page: Debian's chromium (never a downloaded browser) driven by
Playwright, against a real `bre serve` (the plugin's `bre_server`, virtual clocks).

Where chromium is not installed the browser tests are skipped, saying so, except in CI (`CI`
set), where `.ci/run` installs it and a missing browser fails. `BRE_SCREENSHOTS=DIR` makes the
tests that draw a view save it there (the README's images: `BRE_SCREENSHOTS=docs/images`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.testing.plugin import ServerConsole, SimulatorServer

CHROMIUM = os.environ.get("BRE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium per module: Playwright's sync API holds an event loop on this thread while
    it runs, which the asyncio tests of other modules must not find there."""
    if not os.path.exists(CHROMIUM):
        reason = f"no chromium at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must run the browser tests")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookie) and its page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(5000)
    try:
        yield page
    finally:
        context.close()


def screenshot(page: Any, name: str) -> None:
    """Save the page as DIR/name.png when BRE_SCREENSHOTS=DIR is set."""
    folder = os.environ.get("BRE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


class Api:
    """A console's QRadar API and its control surface, as a client script drives them."""

    def __init__(self, server: SimulatorServer, console: ServerConsole) -> None:
        self.server, self.console = server, console
        self.http = httpx.Client(base_url=console.url, timeout=10)

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.console.headers, **kwargs.pop("headers", {})}
        return self.http.request(
            method, "/api/backup_and_restore" + path, headers=headers, **kwargs
        )

    def control(self, actions: dict[str, Any]) -> httpx.Response:
        response = self.http.post(
            f"/simulator/consoles/{self.console.id}/control",
            json=actions,
            headers=self.console.control_headers,
        )
        response.raise_for_status()
        return response

    def restore(self, backup: int = 1) -> int:
        created = self.call(
            "POST", "/restores", json={"backup_id": backup, "groups": ["CUSTOM_RULES_CONFIG"]}
        )
        assert created.status_code == 201, created.text
        return int(created.json()["id"])

    def start(self, id: int) -> httpx.Response:
        return self.call("POST", f"/restores/{id}", json={"status": "REQUESTING"})


@pytest.fixture
def api(bre_server: SimulatorServer, bre_server_console: ServerConsole) -> Iterator[Api]:
    client = Api(bre_server, bre_server_console)
    # phases that last their durations on the console's virtual clock (the plugin's consoles
    # poll by default): the timelines show time passing as a client's console would
    client.control({"engine": {"restore": {"mode": "auto"}, "backup": {"mode": "auto"}}})
    try:
        yield client
    finally:
        client.http.close()


def sign_in_as_admin(page: Any, server: SimulatorServer) -> None:
    """Open the URL the ready line prints (the page keeps the credential in its cookie)."""
    page.goto(f"{server.url}/?token={server.admin_token}")
