"""The page in a real browser: what a user of a served simulator sees and does."""

from __future__ import annotations

from typing import Any

import httpx

from engine.testing.plugin import SimulatorServer
from tests.web.conftest import Api, screenshot, sign_in_as_admin

RESTORE_PHASES = ["PENDING", "REQUESTING", "INITIALIZING", "IN_PROGRESS", "SUCCESS"]


def segments(page: Any, job: str) -> list[str]:
    return [s.get_attribute("data-status") for s in page.locator(f"#job-{job} .seg").all()]


def test_a_restore_run_to_success_shows_its_phases_in_order(
    page: Any, api: Api, bre_server: SimulatorServer
) -> None:
    id = api.restore()
    assert api.start(id).status_code == 200
    api.control({"advance": "1m"})
    assert api.call("GET", f"/restores/{id}").json()["status"] == "SUCCESS"

    sign_in_as_admin(page, bre_server)
    page.goto(f"{bre_server.url}/ui/consoles/{api.console.id}")

    assert segments(page, f"restore-{id}") == RESTORE_PHASES
    durations = page.locator(f"#job-restore-{id} .seg").evaluate_all(
        "segments => segments.map(s => s.getAttribute('title'))"
    )
    assert "REQUESTING from 00:00:00.000 to 00:00:01.000 (1 s)" in durations  # the console's clock
    assert "IN_PROGRESS from 00:00:03.000 to 00:00:08.000 (5 s)" in durations


def test_a_refused_request_shows_its_409_and_links_to_the_job_that_held_the_gate(
    page: Any, api: Api, bre_server: SimulatorServer
) -> None:
    id = api.restore()
    external = api.control({"external_restore": "start"}).json()["external_restore"]["id"]
    refused = api.start(id)
    assert refused.status_code == 409
    assert refused.json()["code"] == 1016

    sign_in_as_admin(page, bre_server)
    page.goto(f"{bre_server.url}/ui/consoles/{api.console.id}")

    row = page.locator("#rows tr.entry", has_text=f"/restores/{id}").first
    assert row.locator("td.code").inner_text() == "409"
    assert "1016" in row.inner_text()
    link = row.locator("a.blame")
    assert link.inner_text() == f"held by restore {external}"
    link.click()
    chosen = page.locator(f"#job-restore-{external}")
    page.wait_for_selector(f"#job-restore-{external}.selected")
    assert "external" in chosen.inner_text()
    page.wait_for_selector("#rows tr.entry.caused")
    assert page.locator("#rows tr.entry.caused").count() == 1  # the refusal it caused
    row = page.locator("#rows tr.entry.caused")
    row.click()  # the row opens the request and the response
    detail = page.locator("#rows .bodies")
    assert '"status": "REQUESTING"' in detail.inner_text()
    assert '"code": 1016' in detail.inner_text()


def test_without_a_credential_nothing_is_shown(
    page: Any, api: Api, bre_server: SimulatorServer
) -> None:
    api.restore()
    for path in ("/", f"/ui/consoles/{api.console.id}", f"/ui/consoles/{api.console.id}/journal/1"):
        response = page.goto(bre_server.url + path)
        text = page.content()
        assert response.status in (401, 404)
        assert api.console.id not in text
        assert "restore" not in page.inner_text("main").lower()
    assert page.goto(bre_server.url + "/").status == 401
    assert page.locator("form[action='/ui/login']").count() == 1  # a sign-in form, nothing else
    assert page.locator("article.card, li.job, tr.entry, .controls").count() == 0


def test_a_console_token_shows_that_console_alone_without_controls(
    page: Any, api: Api, bre_server: SimulatorServer
) -> None:
    other = bre_server.new_console()
    try:
        httpx.post(
            f"{other.url}/api/backup_and_restore/restores",
            headers=other.headers,
            json={"backup_id": 1, "groups": ["CUSTOM_RULES_CONFIG"]},
            timeout=10,
        )
        api.restore()
        page.goto(f"{bre_server.url}/?token={api.console.token}")  # the console's SEC token

        assert page.url.endswith(f"/ui/consoles/{api.console.id}")
        assert page.locator("li.job[data-job^=restore]").count() == 1
        assert page.locator(".controls, button[data-control]").count() == 0
        assert "read-only" in page.inner_text("header")
        for path in (
            f"/ui/consoles/{other.id}",
            f"/ui/consoles/{other.id}/journal/1",
            "/ui/consoles",
        ):
            assert page.goto(bre_server.url + path).status == 404
            assert other.id not in page.content()
        page.goto(bre_server.url + "/")
        assert page.url.endswith(f"/ui/consoles/{api.console.id}")  # never the list of consoles
        refused = page.request.post(
            f"{bre_server.url}/ui/consoles/{api.console.id}/control",
            data={"reset": True},
            headers={"X-CSRF-Token": "guess"},
        )
        assert refused.status == 403
    finally:
        bre_server.delete_console(other)


