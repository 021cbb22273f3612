"""Reading scenario files (format 1, `docs: scenario-format.md`) into typed steps.

Every error names the file, the line and the key: `scenarios/x.yaml:12: steps[2].request.methd:
unknown key (allowed: ...)`. The YAML is composed into nodes (`yaml.compose_all`) so that each
key keeps its line; values are then constructed by PyYAML's safe constructor. An unknown key is
always an error, never ignored.

Runner additions to the stable core (all optional): `capture` on a `wait_for`, and `absent`
applying to every item when the body is a list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from yaml.constructor import SafeConstructor

from engine.control.actions import BY_NAME as CONTROL_ACTIONS
from engine.control.inputs import SEED
from engine.control.progression import RULE
from engine.control.schema import ControlError, Duration, Field
from engine.control.world import WORLD
from engine.core.enums import JobKind
from engine.core.records import World, demo_world
from engine.core.releases import read_release

FORMAT = 1
STEP_ACTIONS = ("request", "advance", "wait_for", "control", "concurrently")
_TOP_KEYS = (
    "format", "name", "description", "seed", "api_version", "release", "world", "engine", "steps",
)  # fmt: skip
_STEP_EXTRAS: dict[str, tuple[str, ...]] = {
    "request": ("expect", "capture"),
    "advance": (),
    "wait_for": (),
    "control": (),
    "concurrently": ("expect_statuses",),
}
_REQUEST_KEYS = ("method", "path", "headers", "query", "json", "body", "auth")
_EXPECT_KEYS = ("status", "json", "headers", "error", "absent")
_WAIT_KEYS = ("request", "until", "within", "capture")
_DURATION = Duration()
_BRANCH_KEYS = ("name", "request", "expect", "capture")
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
DEFAULT_WITHIN_MS = 3_600_000
#: Variables every scenario starts with: the console's admin SEC token, a token without the
#: admin capability (403/26), and Basic credentials of the console.
BUILTIN_VARIABLES = ("token", "operator_token", "basic_user", "basic_password")


class ScenarioError(ValueError):
    """A scenario file that cannot be read: `file:line: key: message`."""

    def __init__(self, file: str, line: int, key: str, message: str) -> None:
        super().__init__(f"{file}:{line}: {key}: {message}")
        self.file = file
        self.line = line
        self.key = key
        self.message = message


# --- the typed scenario ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Auth:
    kind: Literal["default", "none", "token", "basic"] = "default"
    token: str | None = None
    user: str | None = None
    password: str | None = None


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    headers: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    has_json: bool = False
    body: str | None = None
    auth: Auth = field(default_factory=Auth)


@dataclass(frozen=True, slots=True)
class Expect:
    status: tuple[int, ...] | None = None
    json: Any = None
    has_json: bool = False
    headers: dict[str, Any] = field(default_factory=dict)
    error: int | None = None
    absent: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return (
            self.status is None
            and not self.has_json
            and not self.headers
            and self.error is None
            and not self.absent
        )


@dataclass(frozen=True, slots=True)
class RequestAction:
    request: Request
    expect: Expect = field(default_factory=Expect)
    capture: dict[str, str] = field(default_factory=dict)
    name: str | None = None  # a branch of `concurrently` may be named


@dataclass(frozen=True, slots=True)
class AdvanceAction:
    ms: int


@dataclass(frozen=True, slots=True)
class WaitForAction:
    request: Request
    until: Expect
    within_ms: int = DEFAULT_WITHIN_MS
    capture: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ControlAction:
    actions: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ConcurrentlyAction:
    branches: tuple[RequestAction, ...]
    expect_statuses: tuple[int, ...] | None = None


Action = RequestAction | AdvanceAction | WaitForAction | ControlAction | ConcurrentlyAction


@dataclass(frozen=True, slots=True)
class Step:
    index: int  # 1-based within the scenario
    line: int
    kind: str  # request | advance | wait_for | control | concurrently
    action: Action
    name: str | None = None

    @property
    def label(self) -> str:
        return f"step {self.index}" + (f" {self.name!r}" if self.name else "") + f" ({self.kind})"


@dataclass(frozen=True, slots=True)
class Scenario:
    file: str
    index: int  # 1-based document number within the file
    line: int
    name: str
    description: str = ""
    seed: int | None = None
    api_version: str | None = None
    release: str | None = None  # the console's QRadar release ("7.5.0 UP6"); None: the newest
    world: World | None = None
    world_raw: Any = None  # the mapping as written (sent to a served simulator)
    engine: dict[str, dict[str, Any]] = field(default_factory=dict)
    steps: tuple[Step, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.file}#{self.index}"


# --- reading nodes --------------------------------------------------------------------------


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _type_name(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    tag = str(node.tag).rsplit(":", 1)[-1]
    return {"str": "a string", "int": "an integer", "float": "a number", "bool": "a boolean",
            "null": "null"}.get(tag, tag)  # fmt: skip


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file

    def error(self, node: yaml.Node, key: str, message: str) -> ScenarioError:
        return ScenarioError(self.file, _line(node), key, message)

    def value(self, node: yaml.Node) -> Any:
        constructor = SafeConstructor()
        return constructor.construct_object(node, deep=True)

    def mapping(
        self,
        node: yaml.Node,
        key: str,
        allowed: Sequence[str] | None,
        required: Sequence[str] = (),
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """The entries of a mapping node: name -> (key node, value node)."""
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, key, f"expected a mapping, got {_type_name(node)}")
        SafeConstructor().flatten_mapping(node)
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.error(key_node, key, "a key must be a plain name")
            name = str(self.value(key_node))
            path = f"{key}.{name}" if key else name
            if name in entries:
                raise self.error(key_node, path, "duplicate key")
            if allowed is not None and name not in allowed:
                raise self.error(key_node, path, f"unknown key (allowed: {', '.join(allowed)})")
            entries[name] = (key_node, value_node)
        for name in required:
            if name not in entries:
                path = f"{key}.{name}" if key else name
                raise self.error(node, path, "required")
        return entries

    def sequence(self, node: yaml.Node, key: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, key, f"expected a list, got {_type_name(node)}")
        return list(node.value)

    def string(self, node: yaml.Node, key: str) -> str:
        value = self.value(node)
        if not isinstance(node, yaml.ScalarNode) or not isinstance(value, str):
            raise self.error(node, key, f"expected a string, got {_type_name(node)}")
        return value

    def integer(self, node: yaml.Node, key: str) -> int:
        value = self.value(node)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(node, key, f"expected an integer, got {_type_name(node)}")
        return value

    def duration(self, node: yaml.Node, key: str) -> int:
        ms: int = self.checked(_DURATION, node, key)
        return ms

    def checked(self, field: Field, node: yaml.Node, key: str) -> Any:
        """The value of `node` read by a control input; an error points at the line of the
        part it names (`world.hosts[1].id`), the key path in front of it."""
        value = self.value(node)
        try:
            return field.read(value, key)
        except ControlError as error:
            raise self.error(_locate(node, error.field, key), error.field, error.problem) from None

    def status(self, node: yaml.Node, key: str) -> int:
        status = self.integer(node, key)
        if not 100 <= status <= 599:
            raise self.error(node, key, f"{status} is not an HTTP status")
        return status

    def string_map(self, node: yaml.Node, key: str) -> dict[str, Any]:
        entries = self.mapping(node, key, None)
        result: dict[str, Any] = {}
        for name, (_, value_node) in entries.items():
            value = self.value(value_node)
            if isinstance(value, dict | list):
                raise self.error(
                    value_node, f"{key}.{name}", f"expected a scalar, got {_type_name(value_node)}"
                )
            result[name] = value
        return result

    # --- the parts of a scenario ------------------------------------------------------------

    def scenario(self, node: yaml.Node, index: int) -> Scenario:
        top = self.mapping(node, "", _TOP_KEYS)
        if "format" not in top:
            raise self.error(node, "format", f"required (write `format: {FORMAT}` first)")
        format_node = top["format"][1]
        if self.value(format_node) != FORMAT or isinstance(self.value(format_node), bool):
            raise self.error(
                format_node, "format", f"{self.value(format_node)!r} is not supported (use 1)"
            )
        name = f"{Path(self.file).stem} #{index}"
        if "name" in top:
            name = self.string(top["name"][1], "name")
        description = ""
        if "description" in top:
            description = self.string(top["description"][1], "description").strip()
        seed = self.checked(SEED, top["seed"][1], "seed") if "seed" in top else None
        api_version = None
        if "api_version" in top:
            api_node = top["api_version"][1]
            raw = self.value(api_node)
            if isinstance(raw, bool) or not isinstance(raw, str | int | float):
                raise self.error(api_node, "api_version", 'expected a version such as "26.0"')
            api_version = str(float(raw)) if isinstance(raw, int) else str(raw)
        release = None
        if "release" in top:
            release_node = top["release"][1]
            try:
                release = read_release(self.value(release_node)).name
            except ValueError as error:
                raise self.error(release_node, "release", str(error)) from None
        world: World | None = None
        world_raw: Any = None
        if "world" in top:
            world_node = top["world"][1]
            world_raw = self.value(world_node)
            world = demo_world() if world_raw is None else self.checked(WORLD, world_node, "world")
        engine = self.engine(top["engine"][1]) if "engine" in top else {}
        steps_node = top["steps"][1] if "steps" in top else None
        if steps_node is None:
            raise self.error(node, "steps", "required (a list of steps)")
        steps = tuple(
            self.step(step_node, i + 1)
            for i, step_node in enumerate(self.sequence(steps_node, "steps"))
        )
        _check_variables(self, steps_node, steps)
        return Scenario(
            file=self.file, index=index, line=_line(node), name=name, description=description,
            seed=seed, api_version=api_version, release=release, world=world, world_raw=world_raw,
            engine=engine, steps=steps,
        )  # fmt: skip

    def engine(self, node: yaml.Node) -> dict[str, dict[str, Any]]:
        kinds = self.mapping(node, "engine", [k.value for k in JobKind])
        result: dict[str, dict[str, Any]] = {}
        for kind, (_, spec_node) in kinds.items():
            self.checked(RULE[JobKind(kind)], spec_node, f"engine.{kind}")
            result[kind] = self.value(spec_node)
        return result

    def step(self, node: yaml.Node, index: int) -> Step:
        key = f"steps[{index - 1}]"
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, key, f"expected a mapping, got {_type_name(node)}")
        raw = self.mapping(node, key, None)
        actions = [k for k in raw if k in STEP_ACTIONS]
        if not actions:
            raise self.error(node, key, f"a step needs one action: {', '.join(STEP_ACTIONS)}")
        if len(actions) > 1:
            second = raw[actions[1]][0]
            raise self.error(
                second, f"{key}.{actions[1]}", f"one action per step (this one has {actions[0]})"
            )
        kind = actions[0]
        entries = self.mapping(node, key, ("name", kind, *_STEP_EXTRAS[kind]))
        name = self.string(entries["name"][1], f"{key}.name") if "name" in entries else None
        value = entries[kind][1]
        path = f"{key}.{kind}"
        action: Action
        if kind == "request":
            action = RequestAction(
                self.request(value, path),
                self.expect(entries["expect"][1], f"{key}.expect")
                if "expect" in entries
                else Expect(),
                self.capture(entries["capture"][1], f"{key}.capture")
                if "capture" in entries
                else {},
            )
        elif kind == "advance":
            action = AdvanceAction(self.duration(value, path))
        elif kind == "wait_for":
            action = self.wait_for(value, path)
        elif kind == "control":
            action = self.control(value, path)
        else:
            action = self.concurrently(value, path, entries.get("expect_statuses"), key)
        return Step(index=index, line=_line(node), kind=kind, action=action, name=name)

    def request(self, node: yaml.Node, key: str) -> Request:
        entries = self.mapping(node, key, _REQUEST_KEYS, required=("method", "path"))
        method = self.string(entries["method"][1], f"{key}.method").upper()
        if not re.fullmatch(r"[A-Z]+", method):
            raise self.error(entries["method"][1], f"{key}.method", f"{method!r} is not a method")
        path = self.string(entries["path"][1], f"{key}.path")
        if not path.startswith("/"):
            raise self.error(entries["path"][1], f"{key}.path", "a path starts with /")
        headers = (
            self.string_map(entries["headers"][1], f"{key}.headers") if "headers" in entries else {}
        )
        query = self.string_map(entries["query"][1], f"{key}.query") if "query" in entries else {}
        if "json" in entries and "body" in entries:
            raise self.error(entries["body"][0], f"{key}.body", "give json or body, not both")
        body = self.string(entries["body"][1], f"{key}.body") if "body" in entries else None
        auth = self.auth(entries["auth"][1], f"{key}.auth") if "auth" in entries else Auth()
        return Request(
            method=method, path=path, headers=headers, query=query,
            json=self.value(entries["json"][1]) if "json" in entries else None,
            has_json="json" in entries, body=body, auth=auth,
        )  # fmt: skip

    def auth(self, node: yaml.Node, key: str) -> Auth:
        if isinstance(node, yaml.ScalarNode):
            value = self.value(node)
            if value in ("default", "none"):
                return Auth(value)
            raise self.error(
                node,
                key,
                f"{value!r} is not default, none, {{token: X}} or {{basic: [user, pass]}}",
            )
        entries = self.mapping(node, key, ("token", "basic"))
        if len(entries) != 1:
            raise self.error(node, key, "expected {token: X} or {basic: [user, password]}")
        if "token" in entries:
            return Auth("token", token=str(self.value(entries["token"][1])))
        basic_node = entries["basic"][1]
        pair = self.value(basic_node)
        if not isinstance(pair, list) or len(pair) != 2:
            raise self.error(basic_node, f"{key}.basic", "expected [user, password]")
        return Auth("basic", user=str(pair[0]), password=str(pair[1]))

    def expect(self, node: yaml.Node, key: str) -> Expect:
        entries = self.mapping(node, key, _EXPECT_KEYS)
        status: tuple[int, ...] | None = None
        if "status" in entries:
            status_node = entries["status"][1]
            if isinstance(status_node, yaml.SequenceNode):
                items = self.sequence(status_node, f"{key}.status")
                if not items:
                    raise self.error(status_node, f"{key}.status", "an empty list accepts nothing")
                status = tuple(self.status(n, f"{key}.status") for n in items)
            else:
                status = (self.status(status_node, f"{key}.status"),)
        headers = (
            self.string_map(entries["headers"][1], f"{key}.headers") if "headers" in entries else {}
        )
        error: int | None = None
        if "error" in entries:
            error_entries = self.mapping(
                entries["error"][1], f"{key}.error", ("code",), required=("code",)
            )
            error = self.integer(error_entries["code"][1], f"{key}.error.code")
        absent: tuple[str, ...] = ()
        if "absent" in entries:
            absent_node = entries["absent"][1]
            absent = tuple(
                self.string(n, f"{key}.absent") for n in self.sequence(absent_node, f"{key}.absent")
            )
        return Expect(
            status=status,
            json=self.value(entries["json"][1]) if "json" in entries else None,
            has_json="json" in entries,
            headers=headers,
            error=error,
            absent=absent,
        )

    def capture(self, node: yaml.Node, key: str) -> dict[str, str]:
        entries = self.mapping(node, key, None)
        result: dict[str, str] = {}
        for name, (key_node, value_node) in entries.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise self.error(key_node, f"{key}.{name}", "a variable name is a plain identifier")
            value = self.value(value_node)
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise self.error(
                    value_node, f"{key}.{name}", "expected a dotted path such as id or 0.id"
                )
            result[name] = str(value)
        return result

    def wait_for(self, node: yaml.Node, key: str) -> WaitForAction:
        entries = self.mapping(node, key, _WAIT_KEYS, required=("request", "until"))
        within = (
            self.duration(entries["within"][1], f"{key}.within")
            if "within" in entries
            else DEFAULT_WITHIN_MS
        )
        until = self.expect(entries["until"][1], f"{key}.until")
        if until.empty:
            raise self.error(entries["until"][1], f"{key}.until", "give at least one expectation")
        return WaitForAction(
            request=self.request(entries["request"][1], f"{key}.request"),
            until=until,
            within_ms=within,
            capture=self.capture(entries["capture"][1], f"{key}.capture")
            if "capture" in entries
            else {},
        )

    def control(self, node: yaml.Node, key: str) -> ControlAction:
        entries = self.mapping(node, key, tuple(CONTROL_ACTIONS))
        if not entries:
            raise self.error(node, key, f"expected one or more of {', '.join(CONTROL_ACTIONS)}")
        actions: dict[str, Any] = {}
        for name, (_, value_node) in entries.items():
            value = self.value(value_node)
            if not _has_variable(value):  # else checked when the variables are known
                self.checked(CONTROL_ACTIONS[name].input, value_node, f"{key}.{name}")
            actions[name] = value
        return ControlAction(actions)

    def concurrently(
        self,
        node: yaml.Node,
        key: str,
        statuses: tuple[yaml.Node, yaml.Node] | None,
        step_key: str,
    ) -> ConcurrentlyAction:
        branches = []
        for i, branch_node in enumerate(self.sequence(node, key)):
            path = f"{key}[{i}]"
            entries = self.mapping(branch_node, path, _BRANCH_KEYS, required=("request",))
            branches.append(
                RequestAction(
                    self.request(entries["request"][1], f"{path}.request"),
                    self.expect(entries["expect"][1], f"{path}.expect")
                    if "expect" in entries
                    else Expect(),
                    self.capture(entries["capture"][1], f"{path}.capture")
                    if "capture" in entries
                    else {},
                    self.string(entries["name"][1], f"{path}.name") if "name" in entries else None,
                )
            )
        if len(branches) < 2:
            raise self.error(node, key, "expected at least two requests")
        expected: tuple[int, ...] | None = None
        if statuses is not None:
            status_node = statuses[1]
            expected = tuple(
                self.status(n, f"{step_key}.expect_statuses")
                for n in self.sequence(status_node, f"{step_key}.expect_statuses")
            )
            if len(expected) != len(branches):
                raise self.error(
                    status_node,
                    f"{step_key}.expect_statuses",
                    f"{len(expected)} statuses for {len(branches)} requests",
                )
        return ConcurrentlyAction(tuple(branches), expected)


def _locate(node: yaml.Node, path: str, prefix: str) -> yaml.Node:
    """The node a `world.hosts[0].id`-style path names below `node`, the node of `prefix` (as
    deep as it can be followed)."""
    parts = re.findall(r"\[(\d+)\]|([^.\[\]]+)", path[len(prefix) :])
    current = node
    for index, name in parts:
        if name and isinstance(current, yaml.MappingNode):
            found = next(
                ((k, v) for k, v in current.value if getattr(k, "value", None) == name), None
            )
            if found is None:
                return current
            key_node, value_node = found
            current = value_node if parts[-1] != (index, name) else key_node
        elif index and isinstance(current, yaml.SequenceNode):
            position = int(index)
            if position >= len(current.value):
                return current
            current = current.value[position]
        else:
            return current
    return current


def _has_variable(value: Any) -> bool:
    return any(True for _ in _variables(value))


def _variables(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield from VARIABLE.findall(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _variables(k)
            yield from _variables(v)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _variables(item)


def _request_variables(request: Request) -> Iterator[str]:
    yield from _variables(request.path)
    yield from _variables(request.headers)
    yield from _variables(request.query)
    yield from _variables(request.json)
    yield from _variables(request.body)
    yield from _variables([request.auth.token, request.auth.user, request.auth.password])


def _expect_variables(expect: Expect) -> Iterator[str]:
    yield from _variables(expect.json)
    yield from _variables(expect.headers)


def _check_variables(reader: _Reader, steps_node: yaml.Node, steps: Sequence[Step]) -> None:
    """Every `${name}` must be captured by an earlier step (a typo fails at load time)."""
    known: set[str] = set(BUILTIN_VARIABLES)
    for step in steps:
        used: list[str] = []
        captured: dict[str, str] = {}
        action = step.action
        if isinstance(action, RequestAction):
            used += [*_request_variables(action.request), *_expect_variables(action.expect)]
            captured = action.capture
        elif isinstance(action, WaitForAction):
            used += [*_request_variables(action.request), *_expect_variables(action.until)]
            captured = action.capture
        elif isinstance(action, ControlAction):
            used += list(_variables(action.actions))
        elif isinstance(action, ConcurrentlyAction):
            for branch in action.branches:
                used += [*_request_variables(branch.request), *_expect_variables(branch.expect)]
                captured = {**captured, **branch.capture}
        for name in used:
            if name not in known:
                node = steps_node.value[step.index - 1]
                raise reader.error(
                    node,
                    f"steps[{step.index - 1}]",
                    f"${{{name}}} is used before a step captures it",
                )
        known |= set(captured)


# --- files ----------------------------------------------------------------------------------


def load_text(text: str, file: str) -> list[Scenario]:
    """The scenarios of one YAML text (documents separated by `---`)."""
    reader = _Reader(file)
    try:
        documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = int(mark.line) + 1 if mark is not None else 1
        raise ScenarioError(file, line, "yaml", str(error.problem or error)) from None
    scenarios = []
    index = 0
    for document in documents:
        if document is None:
            continue
        index += 1
        scenarios.append(reader.scenario(document, index))
    if not scenarios:
        raise ScenarioError(file, 1, "format", "no scenario in this file")
    return scenarios


def load_file(path: str | Path) -> list[Scenario]:
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(file, 1, "file", str(error)) from None
    return load_text(text, file)


def find_files(paths: Sequence[str | Path]) -> list[Path]:
    """Files named, and `*.yaml` / `*.yml` under folders named (recursively), sorted."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
            )
        else:
            found.append(path)
    unique: list[Path] = []
    for path in found:
        if path not in unique:
            unique.append(path)
    return unique
