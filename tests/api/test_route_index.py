"""`/api` routes are found by dict (`QRadarApi._match`): always the route, and parameters,
that trying each route's pattern in order finds (`QRadarApi._scan`)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from engine.api.qradar import QRadarApi

PIECES = ["backup_and_restore", "restores", "backups", "haAction", "help", "versions", "auth",
          "logout", "config", "deployment", "hosts", "1", "x", "%31", "%2F", "", " ", "\n", "é",
          "updateiptablesprefile", "scheduled_backup_configurations", "system",
          "about"]  # fmt: skip


def _api(app: Starlette) -> QRadarApi:
    api: QRadarApi = app.state.api
    return api


def test_every_template_and_its_neighbours(app: Starlette) -> None:
    api = _api(app)
    assert api._index is not None  # the templates of today all have the indexed shapes
    for route in api.routes:
        base = route.template.replace("{", "").replace("}", "")
        for path in (base, base + "/", base + "//", base + "/7", base + "/7/", base[:-1], "/"):
            assert api._match(path) == api._scan(path), path


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # only read
@given(st.lists(st.sampled_from(PIECES), min_size=0, max_size=5), st.booleans())
def test_any_path_finds_what_a_scan_finds(app: Starlette, pieces: list[str], slash: bool) -> None:
    api = _api(app)
    path = "/" + "/".join(pieces) + ("/" if slash else "")
    assert api._match(path) == api._scan(path)
