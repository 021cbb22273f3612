"""Replaying scenarios: in-process on a virtual clock by default, or against a served target.

In-process, each scenario gets a fresh `Simulator` (in-memory store, virtual clocks, autojump
off), a console created with the scenario's world, engine rules and seed, and an
`httpx.AsyncClient` bound to the ASGI app. With a target URL the same steps go over HTTP; the
control steps and the clock go to the target's `/simulator/consoles/...` surface when it has
one, and are reported as skipped when it has not.

A step that does not meet its expectation fails the scenario (FAIL); a step that cannot be
carried out (a control action refused, an uncaptured variable, a transport error) is an ERROR.
The steps after a failure are not run.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import ssl
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import anyio
import httpx
import structlog

from engine.core.errors import ERROR_KEYS
from engine.core.progression import format_duration_ms
from engine.core.releases import read_release
from engine.scenarios.loader import (
    VARIABLE,
    AdvanceAction,
    ConcurrentlyAction,
    ControlAction,
    Expect,
    RequestAction,
    Scenario,
    ScenarioError,
    Step,
    WaitForAction,
    find_files,
    load_file,
)

IN_PROCESS_TOKEN = "scenario-token"
IN_PROCESS_OPERATOR = "scenario-operator-token"
IN_PROCESS_BASIC = ("scenario", "scenario-password")
CONSOLE_ID = "scenario"
MAX_POLLS = 10_000
REAL_WAIT_BOUND_S = 10.0  # wait_for without a virtual clock: poll in real time, at most this
REAL_POLL_S = 0.1
BODY_LIMIT = 2_000

StepStatus = Literal["pass", "fail", "error", "skipped"]
ScenarioStatus = Literal["PASS", "FAIL", "ERROR"]


class StepError(Exception):
    """A step that cannot be carried out (as opposed to an expectation not met)."""


class Unavailable(Exception):
    """The target offers no control surface or virtual clock for this step."""


# --- what goes over the wire ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """A request after substitution, as the report shows it (credentials left out)."""

    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    json: Any = None
    has_json: bool = False
    body: str | None = None
    auth: dict[str, str] = field(default_factory=dict)  # the credential headers, not reported

    def describe(self) -> list[str]:
        line = f"{self.method} {self.path}"
        if self.query:
            line += "?" + "&".join(f"{k}={v}" for k, v in self.query.items())
        lines = [line]
        if self.headers:
            lines.append(f"headers: {_show(self.headers)}")
        if self.has_json:
            lines.append(f"json: {_show(self.json)}")
        elif self.body is not None:
            lines.append(f"body: {_clip(self.body)}")
        return lines


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    text: str
    body: Any = None
    is_json: bool = False

    def describe(self) -> list[str]:
        lines = [f"status {self.status}"]
        if self.is_json:
            lines.append(f"body: {_show(self.body)}")
        elif self.text:
            lines.append(f"body: {_clip(self.text)}")
        return lines


def _show(value: Any) -> str:
    return _clip(json.dumps(value, ensure_ascii=False))


def _clip(text: str) -> str:
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + f"... ({len(text)} chars)"


# --- results --------------------------------------------------------------------------------


@dataclass(slots=True)
class StepResult:
    step: Step
    status: StepStatus
    detail: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ScenarioResult:
    id: str
    name: str
    file: str
    status: ScenarioStatus
    steps: list[StepResult] = field(default_factory=list)
    error: str | None = None  # a file that does not load, a console that cannot be set up
    notes: list[str] = field(default_factory=list)
    total_steps: int = 0

    @property
    def skipped(self) -> int:
        return sum(1 for s in self.steps if s.status == "skipped")

    @property
    def failure(self) -> StepResult | None:
        return next((s for s in self.steps if s.status in ("fail", "error")), None)


# --- targets --------------------------------------------------------------------------------


class Driver(Protocol):
    """What a step needs of where it runs."""

    client: httpx.AsyncClient
    token: str
    builtins: dict[str, str]
    has_control: bool
    has_clock: bool

    async def control(self, actions: Mapping[str, Any]) -> Any: ...

    async def advance(self, ms: int) -> None: ...

    async def now_ms(self) -> int: ...

    async def jump(self, limit_ms: int) -> bool: ...

    async def advance_to(self, ms: int) -> None: ...


class InProcess:
    """A fresh simulator per scenario, its virtual clock driven directly."""

    has_control = True
    has_clock = True

    def __init__(self, client: httpx.AsyncClient, token: str, console: Any, control: Any) -> None:
        self.client = client
        self.token = token
        user, password = IN_PROCESS_BASIC
        self.builtins = {
            "token": token,
            "operator_token": IN_PROCESS_OPERATOR,
            "basic_user": user,
            "basic_password": password,
        }
        self.console = console
        self._control = control

    @property
    def _clock(self) -> Any:
        from engine.runtime.clock import VirtualClock

        clock = self.console.clock
        if not isinstance(clock, VirtualClock):
            raise Unavailable("the console runs on the real clock")
        return clock

    async def control(self, actions: Mapping[str, Any]) -> Any:
        from engine.control.schema import ControlError
        from engine.core.errors import QRadarError

        try:
            return await self._control.apply(self.console, dict(actions))
        except ControlError as error:
            raise StepError(str(error)) from None
        except QRadarError as error:
            raise StepError(f"control refused: {error}") from None

    async def advance(self, ms: int) -> None:
        await self._clock.advance(ms / 1000)

    async def now_ms(self) -> int:
        return int(self._clock.now_ms())

    async def jump(self, limit_ms: int) -> bool:
        return bool(await self._clock.jump_to_next(limit_ms))

    async def advance_to(self, ms: int) -> None:
        await self._clock.advance_to(ms)


class Remote:
    """A served target; its `/simulator/consoles/current/...` surface when it has one."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        token: str,
        simulator: bool,
        builtins: Mapping[str, str] | None = None,
        admin: Mapping[str, str] | None = None,
    ) -> None:
        self.client = client
        self.token = token
        self.admin = dict(admin or {})  # the control surface's credential, as headers
        self.builtins = {
            "token": token,
            "operator_token": "",
            "basic_user": "",
            "basic_password": "",
            **(builtins or {}),
        }
        self.has_control = simulator
        self.has_clock = simulator

    async def _post(self, route: str, body: Any) -> Any:
        if not self.has_control:
            raise Unavailable("the target offers no /simulator control surface")
        try:
            response = await self.client.post(
                f"/simulator/consoles/current/{route}",
                json=body,
                headers={"SEC": self.token, **self.admin},
            )
        except httpx.HTTPError as error:
            raise StepError(f"control request failed: {error!r}") from None
        if response.status_code >= 300:
            raise StepError(f"control refused ({response.status_code}): {response.text}")
        return response.json() if response.content else None

    async def control(self, actions: Mapping[str, Any]) -> Any:
        return await self._post("control", dict(actions))

    async def advance(self, ms: int) -> None:
        await self._post("clock", {"advance": f"{ms}ms"})

    async def now_ms(self) -> int:
        if not self.has_clock:
            raise Unavailable("the target offers no virtual clock")
        response = await self.client.get(
            "/simulator/consoles/current/clock", headers={"SEC": self.token, **self.admin}
        )
        if response.status_code != 200:
            raise StepError(f"clock request failed ({response.status_code}): {response.text}")
        return int(response.json()["now_ms"])

    async def jump(self, limit_ms: int) -> bool:
        answer = await self._post("clock", {"next": True, "limit_ms": limit_ms})
        return bool(answer.get("jumped")) if isinstance(answer, dict) else False

    async def advance_to(self, ms: int) -> None:
        await self._post("clock", {"set": ms})


