"""The API contract: the OpenAPI document, docs/api.md and the collection, generated and current.

The document is generated from the route tables (scripts/openapi.py) and checked in, so
clients, the docs viewer and the fuzzer read the same thing the pipeline enforces; these
tests fail when it is stale, invalid, or misses a route's answer. Every in-process answer of
the suite is checked against it too (tests/conftest.py, tests/api_contract.py).
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from test_route_matrix import ROUTES

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import api_docs  # noqa: E402
import openapi  # noqa: E402

SPEC = json.loads(openapi.OUTPUT.read_text(encoding="utf-8"))


def operation(path: str, method: str) -> dict[str, Any]:
    found: dict[str, Any] = SPEC["paths"][path][method]
    return found


def test_the_checked_in_document_is_what_the_route_tables_generate() -> None:
    fresh = openapi.render(openapi.build())
    assert openapi.OUTPUT.read_text(encoding="utf-8") == fresh, "stale: run `make openapi`"


def test_the_document_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"] == "3.1.0"
    validate(SPEC)  # raises with the first problem


def test_every_route_is_one_operation_with_a_response_model() -> None:
    operations = {
        (path, method.upper()) for path, methods in SPEC["paths"].items() for method in methods
    }
    expected = set()
    for function, route in ROUTES:
        path = f"/api/{function}" + ("" if route.path == "/" else openapi.openapi_path(route.path))
        expected.add((path, route.method))
        if route.status != 204:
            assert route.response_model is not None, f"{function} {route.method} {route.path}"
    assert operations == expected
    ids = [op["operationId"] for methods in SPEC["paths"].values() for op in methods.values()]
    assert len(ids) == len(set(ids))


def test_statuses_are_derived_from_access_models_and_path() -> None:
    login = operation("/api/auth/login", "post")
    assert login["security"] == [] and login["x-pmi-access"] == "public"
    assert {"200", "400", "401", "413", "415", "422", "429", "503"} == set(login["responses"])
    vehicle = operation("/api/vehicles/{vehicle_id}", "get")
    assert vehicle["security"] == [{"bearerAuth": []}]
    assert vehicle["x-pmi-access"] == "permission: vehicles:read"
    assert {"200", "401", "404", "429", "503"} <= set(vehicle["responses"])
    assert "400" not in vehicle["responses"] and "415" not in vehicle["responses"]
    centers = operation("/api/bookings/centers", "post")
    assert "403" in centers["responses"] and centers["x-pmi-roles"] == ["admin"]
    live = operation("/api/monitoring/health/live", "get")
    assert set(live["responses"]) == {"200", "503"}  # not rate limited: no 429


def test_booking_creation_documents_idempotency_conflicts_and_rate_limit_headers() -> None:
    create = operation("/api/bookings", "post")
    assert {"$ref": "#/components/parameters/IdempotencyKey"} in create["parameters"]
    assert "slot_full" in create["responses"]["409"]["description"]
    headers = create["responses"]["201"]["headers"]
    assert {"RateLimit-Limit", "RateLimit-Remaining", "Idempotent-Replayed"} <= set(headers)
    too_many = SPEC["components"]["responses"]["TooManyRequests"]
    assert "Retry-After" in too_many["headers"]
    schema = create["responses"]["201"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Booking"}


def test_creating_links_to_the_operations_on_what_was_created() -> None:
    links = operation("/api/vehicles", "post")["responses"]["201"]["links"]
    assert links["vehicles_get_vehicle"]["parameters"] == {"vehicle_id": "$response.body#/id"}
    assert "vehicles_ingest_telemetry" in links
    booking_links = operation("/api/bookings", "post")["responses"]["201"]["links"]
    assert {"bookings_confirm", "bookings_cancel", "bookings_get_booking"} <= set(booking_links)


def test_reading_fields_are_documented_with_unit_and_range() -> None:
    reading = SPEC["components"]["schemas"]["Reading"]
    assert "additionalProperties" not in reading  # unknown reading fields are accepted
    for name, field in reading["properties"].items():
        assert field.get("description"), name
    assert "volts" in reading["properties"]["battery_voltage"]["description"]
    assert reading["properties"]["battery_voltage"]["maximum"] == 30.0
    assert "kilometres" in reading["properties"]["odometer_km"]["description"]


def test_api_docs_and_the_collection_are_current() -> None:
    for path, text in api_docs.outputs().items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name} stale: run `make openapi`"


def test_api_docs_show_every_endpoint_with_a_curl_example() -> None:
    text = api_docs.API_DOC.read_text(encoding="utf-8")
    for path, methods in SPEC["paths"].items():
        for method in methods:
            heading = f"#### `{method.upper()} {path}`"
            assert heading in text
            section = text.split(heading, 1)[1].split("#### ", 1)[0]
            assert "```bash\ncurl -s -X " + method.upper() in section, heading


def test_the_collection_has_one_request_per_operation() -> None:
    collection = json.loads(api_docs.COLLECTION.read_text(encoding="utf-8"))
    assert collection["info"]["schema"] == api_docs.POSTMAN_SCHEMA
    requests = [item["request"] for folder in collection["item"] for item in folder["item"]]
    count = sum(len(methods) for methods in SPEC["paths"].values())
    assert len(requests) == count
    assert {v["key"] for v in collection["variable"]} >= {"baseUrl", "accessToken"}
    sign_in = next(
        item
        for folder in collection["item"]
        for item in folder["item"]
        if item["name"] == "Sign in"
    )
    assert "accessToken" in "".join(sign_in["event"][0]["script"]["exec"])


def _codes_in_the_code_base() -> set[str]:
    """Every error code the code can send: ``code=`` arguments, ``code =`` class attributes
    (and the errors module's tuple form), and the calendar's refusal reasons."""
    codes: set[str] = set()
    files = [*(ROOT / "shared").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
    for path in [*files, ROOT / "scripts" / "gateway.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "code":
                if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                    codes.add(node.value.value)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id == "code":
                        if isinstance(node.value, ast.Constant):
                            codes.add(str(node.value.value))
                    elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                        names = [e.id if isinstance(e, ast.Name) else "" for e in target.elts]
                        if "code" in names:
                            value = node.value.elts[names.index("code")]
                            if isinstance(value, ast.Constant):
                                codes.add(str(value.value))
    from booking.scheduling import SlotErrorReason  # its values are sent as codes (422)

    codes |= {reason.value for reason in SlotErrorReason}
    # The gateway's error_response(status, code, message) calls.
    gateway = (ROOT / "scripts" / "gateway.py").read_text(encoding="utf-8")
    codes |= {c for c in ("bad_gateway", "gateway_timeout") if f'"{c}"' in gateway}
    return codes


def test_the_error_table_covers_every_code_the_code_base_sends() -> None:
    codes = _codes_in_the_code_base()
    assert len(codes) > 40
    assert codes - set(api_docs.ERROR_CODES) == set(), "add these to api_docs.ERROR_CODES"
    assert set(api_docs.ERROR_CODES) - codes == set(), "no longer sent: remove from the table"
    text = api_docs.API_DOC.read_text(encoding="utf-8")
    for code in codes:
        assert f"| `{code}` |" in text


@pytest.mark.parametrize("status", ["400", "401", "403", "404", "422", "429", "503"])
def test_derived_error_answers_share_one_envelope(status: str) -> None:
    shared = SPEC["components"]["responses"][openapi.ERROR_NAMES[int(status)]]
    schema = shared["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}
    envelope = SPEC["components"]["schemas"]["ErrorBody"]
    assert set(envelope["required"]) == {"code", "message", "request_id", "details"}
