"""The scenario runner and the catalogue: every scenario replays green, in-process and served."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from engine import cli
from engine.core.codes import CATALOGUE, FRAMEWORK
from engine.core.endpoints import ENDPOINTS
from engine.scenarios.loader import (
    ConcurrentlyAction,
    RequestAction,
    Scenario,
    ScenarioError,
    WaitForAction,
    find_files,
    load_file,
    load_text,
)
from engine.scenarios.recording import dump, scenario_from_journal
from engine.scenarios.report import junit, render
from engine.scenarios.runner import Target, quiet_logs, replay, run_scenario
from engine.simulator import Settings
from tests.support.serving import serve

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE_DIR = ROOT / "scenarios"
#: Framework codes no scenario can provoke: 413/17 needs a body over 1 MiB; 503/21 a database
#: that fails (tests/chaos provokes it for real).
UNREACHABLE_FRAMEWORK = {17, 21}


def _catalogue() -> list[Scenario]:
    scenarios: list[Scenario] = []
    for path in find_files([CATALOGUE_DIR]):
        scenarios += load_file(path.relative_to(ROOT))
    return scenarios


CATALOGUE_SCENARIOS = _catalogue()


@pytest.fixture(autouse=True)
def _in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("scenario", CATALOGUE_SCENARIOS, ids=lambda s: s.id)
async def test_catalogue_scenario_passes_in_process(
    scenario: Scenario, bre_store: str | None
) -> None:
    target = Target(db=bre_store or ":memory:")  # on the store of `--store`
    with quiet_logs():
        result = await run_scenario(scenario, target)
    assert result.status == "PASS", render([result])
    assert result.skipped == 0


def test_bre_replay_of_the_catalogue_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    started = time.perf_counter()
    code = cli.main(["replay", "scenarios/", "--junit", str(ROOT / ".pytest-junit.xml")])
    elapsed = time.perf_counter() - started
    out = capsys.readouterr().out
    (ROOT / ".pytest-junit.xml").unlink()
    assert code == 0, out
    assert f"{len(CATALOGUE_SCENARIOS)} scenarios: {len(CATALOGUE_SCENARIOS)} passed" in out
    with capsys.disabled():
        print(f"\ncatalogue: {len(CATALOGUE_SCENARIOS)} scenarios in-process in {elapsed:.2f} s")


def _expectations(scenario: Scenario) -> list[tuple[str, str, int]]:
    """(method, path, expected error code) of every request of a scenario."""
    found: list[tuple[str, str, int]] = []
    for step in scenario.steps:
        action = step.action
        pairs = []
        if isinstance(action, RequestAction):
            pairs = [(action.request, action.expect)]
        elif isinstance(action, WaitForAction):
            pairs = [(action.request, action.until)]
        elif isinstance(action, ConcurrentlyAction):
            pairs = [(b.request, b.expect) for b in action.branches]
        for request, expect in pairs:
            if expect.error is not None:
                found.append((request.method, request.path, expect.error))
    return found


def _template(path: str) -> re.Pattern[str]:
    return re.compile("/api" + re.sub(r"\\\{\w+\\\}", r"[^/]+", re.escape(path)) + "/?")


def test_the_catalogue_expects_every_code_of_every_endpoint() -> None:
    expected = [e for s in CATALOGUE_SCENARIOS for e in _expectations(s)]
    missing = []
    for code in CATALOGUE:
        endpoints = [e for e in ENDPOINTS if e.id in code.endpoints]
        for endpoint in endpoints:
            pattern = _template(endpoint.path)
            if not any(
                m == endpoint.method and pattern.fullmatch(p) and c == code.unique
                for m, p, c in expected
            ):
                missing.append(f"{code.unique} on {endpoint.method} {endpoint.path}")
    framework = {c.unique for c in FRAMEWORK} - UNREACHABLE_FRAMEWORK
    seen = {c for _, _, c in expected}
    missing += [f"framework {c}" for c in sorted(framework - seen)]
    assert not missing, "codes no scenario expects: " + ", ".join(missing)


def test_every_catalogue_scenario_has_a_name_and_a_description() -> None:
    for scenario in CATALOGUE_SCENARIOS:
        assert scenario.description, scenario.id
        assert not scenario.name.endswith(f"#{scenario.index}"), scenario.id
    assert len({s.name for s in CATALOGUE_SCENARIOS}) == len(CATALOGUE_SCENARIOS)


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        (
            "format: 1\nname: x\nsteps:\n  - request: {method: GET, path: /api/x}\n    expct: {}\n",
            5,
            "steps[0].expct",
            "unknown key",
        ),
        (
            "format: 1\nsteps:\n  - advance: 5s\n  - advance: soon\n",
            4,
            "steps[1].advance",
            "not a duration",
        ),
        ("name: x\nsteps: []\n", 1, "format", "required"),
        (
            "format: 1\nsteps:\n  - request:\n      method: GET\n      path: /api/x\n"
            "    expect: {status: two}\n",
            6,
            "steps[0].expect.status",
            "expected an integer",
        ),
        ("format: 1\nseed: [1]\nsteps: []\n", 2, "seed", "expected an integer"),
        (
            "format: 1\nengine:\n  restore:\n    initializing: 5s\n    in_progres: 1m\nsteps: []\n",
            5,
            "engine.restore.in_progres",
            "unknown key",
        ),
        # values the control surface refuses are refused at load time, on their own line
        (
            "format: 1\nengine:\n  restore:\n    in_progress: 99999999999999999999h\nsteps: []\n",
            4,
            "engine.restore.in_progress",
            "not a duration of at most",
        ),
        ("format: 1\nseed: 9223372036854775808\nsteps: []\n", 2, "seed", "is not between"),
        (
            "format: 1\nsteps:\n  - advance: 99999999999999999999h\n",
            3,
            "steps[0].advance",
            "not a duration of at most",
        ),
        (
            "format: 1\nsteps:\n  - control:\n      fault:\n        path: /api/x\n"
            "        status: 600\n",
            6,
            "steps[0].control.fault.status",
            "is not between 400",
        ),
        (
            "format: 1\nsteps:\n  - control:\n"
            "      add_backup: {id: 9223372036854775808, name: x}\n",
            4,
            "steps[0].control.add_backup.id",
            "is not between",
        ),
        (
            "format: 1\nsteps:\n  - control: {seed: abc}\n",
            3,
            "steps[0].control.seed",
            "expected an integer",
        ),
        (
            "format: 1\nworld:\n  hosts:\n    - {id: 53}\n    - {id: x}\nsteps: []\n",
            5,
            "world.hosts[1].id",
            "expected an integer",
        ),
        (
            "format: 1\nsteps:\n  - control: {rebalance: true}\n",
            3,
            "steps[0].control.rebalance",
            "unknown key",
        ),
        (
            "format: 1\nsteps:\n  - request: {method: GET, path: '/api/${rid}'}\n",
            3,
            "steps[0]",
            "${rid} is used before",
        ),
        ("format: 2\nsteps: []\n", 1, "format", "not supported"),
        (
            "format: 1\nsteps:\n  - advance: 1s\n    wait_for: {}\n",
            4,
            "steps[0].wait_for",
            "one action per step",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 and "\n" not in v else None,
)
def test_a_malformed_file_names_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, words: str
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: {key}: "), message
    assert words in message


def test_a_malformed_file_is_an_error_in_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("format: 1\nsteps:\n  - advance: 5s\n    nmae: typo\n")
    assert cli.main(["replay", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:4: steps[0].nmae: unknown key" in out


async def test_two_replays_give_byte_identical_reports() -> None:
    files = ["scenarios/conflicts.yaml", "scenarios/restore-lifecycle.yaml"]
    first = await replay(files)
    second = await replay(files)
    assert render(first) == render(second)
    assert junit(first) == junit(second)


async def test_a_failing_step_is_reported_with_request_expectation_and_answer(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fail.yaml"
    path.write_text(
        "format: 1\nname: wrong code\nsteps:\n"
        "  - name: look for a missing restore\n"
        "    request: {method: GET, path: /api/backup_and_restore/restores/42}\n"
        "    expect: {status: 404, error: {code: 1002}}\n"
        "  - advance: 1s\n"
    )
    results = await replay([str(path)])
    report = render(results)
    assert results[0].status == "FAIL"
    assert "step 1 'look for a missing restore' (request), line 4: FAIL" in report
    assert "request: GET /api/backup_and_restore/restores/42" in report
    assert "expected: status 404; error code 1002" in report
    assert "got: status 404" in report
    assert "error.code: expected 1002, got 1001" in report
    assert "(1 later steps not run)" in report
    assert b'<failure message="step 1' in junit(results)


async def test_a_recorded_session_replays_green(tmp_path: Path) -> None:
    from engine.api.app import create_app
    from engine.control.actions import Control
    from engine.simulator import Simulator

    with quiet_logs():
        async with Simulator(Settings()) as sim:
            console = await sim.create_console(
                "rec", tokens=("rec-token",), rules={"restore": {"in_progress": "30s"}}
            )
            app = create_app(sim, control=Control(sim))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://sim", headers={"SEC": "rec-token"}
            ) as client:
                b = "/api/backup_and_restore"
                backup = await client.post(
                    f"{b}/backups",
                    headers={"backup_type": "CONFIG"},
                    json={"name": "rec_1", "configuration_id": 1},
                )
                bid = backup.json()["id"]
                await console.clock.advance(60)
                await client.get(f"{b}/backups/{bid}")
                created = await client.post(
                    f"{b}/restores", json={"backup_id": bid, "groups": ["CUSTOM_RULES_CONFIG"]}
                )
                rid = created.json()["id"]
                await client.post(f"{b}/restores", json={"backup_id": 1, "groups": ["X"]})
                await client.post(f"{b}/restores/{rid}", json={"status": "REQUESTING"})
                await console.clock.advance(5)
                await client.get(f"{b}/restores/{rid}", headers={"Version": "20.0"})
                await console.clock.advance(60)
                await client.get(f"{b}/restores", headers={"Range": "items=0-0"})
                await client.get(f"{b}/backups", params={"fields": "id,status", "sort": "-id"})
            entries = [e.to_json() for e in app.state.journals["rec"].entries()]
    state_rules = {"restore": {"in_progress": "30s"}}
    text = dump(scenario_from_journal(entries, name="recorded", engine=state_rules))
    assert "${b1}" in text
    assert "${r1}" in text
    assert "time_initiated" not in text
    path = tmp_path / "recorded.yaml"
    path.write_text(text)
    results = await replay([str(path)])
    assert [r.status for r in results] == ["PASS"], render(results)
    assert load_text(text, "x")[0].steps[0].kind == "request"


@pytest.mark.slow
def test_the_catalogue_replays_green_against_a_served_simulator(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with serve("--clock", "virtual", "--db", ":memory:") as served:
        url, token, admin = served.url, served.fields["token"], served.fields["admin"]
        without = cli.main(["replay", "scenarios/faults.yaml", "--target", url])
        assert without == 1
        assert "needs its admin credential" in capsys.readouterr().out
        started = time.perf_counter()
        target = ["--target", url, "--admin-token", admin]
        code = cli.main(["replay", "scenarios", *target])
        elapsed = time.perf_counter() - started
        out = capsys.readouterr().out
        assert code == 0, out
        # the served control surface creates consoles on the scenario's release: nothing skips
        skipped = re.search(r"(\d+) steps skipped", out)
        assert skipped, out
        assert int(skipped[1]) == 0, out
        with capsys.disabled():
            print(f"\ncatalogue: {len(CATALOGUE_SCENARIOS)} scenarios served in {elapsed:.2f} s")
        # `bre record` reads the journal through the control surface: it needs the credential
        httpx.get(f"{url}/api/backup_and_restore/backups", headers={"SEC": token})
        record = ["record", "--target", url, "--console", "default", "--out", "-"]
        assert cli.main(record) == 1
        assert "401" in capsys.readouterr().err
        assert cli.main([*record, "--admin-token", admin]) == 0
        recorded = capsys.readouterr().out
        assert load_text(recorded, "recorded")[0].steps[0].kind == "request"


def test_replay_against_a_target_without_control_skips_those_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A QRadar-compatible target without /simulator: control and clock steps are skipped."""
    import anyio

    from engine.scenarios.runner import Remote

    path = tmp_path / "plain.yaml"
    path.write_text(
        "format: 1\nname: plain\nsteps:\n  - control: {rebalancing: true}\n  - advance: 5s\n"
    )
    scenario = load_file(path)[0]

    class Plain(Target):
        async def is_simulator(self, client: httpx.AsyncClient) -> bool:
            return False

    result = anyio.run(run_scenario, scenario, Plain(url="http://127.0.0.1:9"))
    assert result.status == "PASS"
    assert result.skipped == 2
    assert "PASS (2 skipped)" in render([result])
    assert Remote  # the remote driver is the one used


