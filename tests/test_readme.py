"""The README keeps its promises: the two commands first, and every setting documented."""

from __future__ import annotations

from pathlib import Path

from shared.config import Settings
from shared.functions import FUNCTION_NAMES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_the_two_commands_come_first() -> None:
    opening = "\n".join(README.splitlines()[:10])
    assert "make dev" in opening and "make test" in opening


def test_every_setting_is_documented() -> None:
    missing = [
        f"PMI_{name.upper()}"
        for name in Settings.model_fields
        if f"PMI_{name.upper()}" not in README
    ]
    assert missing == []


def test_every_function_is_named_in_the_readme() -> None:
    for name in FUNCTION_NAMES:
        assert f"`{name}`" in README


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.strip().splitlines()[-1] == "make test"
