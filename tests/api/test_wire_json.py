"""`read_json` (engine/api/wire.py) reads with orjson when it can: every body must mean what
the standard library reading (`read_json_strictly`, the reference) makes of it, and be refused
where that refuses it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.api.wire import read_json, read_json_strictly

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**65), max_value=2**65)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)

#: texts the two readers might disagree on, spliced into bodies by the property below
_EDGES = [
    "1e400", "-1e400", "NaN", "Infinity", "-0", "-0.0", "9223372036854775807",
    "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
    "18446744073709551616", '"\\ud800"', '"\\udc00\\ud800"', '"\\ud83d\\ude00"', "\ufeff{}",
    '{"a":1,"a":2}', "[1,]", "01", "1.", ".5", "\x00", '"\x01"', "\u2028", "  [ ] ",
]  # fmt: skip


def _outcome(read: Any, raw: bytes) -> tuple[str, Any]:
    try:
        value = read(raw)
    except (ValueError, RecursionError):
        return ("refused", None)
    return ("read", json.dumps(value, sort_keys=False))  # equal values, equal types and order


@settings(max_examples=400, deadline=None)
@given(_values)
def test_json_bodies_mean_what_the_standard_library_reads(value: Any) -> None:
    raw = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    assert _outcome(read_json, raw) == _outcome(read_json_strictly, raw)


@settings(max_examples=400, deadline=None)
@given(_values, st.sampled_from(_EDGES), st.integers(min_value=0, max_value=200))
def test_spliced_bodies_are_read_or_refused_alike(value: Any, edge: str, at: int) -> None:
    text = json.dumps(value)
    at = at % (len(text) + 1)
    raw = (text[:at] + edge + text[at:]).encode("utf-8", "surrogatepass")
    assert _outcome(read_json, raw) == _outcome(read_json_strictly, raw)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_any_bytes_are_read_or_refused_alike(raw: bytes) -> None:
    assert _outcome(read_json, raw) == _outcome(read_json_strictly, raw)


@pytest.mark.parametrize("raw", [e.encode("utf-8", "surrogatepass") for e in _EDGES])
def test_edge_bodies_are_read_or_refused_alike(raw: bytes) -> None:
    assert _outcome(read_json, raw) == _outcome(read_json_strictly, raw)


@pytest.mark.parametrize("depth", [400, 511, 512, 990, 1000, 1024, 1025])
def test_deep_bodies_are_read_or_refused_alike(depth: int) -> None:
    raw = b"[" * depth + b"]" * depth
    assert _outcome(read_json, raw) == _outcome(read_json_strictly, raw)


def test_integers_past_a_long_are_refused() -> None:
    for text in ("9223372036854775808", "18446744073709551616", "-9223372036854775809"):
        with pytest.raises(ValueError, match="Long"):
            read_json(text.encode())
    assert read_json(b"9223372036854775807") == 2**63 - 1