NEVER = (
    "format: 1\nname: never\nsteps:\n"
    "  - wait_for:\n"
    "      request: {method: GET, path: /api/backup_and_restore/restores/42}\n"
    "      until: {status: 200}\n"
    "      within: {within}\n"
)


async def test_a_wait_for_that_never_holds_fails_at_its_simulated_deadline(
    tmp_path: Path,
) -> None:
    path = tmp_path / "never.yaml"
    path.write_text(NEVER.replace("{within}", "2h"))
    started = time.perf_counter()
    results = await replay([str(path)])
    assert time.perf_counter() - started < 5  # simulated time: no real wait
    report = render(results)
    assert results[0].status == "FAIL", report
    assert "not reached within 2h of simulated time" in report
    assert "status: expected 200, got 404" in report


def test_a_wait_for_that_never_holds_fails_at_its_real_deadline(tmp_path: Path) -> None:
    """Against a target without a virtual clock, `within` is real time (bounded)."""
    import anyio

    path = tmp_path / "never.yaml"
    path.write_text(NEVER.replace("{within}", "1s"))
    scenario = load_file(path)[0]
    with serve("--db", ":memory:") as served:

        class Plain(Target):  # seen as a plain QRadar: no control surface, no clock
            async def is_simulator(self, client: httpx.AsyncClient) -> bool:
                return False

        started = time.perf_counter()
        result = anyio.run(run_scenario, scenario, Plain(url=served.url))
        elapsed = time.perf_counter() - started
    report = render([result])
    assert result.status == "FAIL", report
    assert "not reached within 1 s of real time (no virtual clock)" in report
    assert 1 <= elapsed < 10


