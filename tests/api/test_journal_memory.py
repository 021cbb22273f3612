"""The journal's bound per console is a bound on the memory it holds (issue 12.3).

orjson's result keeps an allocation of at least 4 KiB however short the JSON: kept as they
were, 5,000 responses of 334 bytes held 4.8 KiB each while the journal counted 1 KiB.
"""

from __future__ import annotations

import sys
import tracemalloc

import orjson

from engine.api.journal import ENTRY_OVERHEAD, Journal, _held

BODY = b'{"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"]}'


def _restore(i: int) -> bytes:
    return orjson.dumps(
        {
            "id": i,
            "initiated_by": "API_user: bre-sim",
            "host_id": 53,
            "time_initiated": None,
            "time_completed": None,
            "status": "PENDING",
            "is_cross_deployment_restore": False,
            "backup_id": 1,
            "backup_name": "nightly_1",
            "backup_version": "7.5.0",
            "backup_type": "CONFIG",
            "backup_filename": "/store/backup/backup.nightly_1.tgz",
            "groups": ["CUSTOM_RULES_CONFIG"],
        }
    )


def test_the_memory_a_journal_holds_stays_within_its_bytes() -> None:
    limit = 200_000
    journal = Journal(100_000, max_bytes=limit)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(3000):
            headers = {
                "host": f"127.0.0.1:{8000 + i % 7}",
                "sec": f"token-{i}",
                "content-type": "application/json",
                "version": "26.0",
            }
            journal.record(
                i,
                "POST",
                f"/api/backup_and_restore/restores/{i}",
                "",
                headers,
                BODY,
                201,
                _restore(i),
                {"content-type": "application/json"},
                0.5,
            )
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert journal.bytes <= limit
    assert 50 < len(journal) < 3000  # the oldest went first
    assert held <= limit * 1.1  # the deque's own blocks aside, what is held is what is counted


def test_a_kept_response_is_an_exact_size_copy_of_what_was_sent() -> None:
    journal = Journal()
    payload = _restore(7)
    journal.record(1, "GET", "/p", "", {}, b"", 200, payload, {}, 0.1)
    (entry,) = journal.entries()
    assert entry.payload == payload
    assert entry.payload is not payload


def test_an_entry_counts_what_getsizeof_says_of_its_parts() -> None:
    """The sizes `record` computes for ASCII texts and for bytes are `sys.getsizeof`'s."""
    for text in ("", "GET", "/api/backup_and_restore/restores/1", "fïlter=ñ", "范围 \U0001f600"):
        headers = {"version": text, "range": "items=0-1", text or "x": "é"}
        response_headers = {"Content-Range": text} if text else {}
        body, payload = text.encode(), _restore(1)
        journal = Journal(header_bytes=1 << 20)
        journal.record(1, text, text, text, headers, body, 200, payload, response_headers, 0.1)
        expected = (
            ENTRY_OVERHEAD
            + 3 * sys.getsizeof(text)
            + _held(headers)
            + sys.getsizeof(bytes(body))
            + sys.getsizeof(bytes(payload))
            + (_held(response_headers) if response_headers else sys.getsizeof({}))
        )
        assert journal.bytes == expected, text
