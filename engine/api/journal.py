"""A bounded journal of requests per console, for introspection and for recording scenarios.

Recording is on the path of every request, so it keeps what it was handed (a tuple of the raw
values) and builds entries, decoding bodies, only when someone reads the journal. Three bounds
keep its memory flat whatever clients send: entries per console, header bytes per entry (the
values are clipped), and bytes per console (the oldest entries are dropped first); bodies are
clipped to BODY_LIMIT each.

An entry's bytes are what Python holds for it (`sys.getsizeof` of each part), so the bound per
console is a bound on memory; a response body is kept as an exact-size copy, because orjson's
result keeps an allocation of at least 4 KiB however short the JSON (measured: 4.8 KiB per
entry of a 334-byte restore before the copy).
"""

from __future__ import annotations

import itertools
import json
import sys
from collections import deque
from typing import Any

from engine.core.frozen import record

BODY_LIMIT = 16_384
#: What an entry costs besides its parts: the tuple and its numbers.
ENTRY_OVERHEAD = sys.getsizeof((0,) * 12) + 3 * 32


@record
class Entry:
    seq: int
    at_ms: int
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: str | None
    status: int
    payload: bytes  # the response as sent
    response_headers: dict[str, str]
    duration_ms: float

    @property
    def response(self) -> Any:
        if not self.payload:
            return None
        try:
            return json.loads(self.payload)
        except ValueError:
            return self.payload.decode("utf-8", "replace")

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at_ms": self.at_ms,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body,
            "status": self.status,
            "response": self.response,
            "response_headers": self.response_headers,
            "duration_ms": self.duration_ms,
        }


_EMPTY_DICT = sys.getsizeof({})
#: `sys.getsizeof` of an empty ASCII text and of empty bytes: a text of n ASCII characters
#: holds n more, bytes of length n too (tests/api/test_journal_memory.py checks it)
_STR, _BYTES = sys.getsizeof(""), sys.getsizeof(b"")

_Raw = tuple[int, int, str, str, str, dict[str, str], bytes, int, bytes, dict[str, str], float, int]


def _held(headers: dict[str, str]) -> int:
    """The memory a dict of texts holds."""
    size = sys.getsizeof(headers)
    for k, v in headers.items():
        size += sys.getsizeof(k) + sys.getsizeof(v)
    return size


def clip_headers(headers: dict[str, str], limit: int) -> dict[str, str]:
    """Headers within `limit` bytes (names and values), in order: the value that crosses the
    limit is cut, the headers after it are left out."""
    kept: dict[str, str] = {}
    left = limit
    for name, value in headers.items():
        if len(name) >= left:
            break
        kept[name] = value[: left - len(name)]
        left -= len(name) + len(kept[name])
    return kept


class Journal:
    """The last requests of a console, within `limit` entries and `max_bytes` bytes; older ones
    fall off, so memory stays flat under load."""

    def __init__(
        self, limit: int = 1000, *, header_bytes: int = 4096, max_bytes: int = 4 * 2**20
    ) -> None:
        self._entries: deque[_Raw] = deque()
        self._seq = itertools.count(1)
        self.limit = limit
        self.header_bytes = header_bytes
        self.max_bytes = max_bytes
        self.bytes = 0  # what the kept entries cost, as `ENTRY_OVERHEAD` + their texts
        self.total = 0

    def record(
        self,
        at_ms: int,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        status: int,
        payload: bytes,
        response_headers: dict[str, str],
        duration_ms: float,
    ) -> None:
        self.total += 1
        seq = next(self._seq)
        getsize = sys.getsizeof
        # what `sys.getsizeof` says, computed for ASCII texts and for bytes (a call of it was
        # a tenth of a microsecond, ten of them per request)
        text, held = 0, getsize(headers)  # one pass for the clip check and `_held`
        for name, value in headers.items():
            text += len(name) + len(value)
            held += (_STR + len(name) if name.isascii() else getsize(name)) + (
                _STR + len(value) if value.isascii() else getsize(value)
            )
        if text > self.header_bytes:
            headers = clip_headers(headers, self.header_bytes)
            held = _held(headers)
        if body:  # exact-size copies (module docstring); b"" is one object already
            body = bytes(memoryview(body)[:BODY_LIMIT])
        payload = bytes(memoryview(payload)[:BODY_LIMIT])
        size = (
            ENTRY_OVERHEAD
            + (_STR + len(method) if method.isascii() else getsize(method))
            + (_STR + len(path) if path.isascii() else getsize(path))
            + (_STR + len(query) if query.isascii() else getsize(query))
            + held
            + 2 * _BYTES
            + len(body)
            + len(payload)
            + (_held(response_headers) if response_headers else _EMPTY_DICT)
        )
        entries = self._entries
        entries.append(
            (
                seq,
                at_ms,
                method,
                path,
                query,
                headers,
                body,
                status,
                payload,
                response_headers,
                duration_ms,
                size,
            )
        )
        self.bytes += size
        while entries and (len(entries) > self.limit or self.bytes > self.max_bytes):
            self.bytes -= entries.popleft()[-1]

    def entries(self, since: int = 0) -> list[Entry]:
        return [_entry(raw) for raw in self._entries if raw[0] > since]

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)


def _entry(raw: _Raw) -> Entry:
    seq, at, method, path, query, headers, body, status, payload, reply_headers, duration, _ = raw
    text = body.decode("utf-8", "replace") or None
    return Entry(
        seq,
        at,
        method,
        path,
        query,
        headers,
        text,
        status,
        payload,
        reply_headers,
        round(duration, 3),
    )
