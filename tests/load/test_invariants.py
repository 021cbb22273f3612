"""The invariant checker on synthetic histories: it must pass a clean one and fail bad ones."""

from __future__ import annotations

from engine.load.history import Exchange, History, Seen
from engine.load.invariants import check

T0 = 1_800_000_000.0


def ex(
    op: str,
    sent: float,
    received: float,
    status: int = 200,
    *,
    client: str = "c1",
    seen: tuple[Seen, ...] = (),
    target: int | None = None,
    role: str = "poller",
    **kw: object,
) -> Exchange:
    return Exchange(
        0, client, role, op, T0 + sent, T0 + received, status, seen=seen, target=target, **kw
    )  # type: ignore[arg-type]


def restore(
    id: int, status: str, completed: float | None = None, backup_id: int | None = 1
) -> Seen:
    done = None if completed is None else round((T0 + completed) * 1000)
    if status in ("SUCCESS", "FAILED"):
        backup_id = None
    return Seen("restore", id, status, backup_id, 53, done)


def backup(id: int, status: str, host: int = 53, completed: float | None = None) -> Seen:
    done = None if completed is None else round((T0 + completed) * 1000)
    return Seen("backup", id, status, None, host, done)


def names(history: list[Exchange]) -> set[str]:
    return {v.invariant for v in check(History(history)).violations}


def clean_history() -> list[Exchange]:
    return [
        ex("POST /restores", 0.00, 0.01, 201, seen=(restore(1, "PENDING"),), role="restore"),
        ex("POST /restores/{id}", 0.02, 0.03, 200, seen=(restore(1, "REQUESTING"),), target=1),
        ex("GET /restores/{id}", 0.10, 0.11, seen=(restore(1, "IN_PROGRESS"),), target=1),
        ex("GET /restores/{id}", 0.50, 0.51, seen=(restore(1, "SUCCESS", 0.45),), target=1),
        ex("POST /restores", 0.52, 0.53, 201, seen=(restore(2, "PENDING"),), client="c2"),
        ex(
            "POST /restores/{id}",
            0.54,
            0.55,
            200,
            seen=(restore(2, "REQUESTING"),),
            client="c2",
            target=2,
        ),
        ex("POST /backups", 0.56, 0.57, 409, code=1016),
        ex("GET /restores/{id}", 1.0, 1.01, seen=(restore(2, "FAILED", 0.9),), target=2),
        ex("POST /backups", 1.1, 1.11, 201, seen=(backup(10, "INITIALIZING"),)),
        ex("POST /backups", 1.12, 1.13, 201, seen=(backup(11, "INITIALIZING", host=104),)),
        ex("GET /backups/{id}", 1.5, 1.51, seen=(backup(10, "SUCCESS", completed=1.4),), target=10),
        ex(
            "GET /restores/{id}",
            2.0,
            2.01,
            seen=(restore(1, "SUCCESS", 0.45),),
            target=1,
            role="final",
        ),
        ex(
            "GET /restores/{id}",
            2.0,
            2.01,
            seen=(restore(2, "FAILED", 0.9),),
            target=2,
            role="final",
        ),
        ex(
            "GET /backups/{id}",
            2.0,
            2.01,
            seen=(backup(10, "SUCCESS", completed=1.4),),
            target=10,
            role="final",
        ),
        ex(
            "GET /backups/{id}",
            2.0,
            2.01,
            seen=(backup(11, "SUCCESS", 104, 1.4),),
            target=11,
            role="final",
        ),
    ]


def test_a_clean_history_passes() -> None:
    assert names(clean_history()) == set()


def test_two_restores_running_at_once_are_caught() -> None:
    history = clean_history()
    # restore 2 acknowledged REQUESTING at 0.3 while restore 1 ran until 0.45 (server time)
    history[5] = ex(
        "POST /restores/{id}",
        0.29,
        0.30,
        200,
        seen=(restore(2, "REQUESTING"),),
        client="c2",
        target=2,
    )
    history[4] = ex("POST /restores", 0.27, 0.28, 201, seen=(restore(2, "PENDING"),), client="c2")
    found = names(history)
    assert "one_restore_running" in found
    assert "one_unfinished_restore" in found


def test_skew_within_the_answer_time_is_not_a_violation() -> None:
    history = clean_history()
    # the answer left before restore 1 ended but arrived after: it may have started after it
    history[5] = ex(
        "POST /restores/{id}",
        0.40,
        0.46,
        200,
        seen=(restore(2, "REQUESTING"),),
        client="c2",
        target=2,
    )
    history[4] = ex("POST /restores", 0.38, 0.455, 201, seen=(restore(2, "PENDING"),), client="c2")
    history[3] = ex("GET /restores/{id}", 0.39, 0.51, seen=(restore(1, "SUCCESS", 0.44),), target=1)
    assert names(history) == set()


