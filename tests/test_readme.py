"""The README's examples run as written, so that its quick start stays honest."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from engine.scenarios.loader import load_text

README = Path(__file__).parent.parent / "README.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


async def test_the_embedding_example_runs() -> None:
    (source,) = blocks("python")
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


def test_the_bounds_table_is_the_settings() -> None:
    """Each bound of "Security and limits": its default, flag, variable and key as served."""
    from engine.cli import parser
    from engine.simulator import Settings

    section = README.read_text().split("## Security and limits", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| [a-z ]+ \| (\d+)[^|]*\| `(--[a-z-]+)`, `(BRE_[A-Z_]+)`, `([a-z_]+)` \|",
                      section, flags=re.M)  # fmt: skip
    assert len(rows) == 6
    for default, flag, variable, key in rows:
        assert getattr(Settings(), key) == int(default)
        assert getattr(parser().parse_args(["serve", flag, "7"]), key) == 7
        assert Settings.from_env({variable: "7"}) == Settings(**{key: 7})
