"""The control language: the actions of scenario `control` steps and of the HTTP control surface.

One mapping, one or more actions applied in order, e.g. `{rebalancing: true}`,
`{engine: {restore: {mode: manual}}}`, `{step: restore}`, `{external_restore: start}`,
`{fault: {method: GET, path: /api/..., status: 500, code: 1000, times: 1}}`,
`{add_backup: {id: 9, name: old, type: CONFIG, status: SUCCESS}}`, `{advance: 30s}`.

Each action is one `Action`: its input, declared with the schema vocabulary, and its effect on
a console. `CONTROL` is the whole language as one input: every value of a request is checked
before any action runs, so a bad value changes nothing. The same `Control` serves the embedded
API, scenarios and `/simulator/...` over HTTP, so the three can never drift apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import structlog

from engine.control.faults import FAULT, Fault, FaultTable
from engine.control.inputs import SEED
from engine.control.progression import ANY_RULE, RULE, RULES
from engine.control.schema import (
    MAX_INSTANT_MS,
    Boolean,
    Constant,
    ControlError,
    Duration,
    Either,
    Field,
    Integer,
    ListOf,
    Obj,
    OneOf,
    Text,
    child,
)
from engine.control.world import BACKUP, INSTANT, WORLD, backup_record
from engine.core.enums import JobKind
from engine.core.errors import QRadarError
from engine.core.frozen import record
from engine.core.jobs import Job
from engine.core.progression import Outcome
from engine.core.records import World
from engine.runtime.clock import VirtualClock
from engine.runtime.console import Console
from engine.runtime.machines import IllegalTransition

if TYPE_CHECKING:
    from engine.simulator import Simulator

log = structlog.get_logger("engine")

Effect = Callable[["Control", Console, Any], Awaitable[Any]]


@record(slots=False)
class Action:
    """One action of the control language: what it takes, and what it does to a console."""

    name: str
    input: Field
    effect: Effect


class Control:
    """Applies control actions to the consoles of a simulator; holds their fault tables."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self._faults: dict[str, FaultTable] = {}
        self._origins: dict[str, tuple[str, ...]] = {}

    def faults(self, console: str) -> FaultTable:
        table = self._faults.get(console)
        if table is None:
            table = self._faults[console] = FaultTable()
        return table

    def origins(self, console: str) -> tuple[str, ...]:
        """The console's allowed origins (its `allowed_origins.list`): none unless set."""
        return self._origins.get(console, ())

    def set_origins(self, console: str, origins: tuple[str, ...]) -> None:
        if origins:
            self._origins[console] = origins
        else:
            self._origins.pop(console, None)

    def forget(self, console: str) -> None:
        self._faults.pop(console, None)
        self._origins.pop(console, None)

    async def apply(self, console: Console, actions: Any) -> dict[str, Any]:
        """Check every action of the mapping, then apply them in order; returns what each one
        produced. An action the console's state refuses stops the ones after it."""
        checked: dict[str, Any] = CONTROL.read(actions, "")
        results: dict[str, Any] = {}
        for name, value in checked.items():
            try:
                results[name] = await BY_NAME[name].effect(self, console, value)
            except (QRadarError, ControlError):
                raise  # the engine's own refusal (e.g. 1016), or a field named by the effect
            except (ValueError, LookupError, IllegalTransition) as error:
                # the console's state refused it: a backup id that exists, no such job, a
                # backup that cannot go MISSING from where it is ...
                raise ControlError(name, str(error)) from None
            log.info("control_applied", console=console.id, action=name)
        return results


# --- the effects -----------------------------------------------------------------------------


async def _rebalancing(control: Control, console: Console, on: bool) -> bool:
    await console.set_rebalancing(on)
    return on


async def _outage_during_restore(control: Control, console: Console, on: bool) -> bool:
    await console.set_outage_mode(on)
    return on


async def _engine(control: Control, console: Console, rules: dict[str, Any]) -> dict[str, Any]:
    result = {}
    for kind, spec in rules.items():
        result[kind] = (await console.set_rule(kind, spec)).to_json(JobKind(kind))
    return result


async def _step(control: Control, console: Console, value: str | dict[str, Any]) -> Any:
    spec: dict[str, Any] = {"kind": value} if isinstance(value, str) else value
    moved = await console.step(spec["kind"], spec.get("id"), spec.get("outcome"))
    return _job_json(moved)


async def _external_restore(control: Control, console: Console, value: str | dict[str, Any]) -> Any:
    spec: dict[str, Any] = {"action": value} if isinstance(value, str) else value
    if spec["action"] == "start":
        restore = await console.start_external_restore()
        return {"id": restore.id, "status": restore.status.value}
    outcome = Outcome(spec.get("outcome", Outcome.SUCCESS.value))
    return {"finished": await console.finish_external_restore(outcome)}


async def _fault(control: Control, console: Console, fault: Fault) -> dict[str, Any]:
    control.faults(console.id).add(fault)
    return fault.to_json()


async def _clear_faults(control: Control, console: Console, value: bool) -> int:
    table = control.faults(console.id)
    count = len(table.rules)
    table.clear()
    return count


async def _add_backup(control: Control, console: Console, data: dict[str, Any]) -> Any:
    hosts = await console.hosts()
    default_host = next((h.id for h in hosts if h.console), 53)
    return (await console.add_backup(backup_record(data, default_host))).to_json()


