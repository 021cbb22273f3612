"""The control language: the actions of scenario `control` steps and of the HTTP control surface.

One mapping, one or more actions applied in order, e.g. `{rebalancing: true}`,
`{engine: {restore: {mode: manual}}}`, `{step: restore}`, `{external_restore: start}`,
`{fault: {method: GET, path: /api/..., status: 500, code: 1000, times: 1}}`,
`{add_backup: {id: 9, name: old, type: CONFIG, status: SUCCESS}}`, `{advance: 30s}`.
The same `Control` serves the embedded API, scenarios and `/simulator/...` over HTTP, so the
three can never drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from engine.control.faults import FaultTable, read_fault
from engine.control.world import read_backup, read_world
from engine.core.enums import JobKind
from engine.core.errors import QRadarError
from engine.core.progression import Outcome, parse_duration_ms
from engine.runtime.clock import VirtualClock
from engine.runtime.console import Console
from engine.simulator import Simulator
from engine.store.base import StoredBackup, StoredRestore

log = structlog.get_logger("engine")

ACTIONS = (
    "rebalancing", "outage_during_restore", "engine", "step", "external_restore", "fault",
    "clear_faults", "add_backup", "backup_missing", "job_rule", "advance", "set_clock", "seed",
    "reset", "world",
)  # fmt: skip


class ControlError(ValueError):
    """A control action that cannot be applied; the message names the key."""


class Control:
    """Applies control actions to the consoles of a simulator; holds their fault tables."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self._faults: dict[str, FaultTable] = {}

    def faults(self, console: str) -> FaultTable:
        table = self._faults.get(console)
        if table is None:
            table = self._faults[console] = FaultTable()
        return table

    def forget(self, console: str) -> None:
        self._faults.pop(console, None)

    async def apply(self, console: Console, actions: Any) -> dict[str, Any]:
        """Apply every action of the mapping in order; returns what each one produced."""
        if not isinstance(actions, Mapping) or not actions:
            raise ControlError(f"control: expected a mapping of actions ({', '.join(ACTIONS)})")
        results: dict[str, Any] = {}
        for key, value in actions.items():
            if key not in ACTIONS:
                raise ControlError(f"control.{key}: unknown action (allowed: {', '.join(ACTIONS)})")
            try:
                results[key] = await getattr(self, f"_{key}")(console, value)
            except QRadarError:
                raise  # the engine's own refusal (e.g. 1016), answered as QRadar would
            except (ValueError, LookupError, TypeError) as error:  # RuleError, WorldError ...
                raise ControlError(f"control.{key}: {error}") from None
            log.info("control_applied", console=console.id, action=key)
        return results

    async def _rebalancing(self, console: Console, value: Any) -> bool:
        await console.set_rebalancing(_flag(value, "rebalancing"))
        return bool(value)

    async def _outage_during_restore(self, console: Console, value: Any) -> bool:
        await console.set_outage_mode(_flag(value, "outage_during_restore"))
        return bool(value)

    async def _engine(self, console: Console, value: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise ControlError("control.engine: expected {restore: {...}, backup: {...}}")
        result = {}
        for kind, spec in value.items():
            if kind not in ("restore", "backup") or not isinstance(spec, Mapping):
                raise ControlError(
                    f"control.engine.{kind}: expected restore or backup with a mapping"
                )
            result[kind] = (await console.set_rule(kind, spec)).to_json(JobKind(kind))
        return result

    async def _step(self, console: Console, value: Any) -> Any:
        if isinstance(value, str):
            value = {"kind": value}
        if not isinstance(value, Mapping) or value.get("kind") not in ("restore", "backup"):
            raise ControlError("control.step: expected restore, backup or {kind, id, outcome}")
        id = value.get("id")
        if id is not None and (isinstance(id, bool) or not isinstance(id, int)):
            raise ControlError(f"control.step.id: {id!r} is not a record id")
        outcome = value.get("outcome")
        if outcome is not None and outcome not in ("SUCCESS", "FAILED"):
            raise ControlError(f"control.step.outcome: {outcome!r} is not SUCCESS or FAILED")
        moved = await console.step(value["kind"], id, outcome)
        return _job_json(moved)

    async def _external_restore(self, console: Console, value: Any) -> Any:
        outcome = "SUCCESS"
        if isinstance(value, Mapping):
            action, outcome = value.get("action"), value.get("outcome", "SUCCESS")
        else:
            action = value
        if action == "start":
            restore = await console.start_external_restore()
            return {"id": restore.id, "status": restore.status.value}
        if action == "finish":
            if outcome not in ("SUCCESS", "FAILED"):
                raise ControlError(f"control.external_restore.outcome: {outcome!r}")
            return {"finished": await console.finish_external_restore(Outcome(outcome))}
        raise ControlError("control.external_restore: expected start or finish")

    async def _fault(self, console: Console, value: Any) -> dict[str, Any]:
        fault = read_fault(value)
        self.faults(console.id).add(fault)
        return fault.to_json()

    async def _clear_faults(self, console: Console, value: Any) -> int:
        table = self.faults(console.id)
        count = len(table.rules)
        table.clear()
        return count

    async def _add_backup(self, console: Console, value: Any) -> dict[str, Any]:
        hosts = await console.hosts()
        default_host = next((h.id for h in hosts if h.console), 53)
        backup = await console.add_backup(read_backup(value, "add_backup", default_host))
        return backup.to_json()

    async def _backup_missing(self, console: Console, value: Any) -> dict[str, Any]:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ControlError("control.backup_missing: expected a backup id")
        return (await console.backup_missing(value)).to_json()

    async def _job_rule(self, console: Console, value: Any) -> bool:
        if not isinstance(value, Mapping) or not {"kind", "id", "rule"} <= set(value):
            raise ControlError("control.job_rule: expected {kind, id, rule}")
        await console.set_job_rule(value["kind"], value["id"], value["rule"])
        return True

    async def _advance(self, console: Console, value: Any) -> int:
        clock = console.clock
        if not isinstance(clock, VirtualClock):
            raise ControlError("control.advance: this console runs on the real clock")
        await clock.advance(parse_duration_ms(value, "advance") / 1000)
        return clock.now_ms()

    async def _set_clock(self, console: Console, value: Any) -> int:
        clock = console.clock
        if not isinstance(clock, VirtualClock):
            raise ControlError("control.set_clock: this console runs on the real clock")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ControlError("control.set_clock: expected milliseconds since the epoch")
        await clock.set(value)
        return clock.now_ms()

    async def _seed(self, console: Console, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ControlError("control.seed: expected an integer")
        await console.set_seed(value)
        return value

    async def _reset(self, console: Console, value: Any) -> bool:
        world = read_world(value, "reset") if isinstance(value, Mapping) else None
        self.faults(console.id).clear()
        await console.reset(world)
        return True

    async def _world(self, console: Console, value: Any) -> bool:
        await console.seed_world(read_world(value))
        return True


def _flag(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ControlError(f"control.{key}: expected true or false, got {value!r}")
    return value


def _job_json(moved: StoredRestore | StoredBackup | None) -> dict[str, Any] | None:
    if moved is None:
        return None
    return {"kind": moved.job.kind.value, "id": moved.record.id, "status": moved.job.status}
