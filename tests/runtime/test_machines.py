"""The `transitions` machines against the tables: every (kind, state, event), allowed or refused."""

from __future__ import annotations

import pytest

from engine.core.lifecycle import LIFECYCLES, Event
from engine.runtime.machines import Fired, IllegalTransition, JobModel, Machines

NOW = 1_767_225_600_000
CASES = [
    pytest.param(kind, state, event, id=f"{kind.value}-{state}-{event.value}")
    for kind, table in LIFECYCLES.items()
    for state in table.states
    for event in Event
]


class Recorder:
    """A persist callback that records its calls and the model's status at call time."""

    def __init__(self) -> None:
        self.model: JobModel | None = None
        self.calls: list[tuple[str, str, str, int]] = []

    def __call__(self, source: str, dest: str) -> None:
        assert self.model is not None
        self.calls.append((source, dest, self.model.status, len(self.model.fired)))


@pytest.fixture(scope="module")
def machines() -> Machines:
    return Machines()


@pytest.mark.parametrize(("kind", "state", "event"), CASES)
def test_every_transition_is_allowed_or_refused_as_the_table_says(
    machines: Machines, kind, state, event
) -> None:
    table = LIFECYCLES[kind]
    recorder = Recorder()
    fired: list[Fired] = []
    model = JobModel(kind, "c1", 7, state, NOW, recorder, fired)
    recorder.model = model
    dest = table.target(state, event)
    if dest is None:
        with pytest.raises(IllegalTransition) as caught:
            machines.fire(model, event)
        assert (caught.value.kind, caught.value.state, caught.value.event) == (kind, state, event)
        assert recorder.calls == []
        assert fired == []
        assert model.status == state
    else:
        machines.fire(model, event)
        # persisted once, before the status changed and before anything was recorded
        assert recorder.calls == [(state, dest, state, 0)]
        assert model.status == dest
        assert fired == [Fired("c1", kind, 7, state, dest, event.value, NOW)]


@pytest.mark.parametrize(
    ("kind", "state", "event"),
    [
        pytest.param(kind, state, t.event, id=f"{kind.value}-{state}-{t.event.value}")
        for kind, table in LIFECYCLES.items()
        for t in table.transitions
        for state in t.sources
    ],
)
def test_a_failed_persist_changes_nothing(machines: Machines, kind, state, event) -> None:
    """The compare-and-set write raising (a lost race) leaves the model and the log untouched."""

    class Lost(RuntimeError):
        pass

    def persist(source: str, dest: str) -> None:
        raise Lost

    fired: list[Fired] = []
    model = JobModel(kind, "c1", 7, state, NOW, persist, fired)
    with pytest.raises(Lost):
        machines.fire(model, event)
    assert model.status == state
    assert fired == []


def test_case_count_covers_every_pair() -> None:
    assert len(CASES) == sum(len(t.states) for t in LIFECYCLES.values()) * len(Event)


@pytest.mark.parametrize(("kind", "state", "event"), CASES)
def test_the_table_fires_as_the_library_does(kind, state, event) -> None:
    """A fire through the table read from the machine has exactly the effects of the
    library's own `trigger` (the path a machine with more than the persist callback takes)."""
    results = []
    for plain in (True, False):
        machine = Machines().by_kind[kind]
        if not plain:
            machine._moves = None  # the library's path
        recorder = Recorder()
        fired: list[Fired] = []
        model = JobModel(kind, "c1", 7, state, NOW, recorder, fired)
        recorder.model = model
        try:
            machine.fire(model, event)
            outcome: object = model.status
        except IllegalTransition as refused:
            outcome = (refused.kind, refused.state, refused.event)
        results.append((outcome, model.status, recorder.calls, fired))
    assert results[0] == results[1]


def test_a_machine_given_more_than_persist_fires_through_the_library() -> None:
    from engine.runtime.machines import _plain_moves

    for machine in Machines().by_kind.values():
        inner = machine._machine
        persist = inner.before_state_change[0]
        assert _plain_moves(inner, persist) is not None
        inner.after_state_change = [lambda event: None]
        assert _plain_moves(inner, persist) is None


@pytest.mark.parametrize("kind", list(LIFECYCLES))
def test_a_status_the_machine_does_not_know_is_refused_without_a_write(kind) -> None:
    """A stored status no table names (an obsolete or corrupt row) is an IllegalTransition
    through the table, where the library's `trigger` raised a ValueError: nothing is written."""
    recorder = Recorder()
    fired: list[Fired] = []
    model = JobModel(kind, "c1", 7, "NOT_A_STATUS", NOW, recorder, fired)
    recorder.model = model
    with pytest.raises(IllegalTransition):
        Machines().by_kind[kind].fire(model, next(iter(Event)))
    assert (model.status, recorder.calls, fired) == ("NOT_A_STATUS", [], [])
