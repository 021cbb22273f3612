"""The page in a browser with 1,000 jobs and 10,000 journal entries: paged, windowed, live.

The simulator runs in-process on a thread of its own (its journal filled directly, which is
quicker than 10,000 requests), behind a real uvicorn, and chromium looks at it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import expect

from engine.api.app import create_app
from engine.api.journal import Journal
from engine.simulator import Settings, Simulator

ADMIN = "admin-credential-of-the-scale-test"
GROUPS = ["CUSTOM_RULES_CONFIG"]
REFUSED = b'{"message": "A restore is in progress.", "code": 1016}'


@dataclass
class Busy:
    url: str = ""
    loop: asyncio.AbstractEventLoop | None = None
    journal: Journal | None = None
    server: uvicorn.Server | None = None
    ready: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def record(self, path: str) -> None:
        """One more journal entry, recorded on the simulator's own loop."""
        assert self.loop is not None
        journal = self.journal
        assert journal is not None
        self.loop.call_soon_threadsafe(
            lambda: journal.record(1_767_225_700_000, "GET", path, "", {}, b"", 200, b"{}", {}, 1.0)
        )


async def _serve(busy: Busy) -> None:
    settings = Settings(admin_token=ADMIN, journal_entries=10_000, journal_bytes=64 * 2**20)
    async with Simulator(settings) as simulator:
        app = create_app(simulator)
        console = simulator.console()
        await console.set_rule("restore", {"mode": "immediate"})
        for _ in range(1000):
            restore = await console.create_restore(1, GROUPS)
            await console.request_restore(restore.id)
        journal = app.state.api.journals(console.id)
        at = console.clock.now_ms()
        for n in range(10_000):
            refused = n % 10 == 0
            path = f"/api/backup_and_restore/restores/{n % 1000 + 1}"
            status, body = (409, REFUSED) if refused else (200, b"{}")
            journal.record(at, "POST", path, "", {}, b"", status, body, {}, 1.0)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        busy.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        busy.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        busy.loop, busy.journal = asyncio.get_running_loop(), journal
        busy.ready.set()
        await busy.server.serve(sockets=[sock])


def _run(busy: Busy) -> None:
    try:
        asyncio.run(_serve(busy))
    except BaseException as error:  # shown by the fixture
        busy.error = error
    finally:
        busy.ready.set()


@pytest.fixture(scope="module")
def busy() -> Iterator[Busy]:
    served = Busy()
    thread = threading.Thread(target=_run, args=(served,), name="busy-simulator", daemon=True)
    thread.start()
    served.ready.wait(120)
    if served.error is not None:
        raise served.error
    try:
        yield served
    finally:
        if served.server is not None:
            served.server.should_exit = True
        thread.join(30)


def test_a_thousand_jobs_and_ten_thousand_entries_in_a_browser(page: Any, busy: Busy) -> None:
    page.goto(f"{busy.url}/?token={ADMIN}")
    started = time.perf_counter()
    page.goto(f"{busy.url}/ui/consoles/default")
    page.wait_for_selector("#live.on")
    took = time.perf_counter() - started
    print(f"1,000 jobs, 10,000 entries: the console page live in {took:.2f} s")
    assert page.locator("li.job").count() == 50
    assert page.locator("#rows tr.entry").count() == 100

    page.click("a.page:has-text('older')")
    page.wait_for_selector("ol.jobs[data-page='2']")
    assert page.locator("li.job").count() == 50

    page.select_option("select[name=status]", "409")
    page.click("#filter button")
    expect(page.locator("#rows td.code:not(:text-is('409'))")).to_have_count(0)
    expect(page.locator("#rows tr.entry")).to_have_count(100)
    page.click("button[data-more]")
    expect(page.locator("#rows tr.entry")).to_have_count(200)

    page.select_option("select[name=status]", "")
    page.click("#filter button")
    page.wait_for_selector("#rows tr.entry:nth-child(100)")
    busy.record("/api/backup_and_restore/restores/999999")  # still live (within a second
    # on a quiet machine: test_browser holds that promise; here 1,000 jobs are read per change)
    page.wait_for_selector("#rows td.path:has-text('/restores/999999')", timeout=2000)
