"""The client SDK's JavaScript tests: unit tests (fake clock, fake fetch) and one run per
role against the real local stack (every function and the Hosting gateway as processes)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from js_runner import ROOT, run_node_tests

UNIT_TESTS = sorted((ROOT / "tests" / "js" / "unit").glob("*.test.js"))
ROLE_TESTS = ROOT / "tests" / "js" / "integration" / "roles.test.js"
ROLE_ACCOUNTS = {
    "admin": "admin",
    "customer": "customer",
    "service_center": "center",
    "mechanic": "mechanic",
    "viewer": "viewer",
}


def test_sdk_unit_tests_pass() -> None:
    result = run_node_tests(UNIT_TESTS)
    passed = re.search(r"^ℹ pass (\d+)", result.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) >= 30, result.stdout[-2000:]


@pytest.fixture(scope="module")
def demo_world(stack: Any, emulator: Any) -> dict[str, Any]:
    """The demo data (scripts/seed_demo.py), loaded through the gateway once for this module."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import seed_demo

    emulator.reset()
    ids: dict[str, Any] = seed_demo.seed(stack.gateway_url, progress=lambda message: None)
    return ids


@pytest.mark.e2e
@pytest.mark.parametrize("role", list(ROLE_ACCOUNTS))
def test_sdk_against_the_real_stack(stack: Any, demo_world: dict[str, Any], role: str) -> None:
    import seed_demo

    result = run_node_tests(
        [ROLE_TESTS],
        env={
            "PMI_BASE_URL": stack.gateway_url,
            "PMI_ROLE": role,
            "PMI_EMAIL": seed_demo.demo_email(ROLE_ACCOUNTS[role]),
            "PMI_PASSWORD": seed_demo.demo_password(),
            "PMI_WORLD": json.dumps(demo_world),
        },
    )
    assert "ℹ fail 0" in result.stdout


def test_dashboard_permissions_mirror_the_rbac_table() -> None:
    """hosting/app/permissions.js decides what the dashboard shows; it must match rbac.py."""
    import subprocess

    from shared.auth.rbac import ROLE_PERMISSIONS

    script = (
        "import('./hosting/app/permissions.js')"
        ".then(m => process.stdout.write(JSON.stringify(m.ROLE_PERMISSIONS)))"
    )
    printed = subprocess.run(
        ["node", "-e", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    mirrored = {role: set(perms) for role, perms in json.loads(printed).items()}
    expected = {role.value: {p.value for p in perms} for role, perms in ROLE_PERMISSIONS.items()}
    assert mirrored == expected


IMPORT_SOURCE = re.compile(r"""^(?:import|export)\b[^;]*?\bfrom\s+["']([^"']+)["']""", re.M | re.S)


def test_sdk_and_dashboard_sources_are_served_as_is() -> None:
    """No build step: every module the dashboard imports is a file Hosting serves."""
    hosting = ROOT / "hosting"
    missing = []
    for path in [*hosting.glob("app/**/*.js"), *hosting.glob("sdk/*.js")]:
        source = path.read_text(encoding="utf-8")
        for target in IMPORT_SOURCE.findall(source):
            base = hosting if target.startswith("/") else path.parent
            resolved = base / target.lstrip("/")
            if not Path(resolved).resolve().is_file():
                missing.append(f"{path.relative_to(ROOT)} imports {target}")
    assert missing == []
