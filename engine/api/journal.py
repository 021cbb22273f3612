"""A bounded journal of requests per console, for introspection and for recording scenarios.

Recording is on the path of every request, so it keeps what it was handed (a tuple of the raw
values) and builds entries, decoding bodies, only when someone reads the journal.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from dataclasses import dataclass
from typing import Any

BODY_LIMIT = 16_384


@dataclass(frozen=True, slots=True)
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
            "seq": self.seq, "at_ms": self.at_ms, "method": self.method, "path": self.path,
            "query": self.query, "headers": self.headers, "body": self.body,
            "status": self.status, "response": self.response,
            "response_headers": self.response_headers, "duration_ms": self.duration_ms,
        }  # fmt: skip


_Raw = tuple[int, int, str, str, str, dict[str, str], bytes, int, bytes, dict[str, str], float]


class Journal:
    """The last `limit` requests; older ones fall off, so memory stays flat under load."""

    def __init__(self, limit: int = 1000) -> None:
        self._entries: deque[_Raw] = deque(maxlen=limit)
        self._seq = itertools.count(1)
        self.total = 0

    def record(
        self, at_ms: int, method: str, path: str, query: str, headers: dict[str, str],
        body: bytes, status: int, payload: bytes, response_headers: dict[str, str],
        duration_ms: float,
    ) -> None:  # fmt: skip
        self._entries.append((next(self._seq), at_ms, method, path, query, headers,
                              body[:BODY_LIMIT], status, payload[:BODY_LIMIT],
                              response_headers, duration_ms))  # fmt: skip
        self.total += 1

    def entries(self, since: int = 0) -> list[Entry]:
        return [
            Entry(seq, at, method, path, query, headers,
                  body.decode("utf-8", "replace") or None, status, payload, reply_headers,
                  round(duration, 3))
            for seq, at, method, path, query, headers, body, status, payload, reply_headers,
            duration in self._entries
            if seq > since
        ]  # fmt: skip

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
