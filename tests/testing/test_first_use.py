"""First use, as a new user would try it: a throwaway project installs the package with its
`pytest` extra and runs the README's Python examples verbatim (extracted from README.md, so the
README and this test cannot drift), under pytest-asyncio's strict and auto modes and anyio's
marker; and the served fixtures from a project holding its own `engine` package."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
TIMEOUT_S = 300

#: Not from the README: the in-process fixtures under anyio's marker and the `bre` marker.
ANYIO_TEST = """
import pytest


@pytest.mark.anyio
@pytest.mark.bre(rules={"restore": {"mode": "poll"}})
async def test_fixtures_under_anyio(bre_console, bre_client, bre_console_factory):
    created = await bre_client.post("/api/backup_and_restore/restores",
                                    json={"backup_id": 1, "groups": ["DEPLOYMENT_CONFIG"]})
    restore_id = created.json()["id"]
    await bre_client.post(f"/api/backup_and_restore/restores/{restore_id}",
                          json={"status": "REQUESTING"})
    assert (await bre_console.wait_for_restore(restore_id)).status == "SUCCESS"
    other = await bre_console_factory(world={"rebalancing": True})
    assert other.id != bre_console.id
"""
#: Not from the README: the in-process fixtures in pytest-asyncio's auto mode (no marker).
AUTO_TEST = """
import pytest


@pytest.mark.bre(world={"rebalancing": True})
async def test_fixtures_in_auto_mode(bre_client, bre_console):
    created = await bre_client.post("/api/backup_and_restore/restores",
                                    json={"backup_id": 1, "groups": ["DEPLOYMENT_CONFIG"]})
    refused = await bre_client.post(f"/api/backup_and_restore/restores/{created.json()['id']}",
                                    json={"status": "REQUESTING"})
    assert refused.json()["code"] == 1014
    assert (await bre_console.state()).rebalancing
"""
CONFTEST = """
import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""


def readme_examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def clean_environment() -> dict[str, str]:
    return {
        k: v for k, v in os.environ.items() if not k.startswith(("BRE_", "PYTEST_", "PYTHONPATH"))
    }


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=clean_environment(), capture_output=True, text=True,
        timeout=TIMEOUT_S, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh project with its own virtual environment, this package installed into it with
    `pip install --no-deps -e` (the dependencies come from this environment through a path
    entry: offline and fast), and the README's examples as its tests."""
    root = tmp_path_factory.mktemp("first-use")
    venv = root / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], root)
    Path(site.stdout.strip(), "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    installed = run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
         "--editable", str(REPO)],
        root,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    for index, source in enumerate(readme_examples()):
        (root / f"test_readme_{index}.py").write_text(source)
    (root / "test_anyio_marker.py").write_text(ANYIO_TEST)
    (root / "test_auto_mode.py").write_text(AUTO_TEST)
    (root / "conftest.py").write_text(CONFTEST)
    return root


def pytest_in(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    python = project / ".venv" / "bin" / "python"
    return run([str(python), "-m", "pytest", "-p", "no:cacheprovider", "-v", *args], project)


def test_the_pytest_extra_brings_what_the_plugin_needs(project: Path) -> None:
    """As the project's installation declares it (`pip install 'qradar-bre-sim[pytest]'`)."""
    code = "from importlib import metadata; print(*metadata.requires('qradar-bre-sim'), sep='\\n')"
    requires = run([str(project / ".venv/bin/python"), "-c", code], project).stdout.splitlines()
    extras = [r for r in requires if re.search(r"extra == ['\"]pytest['\"]", r)]
    names = {re.split(r"[<>=;\[ ]", r, maxsplit=1)[0] for r in extras}
    assert names == {"pytest", "pytest-asyncio", "requests"}


def readme_files(project: Path) -> list[str]:
    return sorted(p.name for p in project.glob("test_readme_*.py"))


def test_the_readme_examples_pass_in_strict_mode_and_under_anyio(project: Path) -> None:
    files = [*readme_files(project), "test_anyio_marker.py"]
    result = pytest_in(project, "-o", "asyncio_mode=strict", *files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_the_restore_succeeds PASSED" in result.stdout  # the naive requests loop
    assert "test_a_failed_restore_is_reported PASSED" in result.stdout
    assert "test_no_restore_during_a_rebalance PASSED" in result.stdout
    assert "test_a_restore_that_fails_then_succeeds PASSED" in result.stdout
    assert "test_fixtures_under_anyio PASSED" in result.stdout
    assert " 0 passed" not in result.stdout
    # the project's interpreter imported the package it installed, not this checkout's path
    where = run([str(project / ".venv/bin/python"), "-c", "import engine; print(engine.__file__)"],
                project)  # fmt: skip
    assert where.stdout.strip() == str(REPO / "engine" / "__init__.py")


def test_the_readme_examples_pass_in_auto_mode(project: Path) -> None:
    files = [*readme_files(project), "test_auto_mode.py"]
    result = pytest_in(project, "-o", "asyncio_mode=auto", *files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_fixtures_in_auto_mode PASSED" in result.stdout
    assert "5 passed" in result.stdout


def test_served_fixtures_from_a_project_with_its_own_engine_package(tmp_path: Path) -> None:
    """`python -m engine` there would run the project's `engine`: the fixture's server starts
    as `python -P -m engine`, which the current directory cannot shadow."""
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "__init__.py").write_text('"""The user\'s own engine."""\n')
    served = next(s for s in readme_examples() if "bre_server_console" in s)
    (tmp_path / "test_runbook.py").write_text(served)
    pytest_command = Path(sysconfig.get_path("scripts")) / "pytest"
    result = run([str(pytest_command), "-p", "no:cacheprovider", "-q"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
