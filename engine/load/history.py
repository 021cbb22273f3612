"""What a load run observed: one `Exchange` per HTTP request, with the records its body showed.

The history is the only input of the invariant checker, so it keeps what the checks need and
nothing else: when the request left and when its answer arrived (wall-clock seconds, the same
clock the served simulator stamps its records with), the status and QRadar unique code, whether
an error body had QRadar's shape, and each restore or backup record the body carried (its id,
status, `backup_id`, host and the server's own `time_completed`). Bodies themselves are dropped.

Histories of several generator processes merge by concatenation (`History.extend`); they are
written and read as JSON lines so that a parent process can merge its children's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Kind = Literal["restore", "backup"]


@dataclass(frozen=True, slots=True)
class Seen:
    """One record as one response showed it; `time_completed` is the server's (ms)."""

    kind: Kind
    id: int
    status: str
    backup_id: int | None = None
    host_id: int | None = None
    time_completed: int | None = None

    def to_json(self) -> list[Any]:
        return [self.kind, self.id, self.status, self.backup_id, self.host_id, self.time_completed]

    @classmethod
    def from_json(cls, raw: list[Any]) -> Seen:
        kind, id, status, backup_id, host_id, completed = raw
        return cls(kind, int(id), str(status), backup_id, host_id, completed)

    @classmethod
    def of(cls, kind: Kind, body: Any) -> Seen | None:
        """A record from a JSON object of the API; None when it does not look like one."""
        if not isinstance(body, dict):
            return None
        id, status = body.get("id"), body.get("status")
        if not isinstance(id, int) or not isinstance(status, str):
            return None
        completed = body.get("time_completed")
        backup_id = body.get("backup_id")
        host_id = body.get("host_id")
        return cls(
            kind,
            id,
            status,
            backup_id if isinstance(backup_id, int) else None,
            host_id if isinstance(host_id, int) else None,
            completed if isinstance(completed, int) else None,
        )


@dataclass(slots=True)
class Exchange:
    """One request and its answer, as a virtual client saw them.

    `status` 0 means no answer (a transport error or a timeout, described in `error`).
    `op` names the endpoint (`POST /restores/{id}`); `target` is the record id in the path.
    `snapshot` is true for list answers: they come from one read, so the records they show
    coexisted at one instant.
    """

    seq: int
    client: str
    role: str
    op: str
    sent: float
    received: float
    status: int
    code: int | None = None
    shaped: bool = True  # an error body with QRadar's keys (always true for successes)
    bad: bool = False  # a request of the bad-input mix
    target: int | None = None
    seen: tuple[Seen, ...] = ()
    snapshot: bool = False
    error: str | None = None
    control: bool = False  # the simulator's control surface, not /api
    detail: str = ""  # e.g. the control action, or what a bad request does

    @property
    def latency(self) -> float:
        return self.received - self.sent

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "seq": self.seq,
            "client": self.client,
            "role": self.role,
            "op": self.op,
            "sent": self.sent,
            "received": self.received,
            "status": self.status,
        }
        optional = {
            "code": self.code,
            "target": self.target,
            "error": self.error,
            "detail": self.detail or None,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if not self.shaped:
            body["shaped"] = False
        if self.bad:
            body["bad"] = True
        if self.snapshot:
            body["snapshot"] = True
        if self.control:
            body["control"] = True
        if self.seen:
            body["seen"] = [s.to_json() for s in self.seen]
        return body

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Exchange:
        return cls(
            seq=int(raw["seq"]),
            client=str(raw["client"]),
            role=str(raw["role"]),
            op=str(raw["op"]),
            sent=float(raw["sent"]),
            received=float(raw["received"]),
            status=int(raw["status"]),
            code=raw.get("code"),
            shaped=bool(raw.get("shaped", True)),
            bad=bool(raw.get("bad", False)),
            target=raw.get("target"),
            seen=tuple(Seen.from_json(s) for s in raw.get("seen", ())),
            snapshot=bool(raw.get("snapshot", False)),
            error=raw.get("error"),
            control=bool(raw.get("control", False)),
            detail=str(raw.get("detail") or ""),
        )


@dataclass(slots=True)
class History:
    """Every exchange of a run, in the order they were recorded (per process)."""

    exchanges: list[Exchange] = field(default_factory=list)

    def add(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)

    def extend(self, exchanges: Iterable[Exchange]) -> None:
        self.exchanges.extend(exchanges)

    def next_seq(self) -> int:
        return len(self.exchanges)

    def __iter__(self) -> Iterator[Exchange]:
        return iter(self.exchanges)

    def __len__(self) -> int:
        return len(self.exchanges)

    def write(self, path: Path) -> None:
        with path.open("w") as out:
            for exchange in self.exchanges:
                out.write(json.dumps(exchange.to_json(), separators=(",", ":")))
                out.write("\n")

    @classmethod
    def read(cls, path: Path) -> History:
        history = cls()
        with path.open() as lines:
            for line in lines:
                if line.strip():
                    history.add(Exchange.from_json(json.loads(line)))
        return history
