"""docs/routes.md is generated from the route tables and must match them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from shared.functions import FUNCTION_NAMES

ROOT = Path(__file__).resolve().parent.parent


def test_routes_doc_matches_the_route_tables() -> None:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "route_table.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr


def test_routes_doc_lists_every_function() -> None:
    text = (ROOT / "docs" / "routes.md").read_text()
    for name in FUNCTION_NAMES:
        assert f"## {name}" in text and f"`/api/{name}" in text
