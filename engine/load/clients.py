"""The virtual clients of a load run: each one a role, a loop, and one request at a time.

Roles (the `--mix` names):
- `poller`: GET restores and backups by id (mostly the newest it knows), sometimes a list;
- `restore`: POST /restores, then POST /restores/{id} REQUESTING until it starts (retrying on
  1014/1015/1016), polls it to the end; sometimes deletes it while it runs (the job keeps the
  gate, so the next start meets 1016) or gives up on a refused one and deletes it;
- `backup`: POST /backups (`backup_type` CONFIG on the console host 53, DATA on 53 or 104), polls
  it, sometimes cancels it while it runs or deletes it once finished;
- `rebalance`: turns rebalancing on and off through the control surface (one such client per
  run, so that the checker can tell when rebalancing was certainly on);
- `lister`: GET /restores and /backups with `filter`, `sort` and `Range`;
- `bad`: malformed JSON, bad filters, bad Range, wrong tokens, oversized bodies, unknown
  fields, an unknown version: each must get a QRadar-shaped 4xx and change nothing.

Every request becomes an `Exchange` of the shared history.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

from engine.core.errors import ERROR_KEYS
from engine.load.history import Exchange, History, Kind, Seen

API = "/api/backup_and_restore"
ROLES = ("poller", "restore", "backup", "rebalance", "lister", "bad")
GROUPS = ["CUSTOM_RULES_CONFIG", "DEPLOYMENT_CONFIG"]
UNFINISHED = '"PENDING","REQUESTING","INITIALIZING","IN_PROGRESS"'


class MixError(ValueError):
    """A `--mix` that cannot be read."""


def parse_mix(text: str) -> dict[str, float]:
    """`poller=10,restore=3` -> weights; unknown names and negative weights are errors."""
    weights: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        if name not in ROLES:
            raise MixError(f"--mix: unknown role {name!r} (roles: {', '.join(ROLES)})")
        try:
            weight = float(value) if sep else 1.0
        except ValueError:
            raise MixError(f"--mix: {part.strip()!r}: the weight is not a number") from None
        if weight < 0:
            raise MixError(f"--mix: {part.strip()!r}: negative weight")
        weights[name] = weight
    if not any(weights.values()):
        raise MixError("--mix: every weight is zero")
    return weights


def assign_roles(mix: dict[str, float], clients: int) -> list[str]:
    """Roles of `clients` clients by largest remainder; `rebalance` gets one client at most."""
    weights = dict(mix)
    roles: list[str] = []
    if weights.pop("rebalance", 0) > 0 and clients > 1:
        roles.append("rebalance")
    rest = clients - len(roles)
    total = sum(weights.values())
    if total <= 0:
        return (roles + ["poller"] * rest)[:clients]
    shares = {name: rest * w / total for name, w in weights.items()}
    counts = {name: int(share) for name, share in shares.items()}
    left = rest - sum(counts.values())
    for name in sorted(shares, key=lambda n: shares[n] - counts[n], reverse=True)[:left]:
        counts[name] += 1
    for name in ROLES:
        roles.extend([name] * counts.get(name, 0))
    return roles


@dataclass(slots=True)
class Shared:
    """What the clients of one generator process share."""

    history: History
    token: str
    stop: anyio.Event
    admin_token: str | None = None  # the control surface's credential (rebalance toggles)
    restorable: list[int] = field(default_factory=lambda: [1, 2, 3])
    restores: list[int] = field(default_factory=list)
    backups: list[int] = field(default_factory=list)
    names: int = 0
    prefix: str = "p0"
    requests: int = 0
    max_requests: int | None = None
    timeout_s: float = 30.0
    think_s: float = 0.0  # mean pause of a client between two actions (0: none)
    on_exchange: Callable[[Exchange], None] | None = None

    def stopping(self) -> bool:
        if self.max_requests is not None and self.requests >= self.max_requests:
            self.stop.set()
        return self.stop.is_set()

    def unique_name(self) -> str:
        self.names += 1
        return f"load_{self.prefix}_{self.names}"


class Stop(Exception):
    """The run is over: the client leaves its loop."""


@dataclass(slots=True)
class Client:
    name: str
    role: str
    http: httpx.AsyncClient
    shared: Shared
    rng: random.Random

    async def call(
        self, method: str, path: str, op: str, *, kind: Kind | None = None,
        body: Any = None, content: bytes | None = None, headers: dict[str, str] | None = None,
        target: int | None = None, bad: bool = False, detail: str = "", control: bool = False,
        role: str | None = None, params: dict[str, str] | None = None,
    ) -> tuple[Exchange, Any]:  # fmt: skip
        """Send one request and record it; returns the exchange and the decoded body."""
        shared = self.shared
        if role is None and shared.stopping():
            raise Stop
        shared.requests += 1
        sent_headers = {"SEC": shared.token, **(headers or {})}
        if body is not None:
            content = json.dumps(body).encode()
            sent_headers.setdefault("Content-Type", "application/json")
        decoded: Any = None
        code: int | None = None
        shaped = True
        seen: tuple[Seen, ...] = ()
        error: str | None = None
        sent = time.time()
        try:
            response = await self.http.request(
                method, path, content=content, headers=sent_headers, params=params,
                timeout=shared.timeout_s,
            )  # fmt: skip
            received = time.time()
            status = response.status_code
            raw = response.content
        except httpx.HTTPError as failure:
            received = time.time()
            status, raw = 0, b""
            error = f"{type(failure).__name__}: {failure}"
        if raw:
            try:
                decoded = json.loads(raw)
            except ValueError:
                decoded = None
        if status >= 400 and not control:
            shaped = _qradar_error(decoded, status)
            if isinstance(decoded, dict) and isinstance(decoded.get("code"), int):
                code = decoded["code"]
        elif 200 <= status < 300 and kind is not None:
            if isinstance(decoded, list):
                seen = tuple(s for item in decoded if (s := Seen.of(kind, item)) is not None)
            else:
                one = Seen.of(kind, decoded)
                seen = (one,) if one is not None else ()
        exchange = Exchange(
            seq=shared.history.next_seq(), client=self.name, role=role or self.role, op=op,
            sent=sent, received=received, status=status, code=code, shaped=shaped, bad=bad,
            target=target, seen=seen, snapshot=isinstance(decoded, list), error=error,
            control=control, detail=detail,
        )  # fmt: skip
        shared.history.add(exchange)
        if shared.on_exchange is not None:
            shared.on_exchange(exchange)
        return exchange, decoded

    async def pause(self, low: float, high: float) -> None:
        if self.shared.stopping():
            raise Stop
        with anyio.move_on_after(high + 1):
            await anyio.sleep(self.rng.uniform(low, high))

    async def run(self) -> None:
        loop = getattr(self, f"_{self.role}")
        think = self.shared.think_s
        try:
            while not self.shared.stopping():
                await loop()
                if think:
                    await self.pause(think / 2, think * 1.5)
        except Stop:
            return

    # --- the roles ---------------------------------------------------------------------------
    def _pick(self, ids: list[int], fallback: list[int]) -> int:
        pool = ids or fallback
        if len(pool) > 8 and self.rng.random() < 0.8:
            return self.rng.choice(pool[-8:])  # the newest records move; poll them most
        return self.rng.choice(pool)

    async def _poller(self) -> None:
        draw = self.rng.random()
        if draw < 0.6:
            if not self.shared.restores:
                await self.pause(0.01, 0.05)
                return
            await self.get_restore(self._pick(self.shared.restores, []))
        elif draw < 0.9:
            id = self._pick(self.shared.backups, self.shared.restorable)
            await self.get_backup(id)
        elif draw < 0.95:
            await self.call("GET", f"{API}/restores", "GET /restores", kind="restore",
                            headers={"Range": "items=0-49"}, params={"sort": "-id"})  # fmt: skip
        else:
            await self.call("GET", f"{API}/backups", "GET /backups", kind="backup",
                            headers={"Range": "items=0-49"}, params={"sort": "-id"})  # fmt: skip

    async def get_restore(self, id: int, role: str | None = None) -> tuple[Exchange, Any]:
        return await self.call("GET", f"{API}/restores/{id}", "GET /restores/{id}",
                               kind="restore", target=id, role=role)  # fmt: skip

    async def get_backup(self, id: int, role: str | None = None) -> tuple[Exchange, Any]:
        return await self.call("GET", f"{API}/backups/{id}", "GET /backups/{id}",
                               kind="backup", target=id, role=role)  # fmt: skip

    async def _restore(self) -> None:
        backup_id = self.rng.choice(self.shared.restorable)
        created, _body = await self.call(
            "POST", f"{API}/restores", "POST /restores", kind="restore",
            body={"backup_id": backup_id, "groups": GROUPS},
        )  # fmt: skip
        if created.status != 201 or not created.seen:
            await self.pause(0.01, 0.08)
            return
        id = created.seen[0].id
        self.shared.restores.append(id)
        for _attempt in range(40):
            requested, _ = await self.call(
                "POST", f"{API}/restores/{id}", "POST /restores/{id}", kind="restore",
                body={"status": "REQUESTING"}, target=id,
            )  # fmt: skip
            if requested.status == 200:
                break
            if requested.status != 409 or self.rng.random() < 0.15:
                await self.delete_restore(id)  # give up: the PENDING record would block others
                return
            await self.pause(0.01, 0.06)
        else:
            await self.delete_restore(id)
            return
        if self.rng.random() < 0.3:
            await self.pause(0.0, 0.15)
            await self.delete_restore(id)  # the record goes, the job runs on (1016 next)
            return
        await self.follow(id, "restore")

    async def delete_restore(self, id: int) -> None:
        await self.call("DELETE", f"{API}/restores/{id}", "DELETE /restores/{id}",
                        kind="restore", target=id)  # fmt: skip

    async def follow(self, id: int, kind: Kind) -> str | None:
        """Poll one record until it is finished or gone; its last status."""
        for _ in range(400):
            await self.pause(0.02, 0.06)
            exchange, _body = await (
                self.get_restore(id) if kind == "restore" else self.get_backup(id)
            )
            if exchange.status != 200 or not exchange.seen:
                return None
            status = exchange.seen[0].status
            if status in ("SUCCESS", "FAILED", "MISSING"):
                return status
        return None

    async def _backup(self) -> None:
        await self.pause(0.1, 0.6)
        draw = self.rng.random()
        backup_type, host = ("CONFIG", 53) if draw < 0.6 else ("DATA", 104 if draw < 0.9 else 53)
        created, _ = await self.call(
            "POST", f"{API}/backups", "POST /backups", kind="backup",
            headers={"backup_type": backup_type},
            body={"name": self.shared.unique_name(), "configuration_id": 1, "host_id": host,
                  "description": "bre load"},
        )  # fmt: skip
        if created.status != 201 or not created.seen:
            return
        id = created.seen[0].id
        self.shared.backups.append(id)
        if self.rng.random() < 0.25:
            await self.pause(0.0, 0.1)
            await self.delete_backup(id)  # cancels it while it runs
            return
        status = await self.follow(id, "backup")
        if status is not None and self.rng.random() < 0.2:
            await self.delete_backup(id)

    async def delete_backup(self, id: int) -> None:
        await self.call("DELETE", f"{API}/backups/{id}", "DELETE /backups/{id}",
                        kind="backup", target=id)  # fmt: skip

    async def _rebalance(self) -> None:
        await self.pause(0.3, 0.9)
        await self.toggle(True)
        await self.pause(0.1, 0.35)
        await self.toggle(False)

    async def toggle(self, on: bool, role: str | None = None) -> Exchange:
        admin = self.shared.admin_token
        exchange, _ = await self.call(
            "POST", "/simulator/consoles/current/control", "POST /simulator/control",
            body={"rebalancing": on}, control=True, role=role,
            detail=f"rebalancing={'true' if on else 'false'}",
            headers={"Authorization": f"Bearer {admin}"} if admin else None,
        )  # fmt: skip
        return exchange

    async def _lister(self) -> None:
        draw = self.rng.random()
        start = self.rng.choice((0, 0, 0, 5, 1000))
        ranged = {"Range": f"items={start}-{start + self.rng.choice((9, 49))}"}
        if draw < 0.5:
            params = {"filter": f"status in ({UNFINISHED})", "sort": "-id"}
            await self.call("GET", f"{API}/restores", "GET /restores", kind="restore",
                            headers=ranged, params=params)  # fmt: skip
        else:
            params = {"filter": 'status in ("INITIALIZING","IN_PROGRESS") and host_id = 53'}
            if self.rng.random() < 0.5:
                params = {"filter": "host_id in (53, 104)", "sort": "-id"}
            await self.call("GET", f"{API}/backups", "GET /backups", kind="backup",
                            headers=ranged, params=params)  # fmt: skip
        await self.pause(0.0, 0.05)

    async def _bad(self) -> None:
        cases = BAD_CASES
        name, method, path, op, extra = cases[self.rng.randrange(len(cases))]
        kwargs: dict[str, Any] = dict(extra)
        if name == "oversized body":
            kwargs["content"] = b'{"backup_id": 1, "pad": "' + b"x" * 1_100_000 + b'"}'
        if name == "wrong token":
            kwargs["headers"] = {"SEC": "not-a-token-" + str(self.rng.randrange(10**6))}
        await self.call(method, path, op, bad=True, detail=name, **kwargs)
        await self.pause(0.0, 0.05)


_JSON = {"Content-Type": "application/json"}
BAD_CASES: tuple[tuple[str, str, str, str, dict[str, Any]], ...] = (
    ("malformed JSON restore", "POST", f"{API}/restores", "POST /restores",
     {"content": b'{"backup_id": 1, "groups": [', "headers": _JSON}),
    ("malformed JSON backup", "POST", f"{API}/backups", "POST /backups",
     {"content": b"{name: nope}", "headers": {**_JSON, "backup_type": "CONFIG"}}),
    ("JSON array as restore", "POST", f"{API}/restores", "POST /restores",
     {"content": b"[1, 2]", "headers": _JSON}),
    ("missing backup_id", "POST", f"{API}/restores", "POST /restores",
     {"body": {"groups": GROUPS}}),
    ("unknown backup", "POST", f"{API}/restores", "POST /restores",
     {"body": {"backup_id": 987654, "groups": GROUPS}}),
    ("bad backup_type", "POST", f"{API}/backups", "POST /backups",
     {"body": {"name": "bad_type", "configuration_id": 1}, "headers": {"backup_type": "BOTH"}}),
    ("bad filter", "GET", f"{API}/restores", "GET /restores",
     {"params": {"filter": "status ==== (("}}),
    ("filter on unknown field", "GET", f"{API}/backups", "GET /backups",
     {"params": {"filter": "colour = red"}}),
    ("bad Range", "GET", f"{API}/restores", "GET /restores",
     {"headers": {"Range": "items=-3-2"}}),
    ("negative Range", "GET", f"{API}/backups", "GET /backups",
     {"headers": {"Range": "items=3-0"}}),
    ("bad sort", "GET", f"{API}/restores", "GET /restores", {"params": {"sort": "+status"}}),
    ("unknown field", "GET", f"{API}/backups/1", "GET /backups/{id}",
     {"params": {"fields": "id,colour"}}),
    ("wrong token", "GET", f"{API}/restores", "GET /restores", {}),
    ("oversized body", "POST", f"{API}/restores", "POST /restores", {"headers": _JSON}),
    ("unknown version", "GET", f"{API}/backups/1", "GET /backups/{id}",
     {"headers": {"Version": "322.0123"}}),
    ("unknown path", "GET", f"{API}/restorez", "GET unknown", {}),
    ("non-numeric id", "GET", f"{API}/restores/abc", "GET /restores/{id}", {}),
    ("status other than REQUESTING", "POST", f"{API}/restores/987654", "POST /restores/{id}",
     {"body": {"status": "SUCCESS"}}),
)  # fmt: skip


def _qradar_error(body: Any, status: int) -> bool:
    """QRadar's error body: the five keys, `http_response.code` equal to the status."""
    if not isinstance(body, dict) or not set(body) >= set(ERROR_KEYS):
        return False
    http = body.get("http_response")
    return (
        isinstance(http, dict)
        and http.get("code") == status
        and isinstance(http.get("message"), str)
        and isinstance(body.get("code"), int)
        and isinstance(body.get("message"), str)
        and isinstance(body.get("details"), dict)
    )
