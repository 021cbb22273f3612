"""Random control inputs: never a 5xx, and never a console on which a later valid request
answers 5xx (issue 9.4: values were stored that broke every later request of their console).

The inputs are drawn from the control surface's own declarations (`engine.control`): each
declared field gives values near its bounds and of its kind, mixed with values of any other
kind, unknown keys and huge numbers, so most bodies are nearly valid and reach the effects.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.control.actions import CONTROL
from engine.control.inputs import CLOCK_REQUEST, CONSOLE, TOKEN_REQUEST
from engine.control.schema import (
    Boolean,
    Constant,
    Duration,
    Either,
    Field,
    Integer,
    ListOf,
    Nullable,
    Number,
    Obj,
    OneOf,
    Pair,
    Text,
)
from engine.control.world import WORLD
from tests.support.http import API
from tests.support.http import CONTROL as SURFACE
from tests.support.worlds import GROUPS

#: Any JSON value, small; numbers include ones no 64-bit integer or double holds.
JUNK: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from([2**63, -(2**63) - 1, 10**30])
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=6,
)  # fmt: skip


def values(field: Field) -> st.SearchStrategy[Any]:
    """Values for a declared field: mostly of its kind and near its bounds, sometimes junk.
    Built once per field (a strategy for the whole control language is costly to build)."""
    strategy = _BUILT.get(id(field))
    if strategy is None:
        own = _values(field)
        strategy = _BUILT[id(field)] = st.one_of(own, own, own, own, JUNK)  # junk 1 in 5
    return strategy


_BUILT: dict[int, st.SearchStrategy[Any]] = {}


def _values(field: Field) -> st.SearchStrategy[Any]:
    if isinstance(field, Boolean | Constant):
        return st.booleans()
    if isinstance(field, Integer):
        edges = [field.minimum, field.maximum, field.minimum - 1, field.maximum + 1, 0, 1]
        return st.sampled_from(edges) | st.integers(min(field.minimum, 0), 10**6)
    if isinstance(field, Number):
        return st.floats(field.minimum - 1, field.maximum + 1, allow_nan=False)
    if isinstance(field, OneOf):
        return st.sampled_from(field.values) | st.text(max_size=6)
    if isinstance(field, Text):
        return st.from_regex(field.pattern, fullmatch=True).map(lambda t: t[:40]) | st.text(
            max_size=10
        )
    if isinstance(field, Duration):
        return st.sampled_from(["0s", "1s", "500ms", "2m", "1h", "99999999999999999999h", 0,
                                2.5, 253402300799.999, 253402300800, "soon", -1])  # fmt: skip
    if isinstance(field, Nullable):
        return st.none() | values(field.inner)
    if isinstance(field, ListOf):
        return st.lists(values(field.item), max_size=3)
    if isinstance(field, Pair):
        return st.tuples(values(field.first), values(field.second)).map(list)
    if isinstance(field, Either):
        return st.one_of([values(choice) for choice in field.choices])
    if isinstance(field, Obj):
        keys = {name: values(declared) for name, declared in field.fields.items()}
        known = st.fixed_dictionaries({}, optional=keys)
        return known | known.map(lambda d: {**d, "bogus": 1})
    raise AssertionError(f"no strategy for {field!r}")


FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    derandomize=True,  # the same inputs on every run: no flaky suite
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.filter_too_much],
)  # fmt: skip
_ids = itertools.count()


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


async def sound(resp: httpx.Response) -> httpx.Response:
    """Not a server error, and a JSON answer (or none)."""
    assert resp.status_code < 500, (resp.request.method, resp.request.url, resp.text)
    if resp.content:
        resp.json()
    return resp


@FUZZ
@given(
    creation=values(CONSOLE),
    inputs=st.lists(
        st.tuples(st.sampled_from(["control", "clock", "tokens", "reset"]), st.data()),
        max_size=4,
    ),
    raw=st.sampled_from([b"", b"{", b'{"seed": 1e309}', b'{"advance": 1e999}', b"[]", b"null"]),
)
async def test_random_control_inputs_never_break_a_console(
    client: httpx.AsyncClient, creation: Any, inputs: list[tuple[str, st.DataObject]],
    raw: bytes,
) -> None:  # fmt: skip
    n = next(_ids)
    if isinstance(creation, dict):
        creation = {**creation, "id": f"fuzz-{n}"}  # a fresh console each time
    created = await sound(await client.post(SURFACE, content=body(creation)))
    if created.status_code != 201:
        created = await sound(await client.post(SURFACE, json={"id": f"fuzz-{n}"}))
    assert created.status_code == 201, created.text
    console = created.json()["id"]
    sec = {"SEC": created.json()["tokens"][0]}
    here = f"{SURFACE}/{console}"
    inputs_of = {"control": CONTROL, "clock": CLOCK_REQUEST, "tokens": TOKEN_REQUEST,
                 "reset": WORLD}  # fmt: skip
    try:
        await sound(await client.post(f"{here}/control", content=raw))
        for route, data in inputs:
            value = data.draw(values(inputs_of[route]))
            await sound(await client.post(f"{here}/{route}", content=body(value)))
        await later_valid_requests(client, here, sec)
    finally:
        await client.delete(here)


async def later_valid_requests(client: httpx.AsyncClient, here: str, sec: dict[str, str]) -> None:
    """What a user does next; faults and outage mode answer 5xx on purpose, so they go first."""
    assert (await sound(await client.get(here))).status_code == 200
    assert (await sound(await client.get(SURFACE))).status_code == 200
    for part in ("journal", "history", "faults", "clock"):
        assert (await sound(await client.get(f"{here}/{part}"))).status_code == 200
    await sound(await client.delete(f"{here}/faults"))
    switched = await client.post(f"{here}/control", json={"outage_during_restore": False})
    assert switched.status_code == 200, switched.text
    restore = await sound(
        await client.post(f"{API}/restores", headers=sec, json={"backup_id": 1, "groups": GROUPS})
    )
    if restore.status_code == 201:
        rid = restore.json()["id"]
        await sound(
            await client.post(f"{API}/restores/{rid}", headers=sec, json={"status": "REQUESTING"})
        )
    await sound(await client.post(f"{API}/backups", headers={**sec, "backup_type": "CONFIG"},
                                  json={"name": "after", "configuration_id": 1}))  # fmt: skip
    for action in ({"advance": "1h"}, {"step": "restore"}, {"step": "backup"}, {"seed": 1}):
        await sound(await client.post(f"{here}/control", json=action))
    for listing in ("restores", "backups"):  # 403 when the fuzzer took the token's admin
        await sound(await client.get(f"{API}/{listing}", headers=sec))
    assert (await sound(await client.get(here))).status_code == 200
