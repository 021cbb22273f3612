"""The web page's endpoints: `/`, `/ui/...`, `/api_doc` (route table: `engine.web.ROUTES`).

Every route first finds the viewer (`access`); a console the viewer may not see answers the
same 404 as a console that does not exist. Reads go through the simulator's own read APIs
(`views`); controls go through the control language (`Control.apply`), as the control surface's
`POST /simulator/consoles/{console}/control` does: nothing here changes a console otherwise.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Hashable
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs, quote

import structlog
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)

from engine.api.control import invalid
from engine.api.journal import Journal
from engine.control.actions import Control
from engine.control.schema import ControlError
from engine.core.errors import QRadarError
from engine.runtime.clock import VirtualClock
from engine.runtime.console import Console
from engine.runtime.units import ConsoleMissing
from engine.simulator import Simulator
from engine.store.base import StorageError, same_secret
from engine.web import access, render, views
from engine.web.access import Viewer
from engine.web.apidoc import api_doc
from engine.web.events import Streams

log = structlog.get_logger("web")

#: The shipped assets, by name (nothing else is served from the package).
ASSETS = {"page.css": "text/css", "page.js": "text/javascript", "apidoc.js": "text/javascript"}
ROWS_PER_PAGE = 100
SNAPSHOT_TTL_S = 0.1
MAX_CONSOLES_SHOWN = 200
_NO_STORE = {"Cache-Control": "no-store"}

Endpoint = Callable[[Request], Awaitable[Response]]


class NotShown(LookupError):
    """No such console, or not one this viewer may see (the same 404 either way)."""


class Page:
    def __init__(
        self, simulator: Simulator, control: Control, journals: dict[str, Journal]
    ) -> None:
        self.simulator = simulator
        self.control = control
        self.journals = journals
        settings = simulator.settings
        self.streams = Streams(lambda: simulator.stopping, limit=settings.page_streams,
                               idle_s=settings.page_idle_s)  # fmt: skip
        #: the last snapshot per console, reused for SNAPSHOT_TTL_S while nothing it counts moved
        #: (one change makes the page fetch its card, timeline and journal: one read, not three)
        self._snapshots: dict[str, tuple[float, Hashable, views.Snapshot]] = {}
        self._endpoints: dict[str, Endpoint] = {}
        self._assets = {
            name: (files("engine.web") / "assets" / name).read_bytes() for name in ASSETS
        }

    def endpoint(self, name: str) -> Endpoint:
        """The guarded endpoint of a route of `engine.web.ROUTES` (made once per name)."""
        guarded = self._endpoints.get(name)
        if guarded is None:
            guarded = self._endpoints[name] = self._guarded(getattr(self, name))
        return guarded

    def _guarded(self, endpoint: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            try:
                return await endpoint(request)
            except (NotShown, ConsoleMissing):
                return HTMLResponse(
                    render.page("Not found", '<p class="empty">No such console.</p>', None),
                    status_code=404,
                )
            except StorageError as error:
                body = f'<p class="error">The database fails: {render.e(error.cause)}; retry.</p>'
                return HTMLResponse(render.page("Unavailable", body, None), status_code=503)
            except Exception as error:  # a bug: a page that says so, and a log line to fix it
                log.exception("page_failed", path=request.url.path, error=repr(error))
                body = '<p class="error">Internal error (see the server\'s log).</p>'
                return HTMLResponse(render.page("Error", body, None), status_code=500)

        return guarded

    # --- who ------------------------------------------------------------------------------

    async def _viewer(self, request: Request) -> Viewer | None:
        return await access.viewer_of(self.simulator, request)

    async def _seen(self, request: Request) -> tuple[Viewer, Console]:
        """The viewer and the console of the path, or NotShown (also without a viewer)."""
        viewer = await self._viewer(request)
        name: str = request.path_params["console"]
        if viewer is None or not viewer.sees(name):
            raise NotShown(name)
        console = await self.simulator.find_console(name)
        if console is None:
            raise NotShown(name)
        return viewer, console

    @staticmethod
    def _sign_in(message: str = "", status: int = 401) -> Response:
        return HTMLResponse(render.sign_in(message), status_code=status, headers=_NO_STORE)

    # --- pages ------------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        token = request.query_params.get("token")
        if token is not None:  # the ready line's URL: keep the credential, drop it from the URL
            if not access.same_origin(request):  # a link on another site must not sign a
                return self._sign_in("Sign in from this server's own page.", 403)  # browser in
            signed = await access.sign_in(self.simulator, token)
            if signed is None:
                return self._sign_in("That token is not a credential of this simulator.")
            response = RedirectResponse("/", status_code=303)
            access.keep(response, signed[0], request)
            return response
        viewer = await self._viewer(request)
        if viewer is None:
            return self._sign_in()
        if not viewer.admin:
            assert viewer.console is not None
            return RedirectResponse(f"/ui/consoles/{quote(viewer.console, safe='')}", 303)
        body = (
            f'<h1>Consoles</h1><div id="consoles" class="cards" data-fragment="/ui/consoles">'
            f"{await self._consoles_html()}</div>"
        )
        return self._html(render.page("Consoles", body, viewer, data=self._data(viewer)))

    async def _consoles_html(self) -> str:
        summaries = []
        for id in (await self.simulator.list_consoles())[:MAX_CONSOLES_SHOWN]:
            console = await self.simulator.find_console(id)
            if console is not None:
                snap = await views.snapshot(console, self.journals.get(id))
                summaries.append(snap.summary)
        return render.consoles(summaries)

    async def consoles_fragment(self, request: Request) -> Response:
        viewer = await self._viewer(request)
        if viewer is None or not viewer.admin:
            raise NotShown("")
        return self._html(await self._consoles_html())

    def _data(self, viewer: Viewer, console: str = "") -> dict[str, str]:
        data = {"events": "/ui/events" + (f"?console={quote(console, safe='')}" if console else "")}
        if viewer.admin:
            data["csrf"] = access.csrf_token(self.simulator)
        if console:
            data["console"] = console
        return data

    async def console_page(self, request: Request) -> Response:
        viewer, console = await self._seen(request)
        snap = await self._snapshot(console)
        timeline = self._timeline(snap, request, viewer)
        keep = _filter(request)
        rows = await self._rows(console, keep, None, jobs=snap.jobs)
        body = render.console_page(snap.summary, timeline, rows, keep, admin=viewer.admin)
        return self._html(
            render.page(f"Console {console.id}", body, viewer, data=self._data(viewer, console.id))
        )

    def _timeline(self, snap: views.Snapshot, request: Request, viewer: Viewer) -> str:
        focus = request.query_params.get("focus", "")
        jobs = snap.jobs
        pages = max(1, -(-len(jobs) // render.JOBS_PER_PAGE))
        number = _integer(request.query_params.get("page"), 1)
        index = next((i for i, j in enumerate(jobs) if j.key == focus), None)
        if index is not None:
            number = index // render.JOBS_PER_PAGE + 1
        number = min(max(number, 1), pages)
        shown = jobs[(number - 1) * render.JOBS_PER_PAGE : number * render.JOBS_PER_PAGE]
        return render.timeline(snap.summary, shown, number, pages, focus, admin=viewer.admin)

    async def _rows(
        self, console: Console, keep: views.Filter, before: int | None, after: int = 0,
        jobs: views.Jobs | None = None,
    ) -> str:  # fmt: skip
        """Journal rows; the jobs (a snapshot) are read only when a refusal needs the one that
        held the gate, or when the filter is by job."""
        journal = self.journals.get(console.id)
        if journal is None:
            return ""
        since = after
        if not (keep.status or keep.path or keep.job):  # the newest page: only its entries
            top = before - 1 if before else journal.total
            since = max(after, top - ROWS_PER_PAGE - 1)
        entries = journal.entries(since)
        if jobs is None and keep.job:
            jobs = (await self._snapshot(console)).jobs
        found, cursor = views.rows(entries, views.Blame(jobs or ()), keep, before=before,
                                   limit=ROWS_PER_PAGE)  # fmt: skip
        if jobs is None and any(r.status in views.REFUSALS for r in found):
            jobs = (await self._snapshot(console)).jobs
            found, cursor = views.rows(entries, views.Blame(jobs), keep, before=before,
                                       limit=ROWS_PER_PAGE)  # fmt: skip
        more = render.journal_more(console.id, keep, cursor) if not after else ""
        return render.journal_rows(found) + more

    async def _snapshot(self, console: Console) -> views.Snapshot:
        journal = self.journals.get(console.id)
        mark = (console.phases.version, console.clock.now_ms(),
                journal.total if journal is not None else 0)  # fmt: skip
        now = time.monotonic()
        cached = self._snapshots.get(console.id)
        if cached is not None and cached[1] == mark and now - cached[0] < SNAPSHOT_TTL_S:
            return cached[2]
        snap = await views.snapshot(console, journal)
        if len(self._snapshots) > 64:
            self._snapshots.clear()
        self._snapshots[console.id] = (now, mark, snap)
        return snap

    # --- fragments ----------------------------------------------------------------------------

    async def card(self, request: Request) -> Response:
        _, console = await self._seen(request)
        snap = await self._snapshot(console)
        return self._html(render.card(snap.summary))

    async def jobs(self, request: Request) -> Response:
        viewer, console = await self._seen(request)
        snap = await self._snapshot(console)
        return self._html(self._timeline(snap, request, viewer))

    async def journal(self, request: Request) -> Response:
        _, console = await self._seen(request)
        params = request.query_params
        before = _integer(params.get("before"), 0) or None
        after = _integer(params.get("after"), 0)
        return self._html(await self._rows(console, _filter(request), before, after))

    async def entry(self, request: Request) -> Response:
        _, console = await self._seen(request)
        seq: int = request.path_params["seq"]
        journal = self.journals.get(console.id)
        found = journal.entries(seq - 1)[:1] if journal is not None and seq > 0 else []
        if not found or found[0].seq != seq:
            return self._html('<p class="empty">This entry has left the journal.</p>', 404)
        return self._html(render.bodies(found[0]))

    # --- controls -------------------------------------------------------------------------------

    async def apply(self, request: Request) -> Response:
        viewer, console = await self._seen(request)
        token = request.headers.get(access.CSRF_HEADER, "")
        if (
            not viewer.admin
            or not access.same_origin(request)
            or not same_secret(access.csrf_token(self.simulator), token)
        ):
            log.info("page_control_refused", console=console.id, admin=viewer.admin)
            return JSONResponse(
                {"error": "controls need the admin credential and the page's CSRF token"},
                status_code=403,
            )
        limit = self.simulator.settings.control_body_bytes
        raw = await request.body()
        if len(raw) > limit:
            return JSONResponse({"error": f"the body is larger than {limit} bytes"}, 413)
        try:
            actions = json.loads(raw or b"null")
        except (ValueError, RecursionError):
            return JSONResponse({"error": "not JSON", "field": "body"}, status_code=400)
        try:
            return JSONResponse(await self.control.apply(console, actions))
        except ControlError as error:
            return invalid(error)
        except QRadarError as error:
            return JSONResponse(
                {"error": error.message, "qradar": error.body()}, status_code=error.code.http_status
            )

    # --- events ---------------------------------------------------------------------------------

    async def events(self, request: Request) -> Response:
        viewer = await self._viewer(request)
        name = request.query_params.get("console", "")
        if viewer is None or (name and not viewer.sees(name)) or (not name and not viewer.admin):
            return Response(status_code=404)
        if self.streams.full:
            return Response("too many open pages", status_code=503, headers={"Retry-After": "5"})
        if name:
            console = await self.simulator.find_console(name)
            if console is None:
                return Response(status_code=404)
            fingerprint, changed = self._console_fingerprint(console), console.changed
        else:
            fingerprint, changed = self._overview_fingerprint, _none
        return StreamingResponse(
            self.streams.stream(fingerprint, changed),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    def _console_fingerprint(self, console: Console) -> Callable[[], Awaitable[Hashable]]:
        async def fingerprint() -> Hashable:
            state = await console.state()  # ConsoleMissing (a LookupError) once deleted
            journal = self.journals.get(console.id)
            clock = console.clock
            return (
                state.revision,
                console.phases.version,
                journal.total if journal is not None else 0,
                len(journal) if journal is not None else 0,
                clock.now_ms() if isinstance(clock, VirtualClock) else 0,
            )

        return fingerprint

    async def _overview_fingerprint(self) -> Hashable:
        """What the consoles view shows, from one read of the store (the consoles and their
        revisions) and what this process holds (phases, journals, clocks)."""
        states = await self.simulator.store.read(lambda tx: tx.consoles())
        marks = []
        for state in states[:MAX_CONSOLES_SHOWN]:
            try:
                console: Console | None = self.simulator.console(state.id)
            except LookupError:  # created by another process: attached when the page reads it
                console = None
            journal = self.journals.get(state.id)
            clock = console.clock if console is not None else None
            marks.append((
                state.id, state.revision, console.phases.version if console is not None else 0,
                journal.total if journal is not None else 0,
                clock.now_ms() if isinstance(clock, VirtualClock) else 0,
            ))  # fmt: skip
        return tuple(marks)

    # --- sign-in, assets, documentation --------------------------------------------------------

    async def login(self, request: Request) -> Response:
        if not access.same_origin(request):
            return self._sign_in("Sign in from this server's own page.", 403)
        raw = await request.body()  # a urlencoded form of two short fields
        form = parse_qs(raw[:8192].decode("utf-8", "replace"), max_num_fields=4)
        secret, user = form.get("token", [""])[0], form.get("user", [""])[0]
        signed = await access.sign_in(self.simulator, secret, user)
        if not secret or signed is None:
            return self._sign_in("Not a credential of this simulator.")
        response = RedirectResponse("/", status_code=303)
        access.keep(response, signed[0], request)
        return response

    async def logout(self, request: Request) -> Response:
        response = RedirectResponse("/", status_code=303)
        access.forget(response)
        return response

    async def asset(self, request: Request) -> Response:
        name: str = request.path_params["name"]
        if name not in self._assets:
            return Response(status_code=404)
        return Response(
            self._assets[name], media_type=ASSETS[name], headers={"Cache-Control": "no-cache"}
        )

    async def api_doc(self, request: Request) -> Response:
        from engine.api.openapi import document

        return self._html(api_doc(document()))

    @staticmethod
    def _html(text: str, status: int = 200) -> Response:
        return HTMLResponse(
            text,
            status_code=status,
            headers={
                **_NO_STORE,
                "Content-Security-Policy": "default-src 'self'; style-src 'self' "
                "'unsafe-inline'; frame-ancestors 'none'",
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "same-origin",
            },
        )


def _none() -> Any:
    return None


def _integer(text: str | None, default: int) -> int:
    if text is None or not text.isdigit() or len(text) > 18:
        return default
    return int(text)


def _filter(request: Request) -> views.Filter:
    params = request.query_params
    status = params.get("status", "")[:3]
    if status and not (status.isdigit() or (status[0].isdigit() and status[1:] == "xx")):
        status = ""
    return views.Filter(status, params.get("path", "")[:200], params.get("job", "")[:40])
