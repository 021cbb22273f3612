"""The web page of the simulator: `/` (consoles, one console's timeline and journal, live) and
`/api_doc` (the OpenAPI document for people). An adapter of its own: it reads through the
simulator's and consoles' read APIs and changes things only through the control language.

`Page(simulator, control, journals).routes()` is all the application mounts. The routes exist
from the start; the page behind them (its modules, templates and assets, `engine.web.page`) is
made at its first request, so `bre serve` answers its first API request without paying for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

if TYPE_CHECKING:
    from engine.api.journal import Journal
    from engine.control.actions import Control
    from engine.simulator import Simulator
    from engine.web import page

_CONSOLE = "/ui/consoles/{console}"
#: The page's routes: path, the `engine.web.page.Page` method that answers, HTTP method.
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("/", "home", "GET"),
    ("/ui/login", "login", "POST"),
    ("/ui/logout", "logout", "POST"),
    ("/ui/assets/{name}", "asset", "GET"),
    ("/ui/consoles", "consoles_fragment", "GET"),
    (_CONSOLE, "console_page", "GET"),
    (_CONSOLE + "/card", "card", "GET"),
    (_CONSOLE + "/jobs", "jobs", "GET"),
    (_CONSOLE + "/journal", "journal", "GET"),
    (_CONSOLE + "/journal/{seq:int}", "entry", "GET"),
    (_CONSOLE + "/control", "apply", "POST"),
    ("/ui/events", "events", "GET"),
    ("/api_doc", "api_doc", "GET"),
)

Endpoint = Callable[[Request], Awaitable[Response]]


class Page:
    """The page as the application mounts it: its routes now, the page itself when first asked."""

    def __init__(
        self, simulator: Simulator, control: Control, journals: dict[str, Journal]
    ) -> None:
        self.simulator = simulator
        self.control = control
        self.journals = journals
        self._page: page.Page | None = None

    @property
    def page(self) -> page.Page:
        """The page, made once (an import and its assets read: a few milliseconds)."""
        if self._page is None:
            from engine.web.page import Page as Made

            self._page = Made(self.simulator, self.control, self.journals)
        return self._page

    def routes(self) -> list[Route]:
        # pages for people, not operations of the API: left out of the OpenAPI document
        return [
            Route(path, self._endpoint(name), methods=[method], include_in_schema=False)
            for path, name, method in ROUTES
        ]

    def _endpoint(self, name: str) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            return await self.page.endpoint(name)(request)

        endpoint.__name__ = name
        return endpoint


__all__ = ["ROUTES", "Page"]
