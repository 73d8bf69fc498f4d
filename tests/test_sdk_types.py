"""The SDK's types of the API's answers (JSDoc in hosting/sdk/api.js) against the API contract.

The dashboard and the mobile apps type their code with these typedefs (``make jscheck``); the
API's own contract is hosting/api/openapi.json, generated from the response models and checked
against every answer by tests/test_api_contract.py. Each typedef of an answer must declare
exactly the fields of its schema, and may promise (declare not optional) only the fields the
schema requires: a field the SDK promises that the API may leave out (a viewer's answer, older
data) is a crash in the dashboard waiting for that answer; one it does not declare is a field
its users cannot see. The SDK may be more careful than the schema (optional where the schema
requires). Types within a field are the OpenAPI document's business, not checked here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SDK_TYPES = ROOT / "hosting" / "sdk" / "api.js"
CONTRACT = ROOT / "hosting" / "api" / "openapi.json"

# SDK typedefs named otherwise than their schema (the SDK's names came first, and renaming a
# type breaks its users' annotations for nothing).
RENAMED = {
    "MaintenanceForecast": "DueService",
    "TelemetryReading": "StoredReading",
    "MonitoringHealth": "PublicHealth",
    "MonitoringHealthDetailed": "DetailedHealth",
    "PerformanceFigures": "Figures",
    "PerformanceSeries": "Series",
    "InstanceLimits": "Limits",
}

SCHEMAS: dict[str, dict[str, Any]] = json.loads(CONTRACT.read_text())["components"]["schemas"]


def _typedefs() -> dict[str, dict[str, bool]]:
    """typedef name → {property: optional}, from the ``@typedef {object}`` blocks."""
    found: dict[str, dict[str, bool]] = {}
    for block in re.findall(r"/\*\*(.*?)\*/", SDK_TYPES.read_text(), re.S):
        named = re.search(r"@typedef \{object\} (\w+)", block)
        if named:
            found[named.group(1)] = _properties(block)
    return found


def _properties(block: str) -> dict[str, bool]:
    properties: dict[str, bool] = {}
    start = block.find("@property {")
    while start >= 0:
        end, depth = start + len("@property {"), 1
        while depth:  # the type may hold braces of its own: {{a: string}[]}
            depth += {"{": 1, "}": -1}.get(block[end], 0)
            end += 1
        declared = re.match(r"\s*(\[?)(\w+)", block[end:])
        assert declared, block[start : end + 40]
        properties[declared.group(2)] = bool(declared.group(1))
        start = block.find("@property {", end)
    return properties


TYPEDEFS = _typedefs()
ANSWERS = {name: RENAMED.get(name, name) for name in TYPEDEFS if RENAMED.get(name, name) in SCHEMAS}


def test_the_answers_typedefs_are_found() -> None:
    # A renamed schema or typedef would otherwise drop out of the checks below unnoticed.
    assert set(RENAMED) <= set(ANSWERS)
    assert len(ANSWERS) >= 20


@pytest.mark.parametrize(("typedef", "schema"), sorted(ANSWERS.items()))
def test_a_typedef_declares_the_fields_of_its_schema(typedef: str, schema: str) -> None:
    declared = set(TYPEDEFS[typedef])
    sent = set(SCHEMAS[schema].get("properties", {}))
    assert (sorted(sent - declared), sorted(declared - sent)) == ([], []), (
        "(fields the SDK does not declare, fields the API does not send)"
    )


@pytest.mark.parametrize(("typedef", "schema"), sorted(ANSWERS.items()))
def test_a_typedef_promises_only_what_the_api_always_sends(typedef: str, schema: str) -> None:
    required = set(SCHEMAS[schema].get("required", []))
    promised = {name for name, optional in TYPEDEFS[typedef].items() if not optional}
    assert sorted(promised - required) == [], "promised by the SDK, not required by the schema"