@pytest.mark.parametrize(
    ("written", "release"),
    [("7.5.0 UP6", "7.5.0 UP6"), ("7.5.0 Update Package 6", "7.5.0 UP6"), ("7.4.3", "7.4.3")],
)
def test_the_release_key_names_a_qradar_release(written: str, release: str) -> None:
    text = f"format: 1\nrelease: {written}\nsteps:\n  - advance: 1s\n"
    assert load_text(text, "x.yaml")[0].release == release


def test_an_unknown_release_names_the_line_and_the_choices() -> None:
    text = "format: 1\nrelease: 7.5.0 UP5\nsteps:\n  - advance: 1s\n"
    with pytest.raises(ScenarioError) as caught:
        load_text(text, "x.yaml")
    assert "x.yaml:2" in str(caught.value)
    assert "release" in str(caught.value)
    assert "7.5.0 UP14" in str(caught.value)


@pytest.mark.slow
def test_a_console_the_target_refuses_fails_the_run_instead_of_resetting_another(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The served simulator refuses the scenario's console (here: 413, its control bodies are
    bounded below the console's body): the run reports the refusal. It used to reset the
    default console instead, and ran the scenario there as if nothing had happened."""
    scenario = tmp_path / "one.yaml"
    scenario.write_text(
        "format: 1\nname: one\ndescription: one request\nsteps:\n"
        "  - request: {method: GET, path: /api/backup_and_restore/backups}\n"
        "    expect: {status: 200}\n"
    )
    with serve("--clock", "virtual", "--db", ":memory:", "--control-body-bytes", "64") as served:
        admin = served.fields["admin"]
        code = cli.main(["replay", str(scenario), "--target", served.url, "--admin-token", admin])
        out = capsys.readouterr().out
        assert code == 1, out
        assert "413" in out, out
