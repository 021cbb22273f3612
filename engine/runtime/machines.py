"""The lifecycle tables as `transitions` machines. The only module that imports `transitions`.

Shape (measured with transitions 0.9.3): one `Machine` per table, built once per simulator, no model
attached (`model=None`, `initial=None`, `auto_transitions=False`, `send_event=True`); events are
fired on a transient `JobModel` rebuilt from the stored row for one unit of work, so no model
outlives its transaction. The machine decides which transitions exist; since it is plain (no
conditions, one callback), firing one is a lookup in the table read from the built machine,
with the effects of `machine.events[name].trigger(model)` from every state the machine knows
(which a machine given more than that falls back to, and which a test compares it with); a
status it does not know is an IllegalTransition, where `trigger` raises a ValueError.

The machines are the synchronous `Machine`, fired inside the store's unit of work: that sidesteps
the three hazards of `AsyncMachine` (a second trigger cancelling the first caller, swallowed
`CancelledError`, callbacks run concurrently) rather than patching them, and keeps each
transition and its write in one atomic unit. Callbacks run in the order listed: persist (a
compare-and-set write, before the state changes); the transition is recorded once `trigger`
returns (one callback per transition: each costs about a microsecond, four per lifecycle).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from transitions import Machine, MachineError

from engine.core.enums import JobKind
from engine.core.frozen import record
from engine.core.lifecycle import LIFECYCLES, Event, Lifecycle

# transitions logs every trigger at DEBUG; with the level set, each call is one cheap check.
logging.getLogger("transitions").setLevel(logging.WARNING)


class IllegalTransition(RuntimeError):
    """The table refuses this event in this state (an engine bug or a lost race)."""

    def __init__(self, kind: JobKind, state: str, event: Event) -> None:
        super().__init__(f"{kind.value}: no transition {event.value!r} from {state}")
        self.kind, self.state, self.event = kind, state, event


@record
class Fired:
    """A transition that happened, for logs, journals and waiters."""

    console: str
    kind: JobKind
    id: int
    source: str
    dest: str
    event: str
    at_ms: int


class JobModel:
    """A transient model for one transition: the row's state plus how to persist a change.

    Not a dataclass: `transitions` compares models with `==`, and value-equal models would be
    treated as one (`add_model` silently skips a model equal to one it holds).
    """

    __slots__ = ("console", "fired", "id", "kind", "now_ms", "persist", "status")

    def __init__(
        self,
        kind: JobKind,
        console: str,
        id: int,
        status: str,
        now_ms: int,
        persist: Callable[[str, str], None],
        fired: list[Fired],
    ) -> None:
        self.kind, self.console, self.id, self.status = kind, console, id, status
        self.now_ms = now_ms
        self.persist = persist
        self.fired = fired


class LifecycleMachine:
    """One table's machine; `fire` moves a model or raises IllegalTransition."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        self._machine = Machine(
            model=None,
            states=list(lifecycle.states),
            initial=None,
            transitions=[
                {"trigger": t.event.value, "source": list(t.sources), "dest": t.dest}
                for t in lifecycle.transitions
            ],
            auto_transitions=False,
            send_event=True,
            model_attribute="status",
            before_state_change=[self._persist],
        )

        #: (event, source) -> dest, read from the machine once it is built (`_plain_moves`)
        self._moves = _plain_moves(self._machine, self._persist)

    @staticmethod
    def _persist(event: Any) -> None:
        model: JobModel = event.model
        model.persist(event.transition.source, event.transition.dest)

    def fire(self, model: JobModel, event: Event) -> None:
        source = model.status
        name = event._value_  # a plain str (`.value` is a property: a Python call each time)
        moves = self._moves
        if moves is not None:
            dest = moves.get((name, source))
            if dest is None:
                raise IllegalTransition(model.kind, source, event)
            model.persist(source, dest)  # raises: nothing changes, as in `trigger`
            model.status = dest
        else:
            trigger = self._machine.events.get(name)
            if trigger is None:
                raise IllegalTransition(model.kind, model.status, event)
            try:
                trigger.trigger(model)
            except MachineError:
                raise IllegalTransition(model.kind, model.status, event) from None
        model.fired.append(
            Fired(model.console, model.kind, model.id, source, model.status, name, model.now_ms)
        )


def _plain_moves(
    machine: Machine, persist: Callable[[Any], None]
) -> dict[tuple[str, str], str] | None:
    """The machine's transitions as a table, when firing one can do nothing but call `persist`
    and set the state: one transition per (event, source), no conditions, no callback of a
    transition, a state or the machine besides `persist` before the state changes. Then a fire
    is a lookup (about 1 µs, where `trigger` costs about 10: four per lifecycle); None (fire
    through `trigger`) as soon as the machine is given anything more."""
    hooks = (
        machine.prepare_event, machine.finalize_event, machine.after_state_change,
        machine.on_exception, machine.on_final,
    )  # fmt: skip
    if any(hooks) or machine.before_state_change != [persist] or machine.has_queue:
        return None
    if machine.ignore_invalid_triggers:
        return None
    states = machine.states.values()
    if any(s.on_enter or s.on_exit or s.final or s.ignore_invalid_triggers for s in states):
        return None
    moves: dict[tuple[str, str], str] = {}
    for name, event in machine.events.items():
        for source, transitions in event.transitions.items():
            if len(transitions) != 1:
                return None
            t = transitions[0]
            if t.prepare or t.conditions or t.before or t.after or t.dest is None:
                return None
            moves[(name, source)] = t.dest
    return moves


class Machines:
    """The machines of every table, built once per simulator."""

    def __init__(self) -> None:
        self.by_kind = {kind: LifecycleMachine(table) for kind, table in LIFECYCLES.items()}

    def fire(self, model: JobModel, event: Event) -> None:
        self.by_kind[model.kind].fire(model, event)
