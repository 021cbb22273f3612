"""Recording: the request journal of a served simulator turned into a scenario file.

`bre record --target URL [--console ID] --out FILE` reads `GET URL/simulator/consoles/{id}/journal`
(and the console's rules and seed) and writes one scenario in format 1:

- one `request` step per journal entry, in order, expecting the recorded status; a QRadar error
  is expected as `error: {code: N}`, a success as a `json` subset of its stable keys (every
  `time_*` key and `size_on_disk` are left out) plus `Content-Range` when there was one;
- the id of each record created in the session (201 on `POST /backups` or `/restores`) is
  captured into a variable (`b1`, `r1`, ...) and substituted in later paths, bodies
  (`backup_id`) and expectations, so the file replays against a fresh console;
- simulated time between two requests becomes an `advance` step, so the engine reaches the
  same states at the same points when replayed on a virtual clock.

The journal does not hold the world a console started from: pass `--world FILE` (a YAML world
mapping, or a file with a top-level `world:`); without it the scenario uses the demo console.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import yaml

from engine.core.endpoints import kind_of_path
from engine.core.progression import format_duration_ms
from engine.scenarios.loader import load_text

_HEADER_NAMES = {"version": "Version", "range": "Range", "accept": "Accept",
                 "content-type": "Content-Type"}  # fmt: skip
#: Keys whose values depend on when and where the session ran (left out of expectations).
_VOLATILE = frozenset({"size_on_disk"})
_COLLECTION = re.compile(r"/api/backup_and_restore/(backups|restores)/?$")
_MEMBER = re.compile(r"(/api/backup_and_restore/(?:backups|restores)/)(\d+)(/?)$")


class RecordError(Exception):
    """The journal cannot be read or turned into a scenario."""


class _Ids:
    """Ids of records created during the session, and the variables that hold them."""

    def __init__(self) -> None:
        self.names: dict[tuple[str, int], str] = {}
        self.counts = {"backup": 0, "restore": 0}

    def add(self, kind: str, value: int) -> str:
        self.counts[kind] += 1
        name = f"{kind[0]}{self.counts[kind]}"
        self.names[(kind, value)] = name
        return name

    def ref(self, kind: str | None, value: Any) -> Any:
        if kind is None or isinstance(value, bool) or not isinstance(value, int):
            return value
        name = self.names.get((kind, value))
        return f"${{{name}}}" if name else value

    def path(self, path: str) -> str:
        match = _MEMBER.search(path)
        if match is None:
            return path
        value = self.ref(kind_of_path(path), int(match[2]))
        return path[: match.start()] + match[1] + str(value) + match[3]

    def stable(self, value: Any, kind: str | None) -> Any:
        """A response reduced to its stable keys, created ids as variables."""
        if isinstance(value, list):
            return [self.stable(v, kind) for v in value]
        if not isinstance(value, dict):
            return value
        result: dict[str, Any] = {}
        for key, item in value.items():
            if key.startswith("time_") or key in _VOLATILE:
                continue
            if key == "id":
                result[key] = self.ref(kind, item)
            elif key == "backup_id":
                result[key] = self.ref("backup", item)
            else:
                result[key] = self.stable(item, None)
        return result


def _is_error(body: Any) -> bool:
    return isinstance(body, dict) and {"code", "http_response", "message"} <= set(body)


def scenario_from_journal(
    entries: Sequence[Mapping[str, Any]],
    *,
    name: str = "recorded session",
    description: str | None = None,
    world: Any = None,
    engine: Mapping[str, Any] | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """The scenario document (a mapping in format 1) for the journal entries, oldest first."""
    ids = _Ids()
    steps: list[dict[str, Any]] = []
    previous_at: int | None = None
    for position, entry in enumerate(sorted(entries, key=lambda e: int(e.get("seq", 0))), 1):
        at = entry.get("at_ms")
        if isinstance(at, int):
            if previous_at is not None and at > previous_at:
                steps.append({"advance": format_duration_ms(at - previous_at)})
            previous_at = at if previous_at is None else max(previous_at, at)
        steps.append(_step(entry, position, ids))
    document: dict[str, Any] = {"format": 1, "name": name}
    document["description"] = description or (
        f"Recorded from a simulator's request journal ({len(entries)} requests): the same "
        "requests replayed against a fresh console, expecting the recorded answers."
    )
    if seed is not None:
        document["seed"] = seed
    if world is not None:
        document["world"] = world
    if engine:
        document["engine"] = {k: dict(v) for k, v in engine.items()}
    document["steps"] = steps
    return document


def _step(entry: Mapping[str, Any], position: int, ids: _Ids) -> dict[str, Any]:
    method = str(entry["method"]).upper()
    raw_path = str(entry["path"])
    kind = kind_of_path(raw_path)
    request: dict[str, Any] = {"method": method, "path": ids.path(raw_path)}
    headers: dict[str, str] = {}
    raw_body = entry.get("body")
    parsed: Any = None
    is_json = False
    if isinstance(raw_body, str) and raw_body.strip():
        with contextlib.suppress(ValueError):
            parsed, is_json = json.loads(raw_body), True
    for key, value in (entry.get("headers") or {}).items():
        lower = key.lower()
        if lower == "accept" and value == "*/*":
            continue
        if lower == "content-type" and is_json and value.startswith("application/json"):
            continue
        headers[_HEADER_NAMES.get(lower, key)] = value
    if headers:
        request["headers"] = headers
    query = str(entry.get("query") or "")
    if query:
        request["query"] = dict(parse_qsl(query, keep_blank_values=True))
    if is_json:
        if isinstance(parsed, dict) and "backup_id" in parsed:
            parsed = {**parsed, "backup_id": ids.ref("backup", parsed["backup_id"])}
        request["json"] = parsed
    elif isinstance(raw_body, str) and raw_body:
        request["body"] = raw_body
    status = int(entry["status"])
    response = entry.get("response")
    expect: dict[str, Any] = {"status": status}
    step: dict[str, Any] = {"name": f"{method} {raw_path} ({position})", "request": request}
    capture: dict[str, str] | None = None
    if isinstance(response, dict) and _is_error(response):
        expect["error"] = {"code": response["code"]}
    else:
        created = (
            method == "POST"
            and status == 201
            and kind is not None
            and _COLLECTION.search(raw_path) is not None
            and isinstance(response, dict)
            and isinstance(response.get("id"), int)
        )
        if response is not None:
            stable = ids.stable(response, kind)
            if created and isinstance(stable, dict):
                stable.pop("id", None)  # captured by this step, not known before it
            expect["json"] = stable
        capture_name = ids.add(kind, response["id"]) if created and kind and response else None
        capture = {capture_name: "id"} if capture_name is not None else None
    content_range = {k.lower(): v for k, v in (entry.get("response_headers") or {}).items()}.get(
        "content-range"
    )
    if content_range is not None:
        expect["headers"] = {"Content-Range": content_range}
    step["expect"] = expect
    if capture is not None:
        step["capture"] = capture
    return step


def dump(document: Mapping[str, Any]) -> str:
    text: str = yaml.safe_dump(
        dict(document), sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )
    load_text(text, "<recorded>")  # what we write must load
    return text


def _read_world(path: str) -> Any:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise RecordError(f"--world {path}: {error}") from None
    if isinstance(data, dict) and "world" in data:
        return data["world"]
    return data


async def fetch_and_record(
    url: str,
    console: str = "current",
    token: str | None = None,
    name: str | None = None,
    world_file: str | None = None,
    admin_token: str | None = None,
) -> str:
    """Read a served simulator's journal for a console and return the scenario's YAML (its
    control surface's credential: `admin_token`)."""
    headers = {"SEC": token} if token else {}
    if admin_token:
        headers["Authorization"] = f"Bearer {admin_token}"
    async with httpx.AsyncClient(base_url=url, timeout=30.0, headers=headers) as client:
        try:
            journal = await client.get(f"/simulator/consoles/{console}/journal")
            described = await client.get(f"/simulator/consoles/{console}")
        except httpx.HTTPError as error:
            raise RecordError(f"{url}: {error!r}") from None
    if journal.status_code != 200:
        raise RecordError(f"journal of console {console!r}: {journal.status_code} {journal.text}")
    data = journal.json()
    entries = data.get("entries", []) if isinstance(data, dict) else []
    if not entries:
        raise RecordError(f"the journal of console {console!r} is empty")
    settings: Mapping[str, Any] = {}
    if described.status_code == 200 and isinstance(described.json(), dict):
        settings = described.json().get("settings") or {}
    lost = int(data.get("total", len(entries))) - len(entries)
    description = None
    if lost > 0:
        description = (
            f"Recorded from a simulator's request journal; the first {lost} requests had "
            "already left the journal and are not replayed."
        )
    seed = settings.get("seed")
    document = scenario_from_journal(
        entries,
        name=name or f"recorded session of console {console}",
        description=description,
        world=_read_world(world_file) if world_file else None,
        engine=settings.get("rules") or None,
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
    )
    return dump(document)
