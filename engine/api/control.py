"""The control surface over HTTP, under `/simulator` (outside `/api`): the same `Control` and
`Console` operations as the embedded API, one route per operation.

Only callers with the simulator's admin credential get in (`Authorization: Bearer <token>`,
compared in constant time): the surface can read every console's journal and change any world.
Health and readiness stay open. `{console}` in a path is a console id, or `current` for the
console of the request's SEC token (or Basic credentials, when the surface needs no admin
credential: both would use the `Authorization` header).

Answers are the simulator's own, not QRadar's: 400 `{"error", "field"}` for an input that
cannot be used (nothing is stored), 401 without the admin credential, 404 for no such console,
413 for a body over `Settings.control_body_bytes`, and the engine's own refusal (e.g. 409/1016)
as `{"error", "qradar"}`. Every operation and its body is declared in `OPERATIONS`, which the
OpenAPI document reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.api.journal import Journal
from engine.api.qradar import presented_credential
from engine.control.actions import CONTROL, Control, virtual_clock
from engine.control.inputs import CLOCK_REQUEST, CONSOLE, TOKEN_REQUEST
from engine.control.schema import ControlError, Field
from engine.control.world import WORLD
from engine.core.credentials import same_secret
from engine.core.errors import QRadarError
from engine.core.frozen import record
from engine.runtime.clock import VirtualClock
from engine.runtime.console import Console
from engine.runtime.units import ConsoleMissing
from engine.simulator import DEFAULT_SERVICE, Simulator
from engine.store.base import StorageError

log = structlog.get_logger("engine")

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[["ControlSurface", Request], Awaitable[Response]]
JournalOf = Callable[[str], Journal]


@record
class Operation:
    """One operation of the control surface: where it is, what it takes and answers."""

    method: str
    path: str
    handler: Handler  # a `ControlSurface` method
    summary: str
    body: Field | None = None
    body_required: bool = True
    status: int = 200
    answer: dict[str, Any] | None = None  # the success body's schema (None: no body)
    open: bool = False  # answers without the admin credential
    query: tuple[str, ...] = ()  # query parameters (integers)
    probe: bool = False  # answers 503 (with the same body) until the simulator is ready
    refusable: bool = False  # the engine may refuse it as QRadar would (e.g. 409/1016)

    @property
    def name(self) -> str:
        return self.handler.__name__


def _object(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties), **extra}


_STRING = {"type": "string"}
_INTEGER = {"type": "integer", "format": "int64"}
_CLOCK = _object(
    {
        "now_ms": _INTEGER,
        "virtual": {"type": "boolean"},
        "next_deadline_ms": {**_INTEGER, "nullable": True},
    }
)
_ANY_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}
_ENTRY = _object(
    {
        "seq": _INTEGER,
        "at_ms": _INTEGER,
        "method": _STRING,
        "path": _STRING,
        "query": _STRING,
        "headers": {"type": "object", "additionalProperties": _STRING},
        "body": {**_STRING, "nullable": True},
        "status": {"type": "integer"},
        "response": {"nullable": True},
        "response_headers": {"type": "object", "additionalProperties": _STRING},
        "duration_ms": {"type": "number"},
    }
)
_TRANSITION = _object(
    {
        "kind": _STRING,
        "id": _INTEGER,
        "from": {**_STRING, "nullable": True},
        "to": _STRING,
        "event": _STRING,
        "at_ms": _INTEGER,
    }
)
_FAULT = _object(
    {
        "method": _STRING,
        "path": _STRING,
        "status": {"type": "integer", "nullable": True},
        "code": {**_INTEGER, "nullable": True},
        "message": {**_STRING, "nullable": True},
        "times": {**_INTEGER, "nullable": True},
        "latency_ms": _INTEGER,
        "hits": _INTEGER,
    }
)


_DIGITS = re.compile(r"[0-9]{1,19}")


class TooLarge(Exception):
    """A request body over the control surface's limit."""


