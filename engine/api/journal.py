"""A bounded journal of requests per console, for introspection and for recording scenarios."""

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
    payload: bytes  # the response as sent; decoded only when the journal is read
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


class Journal:
    """The last `limit` requests; older ones fall off, so memory stays flat under load."""

    def __init__(self, limit: int = 1000) -> None:
        self._entries: deque[Entry] = deque(maxlen=limit)
        self._seq = itertools.count(1)
        self.total = 0

    def record(self, **fields: Any) -> None:
        body = fields.get("body")
        if isinstance(body, str) and len(body) > BODY_LIMIT:
            fields["body"] = body[:BODY_LIMIT]
        payload = fields.get("payload")
        if isinstance(payload, bytes) and len(payload) > BODY_LIMIT:
            fields["payload"] = payload[:BODY_LIMIT]
        self._entries.append(Entry(seq=next(self._seq), **fields))
        self.total += 1

    def entries(self, since: int = 0) -> list[Entry]:
        return [e for e in self._entries if e.seq > since]

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
