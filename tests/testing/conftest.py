"""The plugin's tests see its own defaults: no world of the root conftest."""

from __future__ import annotations

import pytest

from engine.simulator import Settings


@pytest.fixture
def bre_settings() -> Settings:
    return Settings()
