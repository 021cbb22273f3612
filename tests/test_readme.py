"""The README's examples run as written, so that its quick start stays honest."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.scenarios.loader import load_text

README = Path(__file__).parent.parent / "README.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


async def test_the_embedding_example_runs() -> None:
    source = blocks("python")[0]  # the others run in a throwaway project (tests/testing)
    namespace: dict[str, object] = {}
    exec(compile(source, "README.md", "exec"), namespace)
    tests = [v for k, v in namespace.items() if k.startswith("test_") and callable(v)]
    assert tests
    for test in tests:
        await test()  # type: ignore[operator]


def test_the_scenario_example_is_valid() -> None:
    (source,) = blocks("yaml")
    assert yaml.safe_load(source)["format"] == 1
    assert load_text(source, "README.md")


def test_the_quick_start_names_the_two_commands() -> None:
    text = README.read_text()
    assert "make run" in text
    assert "make test" in text


def test_the_settings_table_is_engine_options() -> None:
    """The README's table of settings is the one `engine.options` writes, row for row."""
    from engine import options

    assert options.markdown_table() in README.read_text()


def walk_through() -> str:
    """The quick start's curl commands, as printed."""
    text = README.read_text().split("Then, from another terminal:\n\n", 1)[1]
    block = text.split("\n\n", 1)[0]
    return "\n".join(line[4:] for line in block.splitlines())


def json_values(text: str) -> list[Any]:
    decoder, values, at = json.JSONDecoder(), [], 0
    while at < len(text):
        value, at = decoder.raw_decode(text, at)
        values.append(value)
    return values


def test_the_curl_walk_through_uses_the_id_it_gets_twice_over(tmp_path: Path) -> None:
    """Run twice on one database (the second run's restore is not 1): each run requests and
    reads the restore it created."""
    import shutil
    import subprocess

    from tests.support.serving import serve

    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    script = walk_through()
    assert "restores/$id" in script
    with serve("--db", str(tmp_path / "bre.sqlite3"), "--rules", "{restore: {mode: poll}}") as s:
        for run in (1, 2):
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script.replace("http://127.0.0.1:8000", s.url)],
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            requested, read = json_values(done.stdout)[-2:]  # curl ends no answer with a newline
            assert (requested["id"], requested["status"]) == (run, "REQUESTING")
            assert (read["id"], read["status"]) == (run, "INITIALIZING")
            for _ in range(2):  # poll mode: two more reads end it, so the next run may start
                subprocess.run(["curl", "-s", "-H", "SEC: bre-sim-token",
                                f"{s.url}/api/backup_and_restore/restores/{run}"],
                               capture_output=True, check=True)  # fmt: skip
