"""The report of a load run: per-second series and the plot a person reads in five seconds."""

from __future__ import annotations

import struct
from pathlib import Path

from engine.load import report as reporting
from engine.load.history import Exchange, History
from engine.load.invariants import check

T0 = 1_800_000_000.0


def run_with_conflicts_and_a_violation() -> list[Exchange]:
    """Six seconds of polling, 409s from second 1 to 3, a 404, and one 500 at second 4."""
    exchanges: list[Exchange] = []
    for second in range(6):
        for i in range(20):
            at = T0 + second + i / 20
            exchanges.append(
                Exchange(0, f"c{i % 4}", "poller", "GET /backups", at, at + 0.004, 200)
            )
            if 1 <= second <= 3 and i % 5 == 0:
                exchanges.append(
                    Exchange(
                        0,
                        "c9",
                        "restore",
                        "POST /restores/{id}",
                        at,
                        at + 0.006,
                        409,
                        code=1016,
                        target=1,
                    )
                )
    exchanges.append(
        Exchange(
            0, "c8", "poller", "GET /restores/{id}", T0 + 2.5, T0 + 2.51, 404, code=1001, target=7
        )
    )
    exchanges.append(
        Exchange(0, "c7", "poller", "GET /backups", T0 + 4.2, T0 + 4.3, 500, code=1000)
    )
    return exchanges


def build() -> reporting.Report:
    history = History(run_with_conflicts_and_a_violation())
    checker = check(history)
    return reporting.build(
        history.exchanges,
        checker,
        generator="test",
        target="http://127.0.0.1:8000",
        clients=5,
        roles={"poller": 4, "restore": 1},
        started=T0,
        ended=T0 + 6,
        parameters={"duration": "6 s", "mix": "poller=4,restore=1", "seed": 7},
    )


def test_the_series_counts_conflicts_errors_and_violations_per_second() -> None:
    report = build()
    assert report.violation_counts == {"server_error": 1}
    by_second = {int(p["t"]): p for p in report.series}
    assert [by_second[s]["s409"] for s in range(6)] == [0, 4, 4, 4, 0, 0]
    assert by_second[2]["s404"] == 1
    assert by_second[4]["s5xx"] == 1
    assert [by_second[s]["violations"] for s in range(6)] == [0, 0, 0, 0, 1, 0]
    assert all(p["requests"] > 0 for p in report.series)
    assert report.to_json()["parameters"]["mix"] == "poller=4,restore=1"


def test_the_plot_is_a_png_of_sane_size(tmp_path: Path) -> None:
    path = tmp_path / "load.png"
    reporting.plot(build(), path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == (1100, 800)
    assert 20_000 < len(data) < 500_000