class ControlSurface:
    def __init__(
        self,
        simulator: Simulator,
        control: Control,
        journals: dict[str, Journal],
        journal_of: JournalOf,
    ) -> None:
        self.simulator = simulator
        self.control = control
        self.journals = journals
        self.journal_of = journal_of

    def routes(self) -> list[Route]:
        return [
            Route(op.path, self._endpoint(op), methods=[op.method], name=op.name)
            for op in OPERATIONS
        ]

    def _endpoint(self, operation: Operation) -> Endpoint:
        handler = operation.handler
        guarded = not operation.open

        async def endpoint(request: Request) -> Response:
            if guarded and self.simulator.settings.control_auth:
                refused = self._refused(request)
                if refused is not None:
                    return refused
            try:
                return await handler(self, request)
            except ControlError as error:
                return invalid(error)
            except TooLarge:
                limit = self.simulator.settings.control_body_bytes
                return JSONResponse(
                    {
                        "error": f"the body is larger than {limit} bytes (control_body_bytes)",
                        "field": "body",
                    },
                    status_code=413,
                )
            except (NoConsole, ConsoleMissing) as missing:  # unknown, or deleted meanwhile
                return JSONResponse({"error": f"no console {missing.args[0]!r}"}, status_code=404)
            except StorageError as error:  # while the database fails: 503, never a 500
                return JSONResponse(
                    {"error": f"the database fails: {error.cause}; retry later"}, status_code=503
                )
            except QRadarError as error:  # the engine refused, e.g. an external restore (1016)
                return JSONResponse(
                    {"error": error.message, "qradar": error.body()},
                    status_code=error.code.http_status,
                )
            except Exception as error:  # a bug: still a JSON answer, and a log line to fix it
                log.exception("control_failed", path=request.url.path, error=repr(error))
                return JSONResponse(
                    {"error": "internal error (see the server's log)"}, status_code=500
                )

        return endpoint

    def _refused(self, request: Request) -> Response | None:
        """401 unless the request carries the admin credential (compared in constant time)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and same_secret(self.simulator.admin_token, token.strip()):
            return None
        presented = scheme.lower() == "bearer"
        log.info("control_refused", path=request.url.path, presented=presented)
        return JSONResponse(
            {
                "error": "the control surface needs the admin credential: "
                "`Authorization: Bearer <token>` (the `admin=` of the server's ready line)"
                if not presented
                else "the admin credential is not valid"
            },
            status_code=401,
            headers={
                "WWW-Authenticate": 'Bearer realm="simulator"'
                + (', error="invalid_token"' if presented else "")
            },
        )

    # --- operations ------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(self, request: Request) -> Response:
        health = self.simulator.health()
        return JSONResponse(health.to_json(), status_code=200 if health.ready else 503)

    async def list_consoles(self, request: Request) -> Response:
        return JSONResponse({"consoles": await self.simulator.list_consoles()})

    async def create_console(self, request: Request) -> Response:
        body = await self._body(request)
        given: dict[str, Any] = CONSOLE.read({} if body is None else body, "")
        tokens = tuple(given.get("tokens", ()))
        console = await self.simulator.create_console(
            given.get("id"),
            tokens=tokens,
            basic=tuple(given.get("basic", ())),
            world=given.get("world"),
            seed=given.get("seed"),
            rules=given.get("rules"),
            clock=given.get("clock"),
            non_admin_tokens=tuple(given.get("non_admin_tokens", ())),
            release=given.get("release"),
        )
        state = await console.state()
        tokens_shown = list(tokens) or await self._tokens(console.id)
        return JSONResponse(
            {"id": console.id, "tokens": tokens_shown, "settings": state.settings}, status_code=201
        )

    async def _tokens(self, console: str) -> list[str]:
        credentials = await self.simulator.store.read(lambda tx: tx.credentials(console))
        return [c.secret for c in credentials if not c.basic]

    async def describe(self, request: Request) -> Response:
        console = await self._console(request)
        state = await console.state()
        return JSONResponse(
            {
                "id": console.id,
                "rebalancing": state.rebalancing,
                "settings": state.settings,
                "clock": _clock(console),
                "journal": len(self.journals.get(console.id, ())),
            }
        )

    async def delete_console(self, request: Request) -> Response:
        console = await self._console(request)
        self.control.forget(console.id)
        self.journals.pop(console.id, None)
        await self.simulator.delete_console(console.id)
        return Response(status_code=204)

    async def apply(self, request: Request) -> Response:
        console = await self._console(request)
        return JSONResponse(await self.control.apply(console, await self._body(request)))

    async def clock(self, request: Request) -> Response:
        return JSONResponse(_clock(await self._console(request)))

    async def move_clock(self, request: Request) -> Response:
        console = await self._console(request)
        body = await self._body(request)
        move: dict[str, Any] = CLOCK_REQUEST.read(body, "")
        clock = virtual_clock(console, next(iter(move)))
        if "next" in move:
            jumped = await clock.jump_to_next(move.get("limit_ms"))
            return JSONResponse({**_clock(console), "jumped": jumped})
        if "advance" in move:
            await self.control.apply(console, {"advance": body["advance"]})
        else:
            await self.control.apply(console, {"set_clock": move["set"]})
        return JSONResponse(_clock(console))

    async def journal(self, request: Request) -> Response:
        console = await self._console(request)
        since = request.query_params.get("since", "0")
        if _DIGITS.fullmatch(since) is None:
            raise ControlError("since", f"{since[:20]!r} is not a sequence number")
        journal = self.journal_of(console.id)
        entries = journal.entries(int(since))
        return JSONResponse({"total": journal.total, "entries": [e.to_json() for e in entries]})

    async def clear_journal(self, request: Request) -> Response:
        console = await self._console(request)
        self.journal_of(console.id).clear()
        return Response(status_code=204)

    async def history(self, request: Request) -> Response:
        console = await self._console(request)
        return JSONResponse(
            [
                {
                    "kind": f.kind.value,
                    "id": f.id,
                    "from": f.source or None,
                    "to": f.dest,
                    "event": f.event,
                    "at_ms": f.at_ms,
                }
                for f in console.history
            ]
        )

    async def faults(self, request: Request) -> Response:
        console = await self._console(request)
        return JSONResponse([f.to_json() for f in self.control.faults(console.id).rules])

    async def clear_faults(self, request: Request) -> Response:
        console = await self._console(request)
        self.control.faults(console.id).clear()
        return Response(status_code=204)

    async def reset(self, request: Request) -> Response:
        console = await self._console(request)
        body = await self._body(request)
        await self.control.apply(console, {"reset": body if body not in (None, {}) else True})
        self.journals.pop(console.id, None)
        return JSONResponse({"reset": True})

    async def add_token(self, request: Request) -> Response:
        console = await self._console(request)
        given: dict[str, Any] = TOKEN_REQUEST.read(await self._body(request), "")
        await self.simulator.add_token(
            console.id,
            given["token"],
            admin=given.get("admin", True),
            name=given.get("name", DEFAULT_SERVICE),
        )
        return JSONResponse({"token": given["token"]}, status_code=201)

    # --- plumbing --------------------------------------------------------------------------

    async def _console(self, request: Request) -> Console:
        name: str = request.path_params["console"]
        found: Console | None = None
        if name == "current":
            credential = await presented_credential(self.simulator, request.headers)
            if credential is not None:
                found = await self.simulator.find_console(credential.console)
        elif _storable(name):
            found = await self.simulator.find_console(name)
        if found is None:
            raise NoConsole(name)
        return found

    async def _body(self, request: Request) -> Any:
        """The JSON body, read at most `control_body_bytes` (413 beyond, before parsing)."""
        limit = self.simulator.settings.control_body_bytes
        declared = request.headers.get("content-length", "")
        if _DIGITS.fullmatch(declared) and int(declared) > limit:
            raise TooLarge
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TooLarge
            chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw.strip():
            return None
        try:
            return json.loads(raw, parse_constant=_not_json)
        except (ValueError, RecursionError) as error:
            raise ControlError("body", f"not JSON ({type(error).__name__})") from None


class NoConsole(LookupError):
    """No console of that id (404)."""


def invalid(error: ControlError) -> Response:
    return JSONResponse({"error": str(error), "field": error.field}, status_code=400)


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates decoded from a path: no console has them
        return False
    return True


def _clock(console: Console) -> dict[str, Any]:
    clock = console.clock
    return {
        "now_ms": clock.now_ms(),
        "virtual": isinstance(clock, VirtualClock),
        "next_deadline_ms": clock.next_deadline() if isinstance(clock, VirtualClock) else None,
    }


C = "/simulator/consoles/{console}"
OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/simulator/health",
        ControlSurface.health,
        "Liveness",
        open=True,
        answer=_object({"status": _STRING}),
    ),
    Operation(
        "GET",
        "/simulator/ready",
        ControlSurface.ready,
        "Readiness (once the world is seeded)",
        open=True,
        probe=True,
        answer=_object({"ready": {"type": "boolean"}}),
    ),
    Operation(
        "GET",
        "/simulator/consoles",
        ControlSurface.list_consoles,
        "List the consoles",
        answer=_object({"consoles": {"type": "array", "items": _STRING}}),
    ),
    Operation(
        "POST",
        "/simulator/consoles",
        ControlSurface.create_console,
        "Create an isolated console",
        body=CONSOLE,
        body_required=False,
        status=201,
        answer=_object(
            {"id": _STRING, "tokens": {"type": "array", "items": _STRING}, "settings": _ANY_OBJECT}
        ),
    ),
    Operation(
        "GET",
        C,
        ControlSurface.describe,
        "Describe a console",
        answer=_object(
            {
                "id": _STRING,
                "rebalancing": {"type": "boolean"},
                "settings": _ANY_OBJECT,
                "clock": _CLOCK,
                "journal": _INTEGER,
            }
        ),
    ),
    Operation("DELETE", C, ControlSurface.delete_console, "Delete a console", status=204),
    Operation(
        "POST",
        C + "/control",
        ControlSurface.apply,
        "Apply control actions",
        body=CONTROL,
        refusable=True,
        answer=_ANY_OBJECT,
    ),
    Operation("GET", C + "/clock", ControlSurface.clock, "The console's clock", answer=_CLOCK),
    Operation(
        "POST",
        C + "/clock",
        ControlSurface.move_clock,
        "Move a virtual clock",
        body=CLOCK_REQUEST,
        answer={**_CLOCK, "properties": {**_CLOCK["properties"], "jumped": {"type": "boolean"}}},
    ),
    Operation(
        "GET",
        C + "/journal",
        ControlSurface.journal,
        "The journal of requests",
        query=("since",),
        answer=_object({"total": _INTEGER, "entries": {"type": "array", "items": _ENTRY}}),
    ),
    Operation(
        "DELETE", C + "/journal", ControlSurface.clear_journal, "Empty the journal", status=204
    ),
    Operation(
        "GET",
        C + "/history",
        ControlSurface.history,
        "The last transitions of the console's jobs",
        answer={"type": "array", "items": _TRANSITION},
    ),
    Operation(
        "GET",
        C + "/faults",
        ControlSurface.faults,
        "The fault and latency rules",
        answer={"type": "array", "items": _FAULT},
    ),
    Operation(
        "DELETE", C + "/faults", ControlSurface.clear_faults, "Remove every fault rule", status=204
    ),
    Operation(
        "POST",
        C + "/reset",
        ControlSurface.reset,
        "Back to the console's world (or the one given)",
        body=WORLD,
        body_required=False,
        answer=_object({"reset": {"type": "boolean"}}),
    ),
    Operation(
        "POST",
        C + "/tokens",
        ControlSurface.add_token,
        "Give the console a SEC token",
        body=TOKEN_REQUEST,
        status=201,
        answer=_object({"token": _STRING}),
    ),
)
