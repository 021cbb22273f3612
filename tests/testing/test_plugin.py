"""The pytest plugin's fixtures, used as a user of the package would use them."""

from __future__ import annotations

import socket

import httpx
import pytest
import requests

from engine.runtime.console import Console
from engine.simulator import DEFAULT_TOKEN, Simulator
from engine.testing import BASE_URL, ServerConsole, SimulatorServer
from engine.testing.plugin import ConsoleFactory, ServerConsoleFactory
from tests.support.worlds import GROUPS

RESTORES = "/api/backup_and_restore/restores"
TIMEOUT = 10


# --- in-process ------------------------------------------------------------------------------


async def test_in_process_restore_runs_on_the_virtual_clock(
    bre_client: httpx.AsyncClient, bre_console: Console
) -> None:
    created = await bre_client.post(RESTORES, json={"backup_id": 1, "groups": GROUPS})
    assert created.status_code == 201, created.text
    restore = created.json()
    assert restore["status"] == "PENDING"

    requested = await bre_client.post(f"{RESTORES}/{restore['id']}", json={"status": "REQUESTING"})
    assert requested.status_code == 200, requested.text
    assert requested.json()["status"] == "REQUESTING"

    before = bre_console.clock.now_ms()
    finished = await bre_console.wait_for_restore(restore["id"])  # hours of virtual time
    assert finished.status.value == "SUCCESS"
    assert bre_console.clock.now_ms() > before

    read = await bre_client.get(f"{RESTORES}/{restore['id']}")
    assert read.status_code == 200
    assert read.json()["status"] == "SUCCESS"
    assert read.json()["backup_id"] is None
    assert read.json()["time_completed"] is not None


async def test_in_process_fixtures_fit_together(
    bre_simulator: Simulator, bre_console: Console, bre_client: httpx.AsyncClient
) -> None:
    assert bre_simulator.ready
    assert bre_console is bre_simulator.console()
    assert str(bre_client.base_url).rstrip("/") == BASE_URL
    assert bre_client.headers["SEC"] == DEFAULT_TOKEN
    listed = await bre_client.get("/api/backup_and_restore/backups")
    assert [b["id"] for b in listed.json()] == [1, 2, 3]  # the demo world
    anonymous = await bre_client.get(RESTORES, headers={"SEC": "wrong"})
    assert anonymous.status_code == 401


async def test_the_in_process_client_may_use_the_control_surface(
    bre_client: httpx.AsyncClient, bre_simulator: Simulator
) -> None:
    assert bre_client.headers["Authorization"] == f"Bearer {bre_simulator.admin_token}"
    resp = await bre_client.post("/simulator/consoles/default/control", json={"rebalancing": True})
    assert resp.status_code == 200, resp.text


async def test_each_test_gets_a_fresh_simulator(bre_client: httpx.AsyncClient) -> None:
    """Runs after the restore test above: nothing of it is left."""
    listed = await bre_client.get(RESTORES)
    assert listed.status_code == 200
    assert listed.json() == []


# --- a real server -----------------------------------------------------------------------------


def test_server_fixture_describes_a_running_server(bre_server: SimulatorServer) -> None:
    assert bre_server.url.startswith("http://127.0.0.1:")
    assert bre_server.token == DEFAULT_TOKEN
    assert bre_server.process.poll() is None
    health = requests.get(f"{bre_server.url}/simulator/health", timeout=TIMEOUT)
    assert health.json() == {"status": "ok"}
    assert bre_server.admin_token  # read from the ready line
    listed = requests.get(
        f"{bre_server.url}/simulator/consoles", headers=bre_server.control_headers,
        timeout=TIMEOUT,
    )  # fmt: skip
    assert listed.status_code == 200
    anonymous = requests.get(f"{bre_server.url}/simulator/consoles", timeout=TIMEOUT)
    assert anonymous.status_code == 401


