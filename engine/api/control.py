"""The control surface over HTTP, under `/simulator` (outside `/api`): the same `Control` and
`Console` operations as the embedded API, one route per operation.

`{console}` in a path is a console id, or `current` for the console of the request's SEC token
or Basic credentials. Errors answer 400 (a control request that cannot be applied) or 404 (no
such console) with `{"error": ...}`: this surface is the simulator's own, not QRadar's.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.api.journal import Journal
from engine.api.qradar import presented_credential
from engine.control.actions import Control, ControlError
from engine.control.world import WorldError, read_world
from engine.core.errors import QRadarError
from engine.core.progression import RuleError
from engine.runtime.clock import VirtualClock
from engine.runtime.console import Console
from engine.simulator import Simulator


class ControlSurface:
    def __init__(
        self, simulator: Simulator, control: Control, journals: dict[str, Journal]
    ) -> None:
        self.simulator = simulator
        self.control = control
        self.journals = journals

    def routes(self) -> list[Route]:
        p = "/simulator"
        c = p + "/consoles/{console}"
        return [
            Route(p + "/health", self.health, methods=["GET"]),
            Route(p + "/ready", self.ready, methods=["GET"]),
            Route(p + "/consoles", self.list_consoles, methods=["GET"]),
            Route(p + "/consoles", self.create_console, methods=["POST"]),
            Route(c, self.describe, methods=["GET"]),
            Route(c, self.delete_console, methods=["DELETE"]),
            Route(c + "/control", self.apply, methods=["POST"]),
            Route(c + "/clock", self.clock, methods=["GET", "POST"]),
            Route(c + "/journal", self.journal, methods=["GET", "DELETE"]),
            Route(c + "/history", self.history, methods=["GET"]),
            Route(c + "/faults", self.faults, methods=["GET", "DELETE"]),
            Route(c + "/reset", self.reset, methods=["POST"]),
            Route(c + "/tokens", self.add_token, methods=["POST"]),
        ]

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(self, request: Request) -> Response:
        health = self.simulator.health()
        return JSONResponse(health.to_json(), status_code=200 if health.ready else 503)

    async def list_consoles(self, request: Request) -> Response:
        return JSONResponse({"consoles": self.simulator.consoles()})

    async def create_console(self, request: Request) -> Response:
        body = await _body(request)
        if not isinstance(body, dict):
            return _error(
                400, "expected a JSON object: {id?, tokens?, world?, seed?, rules?, clock?}"
            )
        allowed = {"id", "tokens", "non_admin_tokens", "basic", "world", "seed", "rules", "clock"}
        unknown = set(body) - allowed
        if unknown:
            return _error(
                400,
                f"unknown keys: {', '.join(sorted(unknown))} "
                f"(allowed: {', '.join(sorted(allowed))})",
            )
        try:
            world = read_world(body.get("world"))
            tokens = tuple(str(t) for t in body.get("tokens", ()))
            clock = body.get("clock")
            if clock not in (None, "virtual", "real"):
                return _error(400, "clock: expected virtual or real")
            basic = tuple((str(u), str(pw)) for u, pw in body.get("basic", ()))
            console = await self.simulator.create_console(
                body.get("id"), tokens=tokens, basic=basic, world=world, seed=body.get("seed"),
                rules=body.get("rules"), clock=clock,
                non_admin_tokens=tuple(str(t) for t in body.get("non_admin_tokens", ())),
            )  # fmt: skip
        except (WorldError, RuleError, ValueError, TypeError) as error:
            return _error(400, str(error))
        state = await console.state()
        tokens_shown = list(tokens) or await self._tokens(console.id)
        return JSONResponse({"id": console.id, "tokens": tokens_shown,
                             "settings": state.settings}, status_code=201)  # fmt: skip

    async def _tokens(self, console: str) -> list[str]:
        credentials = await self.simulator.store.read(lambda tx: tx.credentials(console))
        return [c.secret for c in credentials if not c.basic]

    async def describe(self, request: Request) -> Response:
        console = await self._console(request)
        if console is None:
            return _missing(request)
        state = await console.state()
        return JSONResponse({
            "id": console.id, "rebalancing": state.rebalancing, "settings": state.settings,
            "clock": _clock(console), "journal": len(self.journals.get(console.id, ())),
        })  # fmt: skip

    async def delete_console(self, request: Request) -> Response:
        console = await self._console(request)
        if console is None:
            return _missing(request)
        self.control.forget(console.id)
        self.journals.pop(console.id, None)
        await self.simulator.delete_console(console.id)
        return Response(status_code=204)

    async def apply(self, request: Request) -> Response:
        console = await self._console(request)
        if console is None:
            return _missing(request)
        body = await _body(request)
        try:
            result = await self.control.apply(console, body)
        except ControlError as error:
            return _error(400, str(error))
        except QRadarError as error:  # the engine refused, e.g. an external restore (1016)
            return JSONResponse(
                {"error": error.message, "qradar": error.body()}, status_code=error.code.http_status
            )
        return JSONResponse(result)

    async def clock(self, request: Request) -> Response:
        console = await self._console(request)
        if console is None:
            return _missing(request)
        if request.method == "POST":
            body = await _body(request)
            clock = console.clock
            if not isinstance(clock, VirtualClock):
                return _error(400, "this console runs on the real clock")
            if not isinstance(body, dict):
                return _error(400, "expected {advance: 30s} | {set: ms} | {next: true, limit_ms?}")
            if body.get("next"):
                limit = body.get("limit_ms")
                jumped = await clock.jump_to_next(limit if isinstance(limit, int) else None)
                return JSONResponse({**_clock(console), "jumped": jumped})
            try:
                if "advance" in body:
                    await self.control.apply(console, {"advance": body["advance"]})
                elif "set" in body:
                    await self.control.apply(console, {"set_clock": body["set"]})
                else:
                    return _error(400, "expected {advance: 30s} | {set: ms} | {next: true}")
            except ControlError as error:
                return _error(400, str(error))
        return JSONResponse(_clock(console))

    async def journal(self, request: Request) -> Response:
        console = await self._console(request)
        if console is None:
            return _missing(request)
        journal = self.journals.setdefault(console.id, Journal())
        if request.method == "DELETE":
            journal.clear()
            return Response(status_code=204)
        since = request.query_params.get("since", "0")
        entries = journal.entries(int(since) if since.isdigit() else 0)
        return JSONResponse({"total": journal.total, "entries": [e.to_json() for e in entries]})

    async def history(self, request: Request) -> Response:
        console = await self._console(request)
        if console is None:
            return _missing(request)
        return JSONResponse([
            {"kind": f.kind.value, "id": f.id, "from": f.source or None, "to": f.dest,
             "event": f.event, "at_ms": f.at_ms}
            for f in console.history
        ])  # fmt: skip

    async def faults(self, request: Request) -> Response:
        console = await self._console(request)
        if console is None:
            return _missing(request)
        table = self.control.faults(console.id)
        if request.method == "DELETE":
            table.clear()
            return Response(status_code=204)
        return JSONResponse([f.to_json() for f in table.rules])

    async def reset(self, request: Request) -> Response:
        console = await self._console(request)
        if console is None:
            return _missing(request)
        body = await _body(request)
        try:
            await self.control.apply(
                console, {"reset": body if isinstance(body, dict) and body else True}
            )
        except ControlError as error:
            return _error(400, str(error))
        self.journals.pop(console.id, None)
        return JSONResponse({"reset": True})

    async def add_token(self, request: Request) -> Response:
        console = await self._console(request)
        if console is None:
            return _missing(request)
        body = await _body(request)
        if not isinstance(body, dict) or not isinstance(body.get("token"), str):
            return _error(400, "expected {token: ..., admin?: true}")
        await self.simulator.add_token(
            console.id, body["token"], admin=bool(body.get("admin", True))
        )
        return JSONResponse({"token": body["token"]}, status_code=201)

    async def _console(self, request: Request) -> Console | None:
        name = request.path_params["console"]
        if name == "current":
            credential = await presented_credential(self.simulator, request.headers)
            if credential is None:
                return None
            name = credential.console
        return await self.simulator.find_console(name)


def _clock(console: Console) -> dict[str, Any]:
    clock = console.clock
    return {
        "now_ms": clock.now_ms(),
        "virtual": isinstance(clock, VirtualClock),
        "next_deadline_ms": clock.next_deadline() if isinstance(clock, VirtualClock) else None,
    }


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {"__invalid__": True}


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def _missing(request: Request) -> Response:
    return _error(404, f"no console {request.path_params['console']!r}")
