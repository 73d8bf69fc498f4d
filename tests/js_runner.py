"""Runs `node --test` from pytest, so the JavaScript suites are part of `make test`."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# One JavaScript suite is a few seconds; a hung one must not hang the whole run.
NODE_TIMEOUT_SECONDS = 180


def run_node_tests(
    paths: list[Path], env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``node --test`` on ``paths``; fails the calling test with node's output if it fails."""
    import pytest

    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js 20+ is required for the SDK tests (node not on PATH)")
    result = subprocess.run(
        [node, "--test", "--test-reporter=spec", *map(str, paths)],
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"node --test failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}",
            pytrace=False,
        )
    return result