def test_requests_client_runs_the_full_flow(bre_server_console: ServerConsole) -> None:
    console = bre_server_console
    session = requests.Session()
    session.headers.update(console.headers)
    api = console.url + RESTORES

    created = session.post(api, json={"backup_id": 1, "groups": GROUPS}, timeout=TIMEOUT)
    assert created.status_code == 201, created.text
    restore_id = created.json()["id"]
    requested = session.post(f"{api}/{restore_id}", json={"status": "REQUESTING"}, timeout=TIMEOUT)
    assert requested.status_code == 200, requested.text

    seen = [requested.json()["status"]]
    for _ in range(1000):  # at most 10 000 s of virtual time
        restore = session.get(f"{api}/{restore_id}", timeout=TIMEOUT).json()
        if restore["status"] != seen[-1]:
            seen.append(restore["status"])
        if restore["status"] in ("SUCCESS", "FAILED"):
            break
        advanced = requests.post(
            f"{console.control_url}/control", json={"advance": "10s"},
            headers=console.control_headers, timeout=TIMEOUT,
        )  # fmt: skip
        assert advanced.status_code == 200, advanced.text
    assert restore["status"] == "SUCCESS", seen
    assert restore["backup_id"] is None
    assert restore["time_completed"] is not None
    assert seen[0] == "REQUESTING"
    order = ["REQUESTING", "INITIALIZING", "IN_PROGRESS", "SUCCESS"]
    assert seen == sorted(seen, key=order.index)  # polling sees the states in lifecycle order


SEEN_CONSOLES: list[str] = []


@pytest.mark.parametrize("run", ["first", "second"])
def test_server_consoles_are_isolated(bre_server_console: ServerConsole, run: str) -> None:
    """Each run starts from an empty restore list and leaves a restore behind: had the two runs
    shared a console, the later one would see the earlier one's restore."""
    headers = bre_server_console.headers
    api = bre_server_console.url + RESTORES
    assert bre_server_console.id not in SEEN_CONSOLES
    SEEN_CONSOLES.append(bre_server_console.id)
    assert requests.get(api, headers=headers, timeout=TIMEOUT).json() == []
    created = requests.post(
        api, headers=headers, json={"backup_id": 1, "groups": GROUPS}, timeout=TIMEOUT
    )
    assert created.status_code == 201, created.text
    assert len(requests.get(api, headers=headers, timeout=TIMEOUT).json()) == 1


def test_a_console_token_is_refused_by_other_consoles(bre_server: SimulatorServer) -> None:
    one, other = bre_server.new_console(), bre_server.new_console()
    try:
        assert one.token != other.token
        created = requests.post(
            one.url + RESTORES, headers=one.headers, json={"backup_id": 1, "groups": GROUPS},
            timeout=TIMEOUT,
        )  # fmt: skip
        assert created.status_code == 201
        assert (
            requests.get(other.url + RESTORES, headers=other.headers, timeout=TIMEOUT).json() == []
        )
        default = requests.get(
            bre_server.url + RESTORES, headers={"SEC": bre_server.token}, timeout=TIMEOUT
        )
        assert default.json() == []
    finally:
        bre_server.delete_console(one)
        bre_server.delete_console(other)
    gone = requests.get(one.url + RESTORES, headers=one.headers, timeout=TIMEOUT)
    assert gone.status_code == 401  # a deleted console's token no longer authenticates


# --- registration ------------------------------------------------------------------------------

pytest_plugins = ["pytester"]


def test_plugin_is_registered_by_its_entry_point(pytestconfig: pytest.Config) -> None:
    plugin = pytestconfig.pluginmanager.get_plugin("qradar_bre_sim")
    assert plugin is not None
    assert plugin.__name__ == "engine.testing.plugin"


def test_fixtures_work_in_strict_asyncio_mode(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio
        async def test_default_console(bre_client, bre_console):
            response = await bre_client.get("/api/backup_and_restore/backups/1")
            assert response.status_code == 200
            assert response.json()["name"] == "nightly_1"
            assert bre_console.id == "default"
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-o", "asyncio_mode=strict",
        "-o", "asyncio_default_fixture_loop_scope=function", "-W", "error",
    )  # fmt: skip
    result.assert_outcomes(passed=1)


# --- options: the marker, the factories, the port ------------------------------------------


