"""The ASGI application: `/api` (QRadar), `/simulator` (control), `/openapi.json`.

`create_app(simulator)` is the composition root of the HTTP adapter. The simulator is already
running (tests hand in an embedded one; `bre serve` starts one before serving), because
httpx's ASGI transport does not run lifespan.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.api.control import ControlSurface
from engine.api.handlers import HANDLERS
from engine.api.help import help_routes
from engine.api.journal import Journal
from engine.api.qradar import MAX_BODY, QRadarApi, family_routes
from engine.api.wire import Receive, Scope, Send
from engine.control.actions import Control
from engine.simulator import Simulator
from engine.web import Page

OPENAPI_PATH = "/openapi.json"


class SimulatorApp(Starlette):
    """Starlette for the control surface; every path under `/api` goes to the QRadar dispatcher
    as it is (a Starlette `Mount` would not match some paths, e.g. with an encoded newline, and
    answer its own text 404 instead of QRadar's 404/4)."""

    def __init__(self, api: QRadarApi, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path == "/api" or path.startswith("/api/"):
            await self.api(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(
    simulator: Simulator, *, control: Control | None = None, max_body: int = MAX_BODY
) -> Starlette:
    settings = simulator.settings
    control = control or Control(simulator)
    journals: dict[str, Journal] = {}

    def journal_of(console: str) -> Journal:
        journal = journals.get(console)
        if journal is None:
            journal = journals[console] = Journal(
                settings.journal_entries,
                header_bytes=settings.journal_header_bytes,
                max_bytes=settings.journal_bytes,
            )
        return journal

    api = QRadarApi(
        simulator,
        control,
        family_routes(HANDLERS) + help_routes(),
        journal_of,
        max_body=max_body,
    )
    surface = ControlSurface(simulator, control, journals, journal_of)

    async def openapi(request: Request) -> Response:
        from engine.api.openapi import document

        return JSONResponse(document())

    async def no_route(request: Request, error: Exception) -> Response:
        """Starlette's own 404 and 405 (a path or method of no route), as JSON."""
        status = error.status_code if isinstance(error, HTTPException) else 404
        headers = error.headers if isinstance(error, HTTPException) else None
        body = {"error": f"no route {request.method} {request.url.path}"}
        return JSONResponse(body, status_code=status, headers=headers)

    app = SimulatorApp(
        api,
        routes=[
            *surface.routes(),
            Route(OPENAPI_PATH, openapi, methods=["GET"]),
            *Page(simulator, control, journals).routes(),
        ],
        exception_handlers={404: no_route, 405: no_route},
    )
    app.state.simulator = simulator
    app.state.control = control
    app.state.api = api
    app.state.journals = journals
    return app
