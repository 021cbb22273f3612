"""`GET /restores/{id}` reads its record with the credential, in one read of the store
(`QRadarApi._restore_to_read`): its answers are the ones the handler's own read gives."""

from __future__ import annotations

import anyio
import httpx

from engine.api.handlers import RESTORE_FIELDS
from tests.support.http import API, control, error

NEW = {"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"]}


async def test_the_answer_read_with_the_credential_is_the_handlers_own(
    client: httpx.AsyncClient,
) -> None:
    """Without `fields` the record is read with the credential; with every field named it is
    read by the handler: the same bytes. An unknown record is 404/1001 either way."""
    rid = (await client.post(f"{API}/restores", json=NEW)).json()["id"]
    plain = await client.get(f"{API}/restores/{rid}")
    named = await client.get(f"{API}/restores/{rid}", params={"fields": ",".join(RESTORE_FIELDS)})
    assert plain.status_code == named.status_code == 200
    assert plain.content == named.content
    head = await client.head(f"{API}/restores/{rid}")
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(plain.content))
    for answer in (
        await client.get(f"{API}/restores/{rid + 100}"),
        await client.get(f"{API}/restores/{rid + 100}", params={"fields": "id"}),
    ):
        error(answer, 404, 1001)
    error(await client.get(f"{API}/restores/x"), 422, 11)


async def test_a_record_deleted_while_a_fault_rule_waits_is_gone(
    client: httpx.AsyncClient,
) -> None:
    """What was read with the credential is not answered after a fault rule's latency: the
    handler reads the record again then (here it was deleted meanwhile: 404)."""
    rid = (await client.post(f"{API}/restores", json=NEW)).json()["id"]
    rule = {"method": "GET", "path": f"{API}/restores/{{id}}", "latency": "300ms", "times": 1}
    await control(client, {"fault": rule})
    answers: list[httpx.Response] = []

    async def get() -> None:
        answers.append(await client.get(f"{API}/restores/{rid}"))

    async with anyio.create_task_group() as group:
        group.start_soon(get)
        await anyio.sleep(0.1)
        assert (await client.delete(f"{API}/restores/{rid}")).status_code == 204
    error(answers[0], 404, 1001)