@pytest.mark.bre(
    rules={"restore": {"mode": "poll"}}, world={"rebalancing": True}, release="7.5.0 UP6", seed=3
)
async def test_the_marker_sets_up_the_in_process_console(
    bre_console: Console, bre_client: httpx.AsyncClient
) -> None:
    assert bre_console.polls
    assert bre_console.release.name == "7.5.0 UP6"
    state = await bre_console.state()
    assert state.rebalancing
    assert state.settings["seed"] == 3
    created = await bre_client.post(RESTORES, json={"backup_id": 1, "groups": GROUPS})
    refused = await bre_client.post(
        f"{RESTORES}/{created.json()['id']}", json={"status": "REQUESTING"}
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == 1014


async def test_the_in_process_factory_makes_other_consoles(
    bre_console_factory: ConsoleFactory, bre_console: Console
) -> None:
    other = await bre_console_factory(
        rules={"restore": {"mode": "poll"}}, world={"backups": [{"id": 9, "name": "only_9"}]}
    )
    assert other.id != bre_console.id
    assert other.polls
    assert [b.id for b in await other.list_backups()] == [9]


def test_the_served_console_polls_by_default(bre_server_console: ServerConsole) -> None:
    """No clock moves: three reads take a requested restore through its three phases."""
    api = bre_server_console.url + RESTORES
    headers = bre_server_console.headers
    created = requests.post(api, json={"backup_id": 1, "groups": GROUPS}, headers=headers,
                            timeout=TIMEOUT).json()  # fmt: skip
    requests.post(f"{api}/{created['id']}", json={"status": "REQUESTING"}, headers=headers,
                  timeout=TIMEOUT)  # fmt: skip
    seen = [
        requests.get(f"{api}/{created['id']}", headers=headers, timeout=TIMEOUT).json()["status"]
        for _ in range(3)
    ]
    assert seen == ["INITIALIZING", "IN_PROGRESS", "SUCCESS"]
    clock = requests.get(f"{bre_server_console.control_url}/clock",
                         headers=bre_server_console.control_headers, timeout=TIMEOUT)  # fmt: skip
    assert clock.json()["now_ms"] == 1_767_225_600_000  # the virtual epoch: time stood still


@pytest.mark.bre(
    rules={"backup": {"mode": "auto", "outcome": "FAILED"}}, world={"rebalancing": True}
)
def test_the_marker_sets_up_the_served_console(bre_server_console: ServerConsole) -> None:
    headers = {**bre_server_console.headers, "backup_type": "CONFIG"}
    url = bre_server_console.url + "/api/backup_and_restore/backups"
    backup = requests.post(url, json={"name": "b", "configuration_id": 1}, headers=headers,
                           timeout=TIMEOUT).json()  # fmt: skip
    for _ in range(3):  # auto mode on the virtual clock: reads do not move it
        read = requests.get(f"{url}/{backup['id']}", headers=headers, timeout=TIMEOUT).json()
        assert read["status"] == "INITIALIZING"
    requests.post(f"{bre_server_console.control_url}/clock", json={"advance": "1h"},
                  headers=bre_server_console.control_headers, timeout=TIMEOUT)  # fmt: skip
    read = requests.get(f"{url}/{backup['id']}", headers=headers, timeout=TIMEOUT).json()
    assert read["status"] == "FAILED"
    restores = bre_server_console.url + RESTORES
    created = requests.post(restores, json={"backup_id": 1, "groups": GROUPS},
                            headers=bre_server_console.headers, timeout=TIMEOUT).json()  # fmt: skip
    refused = requests.post(f"{restores}/{created['id']}", json={"status": "REQUESTING"},
                            headers=bre_server_console.headers, timeout=TIMEOUT)  # fmt: skip
    assert refused.json()["code"] == 1014  # the marker's world: rebalancing


def test_the_served_factory_makes_and_deletes_consoles(bre_server: SimulatorServer) -> None:
    factory = ServerConsoleFactory(bre_server)
    one = factory(rules={"restore": {"reads_per_phase": 2}})
    two = factory(clock="real")
    assert one.token != two.token
    described = requests.get(one.control_url, headers=one.control_headers, timeout=TIMEOUT)
    assert "poll" in described.text
    factory.close()
    gone = requests.get(one.control_url, headers=one.control_headers, timeout=TIMEOUT)
    assert gone.status_code == 404
    with pytest.raises(ValueError, match=r"rules\.restore\.mode"):
        factory(rules={"restore": {"mode": "sometimes"}})


def test_a_wrong_marker_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.bre(clocks="real")
        def test_it(bre_settings, request):
            from engine.testing.plugin import marker_options
            marker_options(request)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*@pytest.mark.bre: clocks= is not an option (keywords: clock*"])


def test_the_server_fixture_takes_a_port(pytester: pytest.Pytester) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pytester.makepyfile(
        f"""
        def test_port(bre_server):
            assert bre_server.url == "http://127.0.0.1:{port}"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--bre-port", str(port))
    result.assert_outcomes(passed=1)