@dataclass(slots=True)
class Target:
    """Where scenarios run: in-process (url None) or a served URL."""

    url: str | None = None
    token: str | None = None
    admin_token: str | None = None  # the served simulator's control surface credential
    #: httpx's `verify=` for an https:// URL (`--ca FILE`: a context; `--insecure`: False)
    verify: ssl.SSLContext | bool = True
    db: str = ":memory:"  # in-process: the store the simulator runs on
    _simulator: bool | None = None

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"} if self.admin_token else {}

    async def is_simulator(self, client: httpx.AsyncClient) -> bool:
        if self._simulator is None:
            try:
                response = await client.get("/simulator/health")
                self._simulator = response.status_code == 200
            except httpx.HTTPError:
                self._simulator = False
        return self._simulator

    @asynccontextmanager
    async def driver(self, scenario: Scenario, notes: list[str]) -> AsyncIterator[Driver]:
        if self.url is None:
            async with _in_process(scenario, self.token or IN_PROCESS_TOKEN, self.db) as driver:
                yield driver
            return
        async with httpx.AsyncClient(base_url=self.url, timeout=30.0, verify=self.verify) as client:
            if not await self.is_simulator(client):
                from engine.simulator import DEFAULT_TOKEN

                notes.append("the target has no control surface: world and engine not applied")
                yield Remote(client, self.token or DEFAULT_TOKEN, False)
                return
            token = secrets.token_hex(16)
            builtins = {
                "operator_token": secrets.token_hex(16),
                "basic_user": f"user-{secrets.token_hex(4)}",
                "basic_password": secrets.token_hex(8),
            }
            admin = self.admin_headers
            created = await client.post(
                "/simulator/consoles",
                json=_console_body(scenario, token, builtins),
                headers=admin,
            )
            if created.status_code == 201:
                console_id = created.json()["id"]
                try:
                    yield Remote(client, token, True, builtins, admin)
                finally:
                    await client.delete(f"/simulator/consoles/{console_id}", headers=admin)
                return
            if created.status_code == 401:
                raise StepError(
                    "the target's control surface needs its admin credential: give "
                    "--admin-token or BRE_ADMIN_TOKEN (the `admin=` of its ready line)"
                )
            raise StepError(
                f"the target refused the scenario's console ({created.status_code}): {created.text}"
            )


