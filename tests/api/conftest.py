"""Fixtures for the HTTP API tests: the ASGI app of the shared `sim`, and its clients."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from engine.api.app import create_app
from engine.simulator import Simulator
from tests.support.http import make_client


@pytest.fixture
def app(sim: Simulator) -> Starlette:
    return create_app(sim)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the default console with its admin token."""
    async with make_client(app) as c:
        yield c


@pytest.fixture
async def anonymous(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client that sends no credentials."""
    async with make_client(app, {}, admin=False) as c:
        yield c