def test_a_backup_during_a_restore_is_caught() -> None:
    history = clean_history()
    history.append(ex("POST /backups", 0.2, 0.21, 201, seen=(backup(12, "INITIALIZING"),)))
    history.append(ex("GET /backups/{id}", 0.3, 0.31, seen=(backup(12, "IN_PROGRESS"),), target=12))
    done = backup(12, "SUCCESS", completed=0.4)
    history.append(ex("GET /backups/{id}", 3, 3.01, 200, seen=(done,), target=12, role="final"))
    assert "restore_excludes_backup" in names(history)


def test_two_backups_on_one_host_are_caught_but_not_on_two_hosts() -> None:
    history = clean_history()
    history.append(
        ex(
            "GET /backups",
            1.2,
            1.21,
            snapshot=True,
            seen=(backup(10, "IN_PROGRESS"), backup(11, "IN_PROGRESS", host=104)),
        )
    )
    assert names(history) == set()
    history.append(
        ex(
            "GET /backups",
            1.22,
            1.23,
            snapshot=True,
            seen=(backup(10, "IN_PROGRESS"), backup(13, "INITIALIZING")),
        )
    )
    assert "one_backup_per_host" in names(history)


def test_a_status_going_backwards_is_caught() -> None:
    history = clean_history()
    history.append(ex("GET /restores/{id}", 0.6, 0.61, seen=(restore(1, "IN_PROGRESS"),), target=1))
    assert "status_forward" in names(history)


def test_a_finished_restore_with_a_backup_id_is_caught() -> None:
    history = clean_history()
    history.append(
        ex(
            "GET /restores/{id}",
            0.6,
            0.61,
            target=1,
            seen=(Seen("restore", 1, "SUCCESS", 1, 53, round((T0 + 0.45) * 1000)),),
        )
    )
    assert "restore_completion" in names(history)


def test_5xx_lost_answers_and_unshaped_errors_are_caught() -> None:
    history = clean_history()
    history.append(ex("GET /restores/{id}", 0.6, 0.61, 500, code=1000, target=1))
    history.append(ex("GET /restores/{id}", 0.7, 0.71, 0, target=1, error="ReadTimeout"))
    history.append(ex("GET /restores/{id}", 0.8, 0.81, 404, target=9, shaped=False))
    assert {"server_error", "no_answer", "error_shape"} <= names(history)


def test_a_bad_request_answered_with_success_is_caught() -> None:
    history = clean_history()
    history.append(ex("POST /restores", 0.6, 0.61, 422, code=11, bad=True, detail="malformed"))
    assert names(history) == set()
    history.append(ex("POST /restores", 0.7, 0.71, 201, bad=True, detail="malformed"))
    assert "bad_input" in names(history)


def test_a_wrong_conflict_code_is_caught() -> None:
    history = clean_history()
    history.append(ex("POST /restores", 0.6, 0.61, 409, code=1016))
    assert "conflict_code" in names(history)


def test_a_lost_create_is_caught_and_a_deleted_one_is_not() -> None:
    history = clean_history()
    history[-1] = ex("GET /backups/{id}", 2.0, 2.01, 404, code=1001, target=11, role="final")
    assert "retrievable" in names(history)
    history.append(
        ex("DELETE /backups/{id}", 1.6, 1.61, 202, target=11, seen=(backup(11, "DELETING", 104),))
    )
    assert "retrievable" not in names(history)


def test_a_record_coming_back_after_404_is_caught() -> None:
    history = clean_history()
    history.append(ex("GET /backups/{id}", 1.6, 1.61, 404, code=1001, target=10))
    history.append(
        ex(
            "GET /backups/{id}",
            1.7,
            1.71,
            200,
            target=10,
            client="c9",
            seen=(backup(10, "SUCCESS", completed=1.4),),
        )
    )
    assert "record_reappeared" in names(history)


def test_a_restore_started_while_rebalancing_is_caught() -> None:
    history = clean_history()
    toggles = [
        ex(
            "POST /simulator/control",
            0.0,
            0.005,
            control=True,
            detail="rebalancing=true",
            client="r",
        ),
        ex(
            "POST /simulator/control",
            0.012,
            0.015,
            control=True,
            detail="rebalancing=false",
            client="r",
        ),
    ]
    assert names(history + toggles) == set()
    toggles[1] = ex(
        "POST /simulator/control", 0.2, 0.21, control=True, detail="rebalancing=false", client="r"
    )
    assert "rebalancing_gate" in names(history + toggles)


def test_a_1014_while_rebalancing_is_off_is_caught() -> None:
    history = clean_history()
    history += [
        ex(
            "POST /simulator/control",
            0.0,
            0.005,
            control=True,
            detail="rebalancing=false",
            client="r",
        ),
        ex("POST /restores/{id}", 0.3, 0.31, 409, code=1014, target=5),
    ]
    assert "rebalancing_gate" in names(history)


def test_histories_round_trip_through_json_lines(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "h.jsonl"
    History(clean_history()).write(path)
    again = History.read(path)
    assert [e.to_json() for e in again] == [e.to_json() for e in clean_history()]
