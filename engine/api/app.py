"""The ASGI application: `/api` (QRadar), `/simulator` (control), `/openapi.json`.

`create_app(simulator)` is the composition root of the HTTP adapter. The simulator is already
running (tests hand in an embedded one; `bre serve` starts one before serving), because
httpx's ASGI transport does not run lifespan.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from engine.api.control import ControlSurface
from engine.api.handlers import HANDLERS
from engine.api.help import help_routes
from engine.api.journal import Journal
from engine.api.qradar import MAX_BODY, QRadarApi, family_routes
from engine.control.actions import Control
from engine.simulator import Simulator

OPENAPI_PATH = "/openapi.json"


def create_app(
    simulator: Simulator, *, control: Control | None = None, max_body: int = MAX_BODY,
    journal_limit: int = 1000,
) -> Starlette:  # fmt: skip
    control = control or Control(simulator)
    journals: dict[str, Journal] = {}

    def journal_of(console: str) -> Journal:
        journal = journals.get(console)
        if journal is None:
            journal = journals[console] = Journal(journal_limit)
        return journal

    api = QRadarApi(
        simulator, control, family_routes(HANDLERS) + help_routes(), journal_of, max_body=max_body
    )
    surface = ControlSurface(simulator, control, journals)

    async def openapi(request: Request) -> Response:
        from engine.api.openapi import document

        return JSONResponse(document())

    app = Starlette(
        routes=[
            Mount("/api", app=api),
            *surface.routes(),
            Route(OPENAPI_PATH, openapi, methods=["GET"]),
        ]
    )
    app.state.simulator = simulator
    app.state.control = control
    app.state.api = api
    app.state.journals = journals
    return app