def test_the_page_updates_live_within_a_second(
    page: Any, api: Api, bre_server: SimulatorServer
) -> None:
    sign_in_as_admin(page, bre_server)
    page.goto(f"{bre_server.url}/ui/consoles/{api.console.id}")
    page.wait_for_selector("#live.on")
    assert page.locator("li.job[data-job^=restore]").count() == 0

    id = api.restore()
    page.wait_for_selector(f"#job-restore-{id}", timeout=1000)
    page.wait_for_selector(f"#rows tr.entry[data-jobs='restore-{id}']", timeout=1000)

    api.start(id)
    api.control({"advance": "2s"})
    page.wait_for_selector(f"#job-restore-{id}[data-status='INITIALIZING']", timeout=1000)
    page.wait_for_selector("#card .gate.held", timeout=1000)


def test_the_controls_act_through_the_control_surface(
    page: Any, api: Api, bre_server: SimulatorServer
) -> None:
    sign_in_as_admin(page, bre_server)
    page.goto(f"{bre_server.url}/ui/consoles/{api.console.id}")
    page.click("button:has-text('rebalancing on')")
    page.wait_for_selector(".controls .result.ok")
    page.wait_for_selector("#card .gate.held", timeout=2000)
    id = api.restore()
    assert api.start(id).json()["code"] == 1014
    page.click("button:has-text('rebalancing off')")
    page.wait_for_selector("#card .gate.free", timeout=2000)

    assert api.start(id).status_code == 200
    page.fill("form.advance input", "30s")
    page.click("form.advance button")
    page.wait_for_selector(f"#job-restore-{id}[data-status='SUCCESS']", timeout=2000)
    page.click("button:has-text('external restore: finish')")
    page.wait_for_selector(".controls .result.ok")


def test_the_consoles_view(page: Any, api: Api, bre_server: SimulatorServer) -> None:
    sign_in_as_admin(page, bre_server)
    card = page.locator(f"#console-{api.console.id}")
    assert "free" in card.locator(".gate").inner_text()
    page.wait_for_selector("#live.on")
    id = api.restore()
    api.start(id)  # the view follows
    page.wait_for_selector(f"#console-{api.console.id} .gate.held", timeout=1000)
    assert f"held by restore {id}" in card.inner_text()
    assert "virtual" in card.inner_text()
    assert page.locator("article.card").count() >= 2  # every console, the default one too
    screenshot(page, "web-consoles")


def test_hung_and_external_jobs_are_marked(
    page: Any, api: Api, bre_server: SimulatorServer
) -> None:
    api.control({"engine": {"restore": {"outcome": ["SUCCESS", "FAILED", "HANG"]}}})
    for _ in range(3):  # SUCCESS, FAILED, then one that hangs IN_PROGRESS
        api.start(api.restore())
        api.control({"advance": "1m"})
    backup = api.call(
        "POST",
        "/backups",
        headers={"backup_type": "CONFIG"},
        json={"name": "nightly", "configuration_id": 1},
    )
    assert backup.json()["code"] == 1016  # refused: restore 3 runs
    api.control({"step": {"kind": "restore", "id": 3, "outcome": "SUCCESS"}})
    created = api.call(
        "POST",
        "/backups",
        headers={"backup_type": "CONFIG"},
        json={"name": "nightly", "configuration_id": 1},
    )
    assert created.status_code == 201, created.text
    api.control({"advance": "10s"})
    pending = api.restore()
    external = api.control({"external_restore": "start"}).json()["external_restore"]["id"]
    api.control({"advance": "3s"})
    assert api.start(pending).json()["code"] == 1016

    sign_in_as_admin(page, bre_server)
    page.goto(f"{bre_server.url}/ui/consoles/{api.console.id}")

    assert segments(page, "restore-1")[-1] == "SUCCESS"
    assert segments(page, "restore-2")[-1] == "FAILED"
    assert page.locator(f"#job-restore-{external} .badge.external").count() == 1
    blamed = page.locator("#rows tr.entry a.blame").all_inner_texts()
    assert blamed == [f"held by restore {external}", "held by restore 3"]
    api.control({"engine": {"restore": {"outcome": "HANG"}}})
    api.control({"external_restore": "finish"})
    api.start(pending)
    api.control({"advance": "1m"})
    page.wait_for_selector(f"#job-restore-{pending} .badge.hung", timeout=2000)
    page.wait_for_selector(f"#card .gate.held >> text=restore {pending}")
    screenshot(page, "web-console")
