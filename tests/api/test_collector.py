"""`tune_collector_for_serving` (engine/api/app.py): what a served process does to the garbage
collector once it is up."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from engine.api.app import SERVING_YOUNG_GENERATION, tune_collector_for_serving


@pytest.fixture
def collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("collector")
def test_start_up_objects_are_frozen_and_the_young_generation_waits_longer() -> None:
    before = gc.get_threshold()
    kept = [object() for _ in range(3)]  # a start-up object the collector tracks
    assert any(o is kept for o in gc.get_objects())
    tune_collector_for_serving()
    assert gc.get_freeze_count() > 0
    assert not any(o is kept for o in gc.get_objects())  # out of the collector's sight
    assert gc.get_threshold() == (SERVING_YOUNG_GENERATION, before[1], before[2])