async def _backup_missing(control: Control, console: Console, id: int) -> dict[str, Any]:
    return (await console.backup_missing(id)).to_json()


async def _job_rule(control: Control, console: Console, value: dict[str, Any]) -> bool:
    await console.set_job_rule(value["kind"], value["id"], value["rule"])
    return True


def virtual_clock(console: Console, action: str) -> VirtualClock:
    """The console's clock, which the action can move only when it is virtual."""
    clock = console.clock
    if not isinstance(clock, VirtualClock):
        raise ControlError(action, "this console runs on the real clock")
    return clock


async def _advance(control: Control, console: Console, ms: int) -> int:
    clock = virtual_clock(console, "advance")
    if clock.now_ms() + ms > MAX_INSTANT_MS:
        raise ControlError("advance", f"would move the clock past {MAX_INSTANT_MS} ms")
    await clock.advance_to(clock.now_ms() + ms)
    return clock.now_ms()


async def _set_clock(control: Control, console: Console, when_ms: int) -> int:
    clock = virtual_clock(console, "set_clock")
    await clock.set(when_ms)
    return clock.now_ms()


async def _seed(control: Control, console: Console, seed: int) -> int:
    await console.set_seed(seed)
    return seed


async def _allowed_origins(control: Control, console: Console, origins: list[str]) -> list[str]:
    control.set_origins(console.id, tuple(origins))
    return origins


async def _reset(control: Control, console: Console, world: World | bool) -> bool:
    control.faults(console.id).clear()
    control.set_origins(console.id, ())
    await console.reset(world if isinstance(world, World) else None)
    return True


async def _world(control: Control, console: Console, world: World) -> bool:
    await console.seed_world(world)
    return True


def _job_json(moved: Job | None) -> dict[str, Any] | None:
    if moved is None:
        return None
    return {"kind": moved.kind.value, "id": moved.id, "status": moved.status}


# --- the language ----------------------------------------------------------------------------

_KIND = OneOf(tuple(k.value for k in JobKind), description="The kind of job.")
_ENDING = OneOf(tuple(o.value for o in Outcome if o is not Outcome.HANG))


#: A console's allowed_origins.list, bounded like every input a caller can grow.
MAX_ORIGINS = 64
ORIGINS = ListOf(
    Text(
        max_length=256, min_length=1, pattern=r"^(\*|[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/]+)$",
        meaning="* or an origin such as https://app.example:8443",
    ),
    max_items=MAX_ORIGINS,
    unique=True,
    description="The console's allowed_origins.list: the origins whose browser pages may call "
    "/api (CORS; * : every origin); [] : none, the default.",
)  # fmt: skip


def _rule_of_its_kind(data: dict[str, Any], path: str) -> None:
    RULE[JobKind(data["kind"])].read(data["rule"], child(path, "rule"))


ACTIONS: tuple[Action, ...] = (
    Action("rebalancing", Boolean(description="A data rebalance runs (409/1014)."), _rebalancing),
    Action(
        "outage_during_restore",
        Boolean(description="Every /api request answers 503 while a restore runs."),
        _outage_during_restore,
    ),
    Action("engine", RULES, _engine),
    Action(
        "step",
        Either(
            (_KIND, Obj({"kind": _KIND, "id": Integer(), "outcome": _ENDING}, required=("kind",))),
            expected="restore, backup or {kind, id?, outcome?}",
            description="Manual mode: the running job of that kind to its next phase.",
        ),
        _step,
    ),
    Action(
        "external_restore",
        Either(
            (
                OneOf(("start", "finish")),
                Obj(
                    {"action": OneOf(("start", "finish")), "outcome": _ENDING}, required=("action",)
                ),
            ),
            expected="start, finish or {action, outcome?}",
            description="A restore started outside the API (the UI): it holds the gate.",
        ),
        _external_restore,
    ),
    Action("fault", FAULT, _fault),
    Action("clear_faults", Constant(description="Remove every fault rule."), _clear_faults),
    Action("add_backup", BACKUP, _add_backup),
    Action(
        "backup_missing",
        Integer(description="A finished backup's file vanished (MISSING)."),
        _backup_missing,
    ),
    Action(
        "job_rule",
        Obj(
            {"kind": _KIND, "id": Integer(), "rule": ANY_RULE},
            required=("kind", "id", "rule"),
            check=_rule_of_its_kind,
            description="The progression of one job, by its record id.",
        ),
        _job_rule,
    ),
    Action("advance", Duration(description="Move the virtual clock forward."), _advance),
    Action("set_clock", INSTANT, _set_clock),
    Action("seed", SEED, _seed),
    Action(
        "reset",
        Either(
            (Constant(), WORLD),
            expected="true or a world",
            description="Back to the console's world (or the one given); faults and allowed "
            "origins cleared.",
        ),
        _reset,
    ),
    Action("world", WORLD, _world),
    Action("allowed_origins", ORIGINS, _allowed_origins),
)
BY_NAME = {action.name: action for action in ACTIONS}
NAMES = tuple(BY_NAME)
#: The whole control language: a mapping of one or more actions.
CONTROL = Obj(
    {action.name: action.input for action in ACTIONS},
    min_properties=1,
    description="One or more control actions, applied in order.",
)
