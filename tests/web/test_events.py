"""The page's event streams: what they send, and their bounds (count, idle, shutdown)."""

from __future__ import annotations

import signal
from collections.abc import Hashable
from contextlib import aclosing

import anyio
import httpx
from starlette.applications import Starlette

from engine.control.actions import Control
from engine.simulator import Simulator
from engine.web import Page
from engine.web.events import Streams
from tests.support.serving import serve


async def collect(streams: Streams, fingerprint: object, limit: int = 10) -> list[str]:
    async def read() -> Hashable:
        return fingerprint() if callable(fingerprint) else fingerprint

    events = []
    async with aclosing(streams.stream(read, lambda: None)) as stream:
        async for chunk in stream:
            events.append(chunk.split("\n", 2)[0] + " " + chunk.split("\n", 2)[1])
            if len(events) == limit:
                break
    return events


async def test_a_stream_says_hello_then_change_when_what_it_watches_moves() -> None:
    streams = Streams(lambda: False, tick_s=0.01, idle_s=60)
    counter = iter(range(100))
    events = await collect(streams, lambda: next(counter) // 3, limit=4)
    assert events[1].startswith("event: hello")
    assert events[2:] == ["event: change data: {}", "event: change data: {}"]
    assert streams.open == 0


async def test_a_quiet_stream_ends_when_idle() -> None:
    streams = Streams(lambda: False, tick_s=0.01, idle_s=0.05)
    events = await collect(streams, "same")
    assert events[-1] == 'event: end data: "idle"'


async def test_every_stream_ends_when_the_server_stops() -> None:
    stopping = False
    streams = Streams(lambda: stopping, tick_s=0.01, idle_s=60)
    seen: list[str] = []

    async def watch() -> None:
        seen.extend(await collect(streams, "same"))

    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        group.start_soon(watch)
        await anyio.sleep(0.05)
        assert streams.open == 2
        stopping = True
    assert seen.count('event: end data: "stopping"') == 2
    assert streams.open == 0


async def test_more_streams_than_the_bound_are_refused_with_retry_after(
    bre_simulator: Simulator,
) -> None:
    page = Page(bre_simulator, Control(bre_simulator), {})
    streams = page.page.streams  # the page behind the routes, made at once here
    streams.open = streams.limit
    app = Starlette(routes=page.routes())
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {bre_simulator.admin_token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://qradar.test") as client:
        refused = await client.get("/ui/events?console=default", headers=headers)
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "5"


def test_a_served_page_stream_sees_a_request_and_ends_cleanly_on_sigterm() -> None:
    with serve("--db", ":memory:") as served:
        admin = served.fields["admin"]
        assert served.fields["page"] == f"{served.url}/?token={admin}"
        with httpx.Client(follow_redirects=True) as browser:  # keeps the cookie, as one does
            signed = browser.get(served.fields["page"])
        assert signed.history[0].status_code == 303  # the cookie set, then the consoles page
        assert 'id="console-default"' in signed.text
        headers = {"Authorization": f"Bearer {admin}"}
        with httpx.stream("GET", f"{served.url}/ui/events?console=default", headers=headers,
                          timeout=10) as stream:  # fmt: skip
            lines = stream.iter_lines()
            assert next(line for line in lines if line.startswith("event:")) == "event: hello"
            httpx.get(f"{served.url}/api/backup_and_restore/backups",
                      headers={"SEC": served.fields["token"]})  # fmt: skip
            assert next(line for line in lines if line.startswith("event:")) == "event: change"
            served.process.send_signal(signal.SIGTERM)
            rest = list(lines)
        assert "event: end" in rest
        assert 'data: "stopping"' in rest
        assert served.process.wait(10) == 0
