"""Runs late: every rule in firestore.rules was exercised by this session's rules tests.

The Firestore emulator records, for each expression of the rules it loaded, the values it
evaluated to (``GET /emulator/v1/projects/{p}:ruleCoverage``, and an annotated HTML page at
``:ruleCoverage.html``). Both are saved under ``.artifacts/rules-coverage/`` (git-ignored),
then the JSON report is checked:

- every ``allow`` condition was evaluated at least once to allow and once to deny (an
  evaluation error denies, as in production) — so each match block is proven both ways;
- every expression the emulator instruments (function bodies, each side of ``&&``/``||``,
  each ``get()``/``exists()``) was evaluated at least once.

Constant conditions (the closing ``if false``) are not instrumented by the emulator; they
must be ``false``, and tests/test_firestore_rules.py proves the denials they make.
Only meaningful when the rules tests ran in this session; otherwise it skips.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / ".artifacts" / "rules-coverage"
# The tests that evaluate rules (the Python client bypasses them).
RULES_TESTS = ("test_firestore_rules.py", "test_sdk_revocation.py", "test_mobile_sdk.py")
ALLOW = re.compile(r"\ballow\s+[a-z, ]+?\s*:\s*if\s+")
CONSTANT = re.compile(r"(true|false)\s*;")


def fetch(emulator: Any, suffix: str) -> bytes:
    url = f"{emulator.base_url}/emulator/v1/projects/{emulator.project_id}:{suffix}"
    with urllib.request.urlopen(url, timeout=30) as response:
        body: bytes = response.read()
        return body


def walk(nodes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for node in nodes:
        yield node
        yield from walk(node.get("children", []))


def without_comments(source: str) -> str:
    """Comments blanked out (same length, so line and column numbers stay)."""
    return re.sub(r"//[^\n]*", lambda m: " " * len(m.group()), source)


def position(source: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of ``offset``, as the emulator reports positions."""
    line = source.count("\n", 0, offset) + 1
    return line, offset - (source.rfind("\n", 0, offset) + 1) + 1


def outcomes(node: dict[str, Any]) -> set[str]:
    """'allow' and/or 'deny' for a condition's recorded values (an error denies)."""
    seen = set()
    for value in node.get("values", []):
        if value.get("count", 0) <= 0:
            continue
        seen.add("allow" if value.get("value", {}).get("boolValue") is True else "deny")
    return seen


@pytest.fixture(scope="module")  # the report is large (~10 MB): fetched and saved once
def coverage(emulator: Any, request: pytest.FixtureRequest) -> dict[str, Any]:
    ran = {Path(str(item.path)).name for item in request.session.items}
    missing = [name for name in RULES_TESTS if name not in ran]
    if missing:
        pytest.skip(f"rules coverage needs {', '.join(missing)} in the same session")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    raw = fetch(emulator, "ruleCoverage")
    (ARTIFACTS / "firestore-rules-coverage.json").write_bytes(raw)
    (ARTIFACTS / "firestore-rules-coverage.html").write_bytes(fetch(emulator, "ruleCoverage.html"))
    report: dict[str, Any] = json.loads(raw)
    return report


def test_every_allow_condition_was_seen_allowing_and_denying(coverage: dict[str, Any]) -> None:
    source = coverage["rules"]["files"][0]["content"]
    nodes = {
        (n["sourcePosition"]["line"], n["sourcePosition"]["column"]): n
        for n in walk(coverage["report"])
    }
    code = without_comments(source)
    conditions = [m.end() for m in ALLOW.finditer(code)]
    assert len(conditions) >= 7, "the rules' allow statements were not found"
    problems = []
    for offset in conditions:
        line, column = position(source, offset)
        text = code[offset : code.index(";", offset)].strip()
        if CONSTANT.match(code, offset):
            if text != "false":
                problems.append(f"line {line}: constant condition '{text}' allows everything")
            continue
        node = nodes.get((line, column))
        seen = outcomes(node) if node else set()
        if seen != {"allow", "deny"}:
            problems.append(f"line {line} `{text}`: seen {sorted(seen) or 'never evaluated'}")
    assert problems == [], f"see {ARTIFACTS}/firestore-rules-coverage.html\n" + "\n".join(problems)


def test_every_rules_expression_was_evaluated(coverage: dict[str, Any]) -> None:
    source = coverage["rules"]["files"][0]["content"]
    never = []
    for node in walk(coverage["report"]):
        if not any(value.get("count", 0) > 0 for value in node.get("values", [])):
            where = node["sourcePosition"]
            line = source.splitlines()[where["line"] - 1].strip()
            never.append(f"line {where['line']}:{where['column']}  {line}")
    never = sorted(set(never))
    assert never == [], f"see {ARTIFACTS}/firestore-rules-coverage.html\n" + "\n".join(never)