def _console_body(scenario: Scenario, token: str, builtins: Mapping[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "tokens": [token],
        "non_admin_tokens": [builtins["operator_token"]],
        "basic": [[builtins["basic_user"], builtins["basic_password"]]],
        "clock": "virtual",
        "seed": scenario.seed or 0,
    }
    if scenario.world_raw is not None:
        body["world"] = scenario.world_raw
    if scenario.release is not None:
        body["release"] = scenario.release
    if scenario.engine:
        body["rules"] = scenario.engine
    return body


@asynccontextmanager
async def _in_process(scenario: Scenario, token: str, db: str) -> AsyncIterator[Driver]:
    from engine.api.app import create_app
    from engine.control.actions import Control
    from engine.simulator import Settings, Simulator

    async with Simulator(Settings(seed=scenario.seed or 0, db=db)) as sim:
        console = await sim.create_console(
            CONSOLE_ID,
            tokens=(token,),
            world=scenario.world,
            seed=scenario.seed or 0,
            rules=scenario.engine or None,
            clock="virtual",
            basic=(IN_PROCESS_BASIC,),
            non_admin_tokens=(IN_PROCESS_OPERATOR,),
            release=scenario.release,
        )
        control = Control(sim)
        app = create_app(sim, control=control)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://simulator") as client:
            yield InProcess(client, token, console, control)


# --- variables and matching -----------------------------------------------------------------


def substitute(value: Any, variables: Mapping[str, Any]) -> Any:
    """`${name}` replaced: a string that is exactly `${name}` takes the value with its type."""

    def lookup(name: str) -> Any:
        if name not in variables:
            raise StepError(f"${{{name}}} has not been captured")
        return variables[name]

    if isinstance(value, str):
        whole = VARIABLE.fullmatch(value)
        if whole:
            return lookup(whole[1])
        return VARIABLE.sub(lambda m: _text(lookup(m[1])), value)
    if isinstance(value, dict):
        return {substitute(k, variables): substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [substitute(v, variables) for v in value]
    return value


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return expected == actual
    return type(expected) is type(actual) and bool(expected == actual)


def match(expected: Any, actual: Any, path: str = "json") -> list[str]:
    """Subset matching of the format: mappings by listed keys, lists item-wise, scalars equal."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected a mapping, got {_show(actual)}"]
        problems: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems += match(value, actual[key], f"{path}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {_show(actual)}"]
        if len(expected) != len(actual):
            return [f"{path}: expected {len(expected)} items, got {len(actual)}"]
        problems = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            problems += match(e, a, f"{path}[{i}]")
        return problems
    if not _same(expected, actual):
        return [f"{path}: expected {_show(expected)}, got {_show(actual)}"]
    return []


def check_error(code: int, answer: Answer) -> list[str]:
    """A QRadar error body with this unique code, and the whole shape around it."""
    body = answer.body
    if not answer.is_json or not isinstance(body, dict):
        return [f"error: expected a QRadar error body with code {code}, got {answer.text[:200]!r}"]
    problems = [f"error.{k}: missing" for k in ERROR_KEYS if k not in body]
    if problems:
        return problems
    if not _same(code, body["code"]):
        problems.append(f"error.code: expected {code}, got {_show(body['code'])}")
    if not isinstance(body["message"], str):
        problems.append(f"error.message: expected a string, got {_show(body['message'])}")
    if not isinstance(body["details"], dict):
        problems.append(f"error.details: expected a mapping, got {_show(body['details'])}")
    if body["description"] is not None and not isinstance(body["description"], str):
        problems.append(f"error.description: expected a string or null, got {body['description']}")
    http = body["http_response"]
    if not isinstance(http, dict) or not isinstance(http.get("message"), str):
        problems.append(f"error.http_response: expected {{message, code}}, got {_show(http)}")
    elif not _same(answer.status, http.get("code")):
        problems.append(
            f"error.http_response.code: {_show(http.get('code'))} is not the status {answer.status}"
        )
    if answer.status < 400:
        problems.append(f"error: status {answer.status} is not an error")
    return problems


def check(expect: Expect, answer: Answer, variables: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if expect.status is not None and answer.status not in expect.status:
        wanted = " or ".join(str(s) for s in expect.status)
        problems.append(f"status: expected {wanted}, got {answer.status}")
    if expect.error is not None:
        problems += check_error(expect.error, answer)
    if expect.has_json:
        wanted_json = substitute(expect.json, variables)
        if not answer.is_json:
            problems.append(f"json: the body is not JSON ({answer.text[:200]!r})")
        else:
            problems += match(wanted_json, answer.body)
    for name, value in expect.headers.items():
        wanted_header = _text(substitute(value, variables))
        got = answer.headers.get(name.lower())
        if got is None:
            problems.append(f"headers.{name}: missing")
        elif got != wanted_header:
            problems.append(f"headers.{name}: expected {wanted_header!r}, got {got!r}")
    for key in expect.absent:
        items = answer.body if isinstance(answer.body, list) else [answer.body]
        for i, item in enumerate(items):
            if isinstance(item, dict) and key in item:
                where = f"[{i}]." if isinstance(answer.body, list) else ""
                problems.append(f"absent: {where}{key} is present")
                break
    return problems


def dig(body: Any, path: str) -> Any:
    """A value by dotted path with list indexes (`id`, `0.id`, `http_response.code`)."""
    current = body
    for part in path.split(".") if path else []:
        if isinstance(current, list) and re.fullmatch(r"-?\d+", part):
            index = int(part)
            if not -len(current) <= index < len(current):
                raise KeyError(path)
            current = current[index]
        elif isinstance(current, dict) and part in current:
            current = current[part]
        else:
            raise KeyError(path)
    return current


def expected_text(expect: Expect, variables: Mapping[str, Any]) -> str:
    parts = []
    if expect.status is not None:
        parts.append("status " + " or ".join(str(s) for s in expect.status))
    if expect.error is not None:
        parts.append(f"error code {expect.error}")
    if expect.has_json:
        try:
            parts.append(f"json {_show(substitute(expect.json, variables))}")
        except StepError:
            parts.append(f"json {_show(expect.json)}")
    if expect.headers:
        parts.append(f"headers {_show(expect.headers)}")
    if expect.absent:
        parts.append(f"absent {_show(list(expect.absent))}")
    return "; ".join(parts) or "(nothing)"


# --- running --------------------------------------------------------------------------------


class _Run:
    """One scenario being replayed."""

    def __init__(self, scenario: Scenario, driver: Driver) -> None:
        self.scenario = scenario
        self.driver = driver
        self.variables: dict[str, Any] = dict(driver.builtins)

    def prepare(self, action: RequestAction | WaitForAction) -> Sent:
        request = action.request
        v = self.variables
        headers = {str(k): _text(substitute(val, v)) for k, val in request.headers.items()}
        if self.scenario.api_version is not None and not any(
            k.lower() == "version" for k in headers
        ):
            headers = {"Version": self.scenario.api_version, **headers}
        query = {str(k): _text(substitute(val, v)) for k, val in request.query.items()}
        auth: dict[str, str] = {}
        kind = request.auth.kind
        if kind == "default":
            auth = {"SEC": self.driver.token}
        elif kind == "token":
            auth = {"SEC": _text(substitute(request.auth.token, v))}
        elif kind == "basic":
            pair = f"{substitute(request.auth.user, v)}:{substitute(request.auth.password, v)}"
            auth = {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
        return Sent(
            method=request.method,
            path=_text(substitute(request.path, v)),
            headers=headers,
            query=query,
            json=substitute(request.json, v) if request.has_json else None,
            has_json=request.has_json,
            body=_text(substitute(request.body, v)) if request.body is not None else None,
            auth=auth,
        )

    async def send(self, sent: Sent) -> Answer:
        content: bytes | None = None
        headers = {**sent.headers, **sent.auth}
        if sent.has_json:
            content = json.dumps(sent.json, ensure_ascii=False).encode()
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
        elif sent.body is not None:
            content = sent.body.encode()
        try:
            response = await self.driver.client.request(
                sent.method, sent.path, headers=headers, params=sent.query or None, content=content
            )
        except httpx.HTTPError as error:
            raise StepError(f"{sent.method} {sent.path}: {error!r}") from None
        text = response.text
        body: Any = None
        is_json = False
        if text.strip():
            with suppress(ValueError):
                body, is_json = json.loads(text), True
        names = {k.lower(): v for k, v in response.headers.items()}
        return Answer(response.status_code, names, text, body, is_json)

    def capture(self, capture: Mapping[str, str], answer: Answer) -> list[str]:
        problems = []
        for name, path in capture.items():
            try:
                self.variables[name] = dig(answer.body, path)
            except KeyError:
                problems.append(f"capture {name}: no {path!r} in the response")
        return problems

    async def step(self, step: Step) -> StepResult:
        action = step.action
        try:
            if isinstance(action, RequestAction):
                return await self.request(step, action)
            if isinstance(action, AdvanceAction):
                await self.driver.advance(action.ms)
                return StepResult(step, "pass")
            if isinstance(action, ControlAction):
                await self.driver.control(substitute(action.actions, self.variables))
                return StepResult(step, "pass")
            if isinstance(action, WaitForAction):
                return await self.wait_for(step, action)
            return await self.concurrently(step, action)
        except Unavailable as why:
            return StepResult(step, "skipped", [f"skipped: {why}"])
        except StepError as error:
            return StepResult(step, "error", [f"error: {error}"])

    async def request(self, step: Step, action: RequestAction) -> StepResult:
        sent = self.prepare(action)
        answer = await self.send(sent)
        problems = check(action.expect, answer, self.variables)
        if not problems:
            problems = self.capture(action.capture, answer)
        if problems:
            return StepResult(step, "fail", _failure(sent, action.expect, answer, problems, self))
        return StepResult(step, "pass")

    async def wait_for(self, step: Step, action: WaitForAction) -> StepResult:
        sent = self.prepare(action)
        driver = self.driver
        polls = 0
        if driver.has_clock:
            deadline = await driver.now_ms() + action.within_ms
            late = f"not reached within {format_duration_ms(action.within_ms)} of simulated time"

            async def expired() -> bool:
                return await driver.now_ms() >= deadline or polls >= MAX_POLLS

            async def pause() -> None:
                if not await driver.jump(deadline):
                    await driver.advance_to(deadline)
        else:
            bound = min(action.within_ms / 1000, REAL_WAIT_BOUND_S)
            started = time.monotonic()
            late = f"not reached within {bound:g} s of real time (no virtual clock)"

            async def expired() -> bool:
                return time.monotonic() - started >= bound

            async def pause() -> None:
                await anyio.sleep(REAL_POLL_S)

        while True:
            answer = await self.send(sent)
            polls += 1
            problems = check(action.until, answer, self.variables)
            if not problems:
                break
            if await expired():
                return StepResult(
                    step, "fail", _failure(sent, action.until, answer, [late, *problems], self)
                )
            await pause()
        problems = self.capture(action.capture, answer)
        if problems:
            return StepResult(step, "fail", _failure(sent, action.until, answer, problems, self))
        return StepResult(step, "pass")

    async def concurrently(self, step: Step, action: ConcurrentlyAction) -> StepResult:
        prepared = [self.prepare(branch) for branch in action.branches]
        answers: list[Answer | None] = [None] * len(prepared)
        errors: list[str] = []

        async def run(i: int, sent: Sent) -> None:
            try:
                answers[i] = await self.send(sent)
            except StepError as error:
                errors.append(f"branch {i + 1}: {error}")

        async with anyio.create_task_group() as group:
            for i, sent in enumerate(prepared):
                group.start_soon(run, i, sent)
        if errors:
            raise StepError("; ".join(sorted(errors)))
        got = [a.status for a in answers if a is not None]
        detail: list[str] = []
        if action.expect_statuses is not None and sorted(got) != sorted(action.expect_statuses):
            detail.append(
                f"expected statuses (any order): {sorted(action.expect_statuses)}, got {got}"
            )
        for i, (branch, sent, answer) in enumerate(
            zip(action.branches, prepared, answers, strict=True)
        ):
            assert answer is not None
            problems = check(branch.expect, answer, self.variables)
            if not problems:
                problems = self.capture(branch.capture, answer)
            if problems:
                label = f"branch {i + 1}" + (f" {branch.name!r}" if branch.name else "")
                detail.append(f"{label}:")
                detail += [
                    "  " + line for line in _failure(sent, branch.expect, answer, problems, self)
                ]
        if detail:
            for i, (sent, answer) in enumerate(zip(prepared, answers, strict=True)):
                assert answer is not None
                detail.append(f"branch {i + 1}: {sent.method} {sent.path} -> {answer.status}")
            return StepResult(step, "fail", detail)
        return StepResult(step, "pass")


def _failure(
    sent: Sent, expect: Expect, answer: Answer, problems: list[str], run: _Run
) -> list[str]:
    lines = ["request: " + sent.describe()[0], *("  " + x for x in sent.describe()[1:])]
    lines.append(f"expected: {expected_text(expect, run.variables)}")
    described = answer.describe()
    lines.append("got: " + described[0])
    lines += ["  " + x for x in described[1:]]
    lines.append("mismatch:")
    lines += [f"  - {p}" for p in problems[:20]]
    if len(problems) > 20:
        lines.append(f"  - ... and {len(problems) - 20} more")
    return lines


async def _other_release(scenario: Scenario, driver: Driver) -> str | None:
    """Why the target's console does not run the scenario's release (a real console, or a
    served simulator whose surface did not apply `release`), or None when it does."""
    if scenario.release is None:
        return None
    wanted = read_release(scenario.release)
    response = await driver.client.get("/api/system/about", headers={"SEC": driver.token})
    try:
        about = response.json() if response.status_code == 200 else {}
    except ValueError:
        about = {}
    running = about.get("release_name") if isinstance(about, dict) else None
    if running == wanted.release_name:
        return None
    return f"the target runs QRadar {running!r}, not {wanted.release_name!r}"


async def run_scenario(scenario: Scenario, target: Target | None = None) -> ScenarioResult:
    """Replay one scenario; never raises for what the scenario does."""
    target = target or Target()
    result = ScenarioResult(
        scenario.id, scenario.name, scenario.file, "PASS", total_steps=len(scenario.steps)
    )
    try:
        async with target.driver(scenario, result.notes) as driver:
            elsewhere = await _other_release(scenario, driver)
            if elsewhere is not None:  # a target that cannot run the scenario's release
                result.notes.append(elsewhere)
                result.steps = [
                    StepResult(s, "skipped", [f"skipped: {elsewhere}"]) for s in scenario.steps
                ]
                return result
            run = _Run(scenario, driver)
            for step in scenario.steps:
                outcome = await run.step(step)
                result.steps.append(outcome)
                if outcome.status == "fail":
                    result.status = "FAIL"
                    break
                if outcome.status == "error":
                    result.status = "ERROR"
                    break
    except Exception as error:  # a console that cannot be set up, a target that went away
        result.status = "ERROR"
        result.error = f"{type(error).__name__}: {error}"
    return result


@contextmanager
def quiet_logs() -> Iterator[None]:
    """Engine events below WARNING dropped (to stderr) for the run, then the old setup back."""
    previous = structlog.get_config()
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    try:
        yield
    finally:
        structlog.configure(**previous)


def load_all(paths: Sequence[str]) -> tuple[list[Scenario], list[ScenarioResult]]:
    """Scenarios of every file, and an ERROR result per file that does not load."""
    scenarios: list[Scenario] = []
    broken: list[ScenarioResult] = []
    for path in find_files(paths):
        try:
            scenarios += load_file(path)
        except ScenarioError as error:
            broken.append(
                ScenarioResult(str(path), str(path), str(path), "ERROR", error=str(error))
            )
    return scenarios, broken


async def replay(
    paths: Sequence[str], target: Target | None = None, *, quiet: bool = True
) -> list[ScenarioResult]:
    scenarios, results = load_all(paths)
    with quiet_logs() if quiet else _nothing():
        for scenario in scenarios:
            results.append(await run_scenario(scenario, target))
    order = {s.id: i for i, s in enumerate(scenarios)}
    results.sort(key=lambda r: (r.file, order.get(r.id, -1)))
    return results


@contextmanager
def _nothing() -> Iterator[None]:
    yield
