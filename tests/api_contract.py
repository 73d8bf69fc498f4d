"""The OpenAPI document as a test oracle: does an answer match what the contract promises?

:func:`check_response` finds the operation a request went to (by method and path, the
Hosting form or a function's own URL) and checks the answer against the document: its
status must be one the operation lists, and a JSON body must match that status's schema.
The ``call`` fixture (tests/conftest.py) runs it on every in-process response, so the whole
suite checks the contract as a side effect; the fuzzer (tests/test_fuzz_api.py) does the
same through Schemathesis against the running stack.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "hosting" / "api" / "openapi.json"
# Answers the router gives before any operation is chosen: not part of an operation.
ROUTER_STATUSES = frozenset({405})


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    spec: dict[str, Any]


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


@cache
def operations() -> tuple[Operation, ...]:
    found = []
    for template, methods in document()["paths"].items():
        regex = re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template))
        for method, spec in methods.items():
            found.append(Operation(method.upper(), template, re.compile(regex + "/?"), spec))
    # Literal paths before templated ones (/api/vehicles/alerts before /{vehicle_id}).
    return tuple(sorted(found, key=lambda op: op.template.count("{")))


def find_operation(method: str, path: str, function: str | None = None) -> Operation | None:
    """The operation ``method path`` reaches; own-URL paths need the function's name."""
    if function is not None and not path.startswith(f"/api/{function}"):
        path = f"/api/{function}" + ("" if path == "/" else path)
    for operation in operations():
        if operation.method == method.upper() and operation.pattern.fullmatch(path):
            return operation
    return None


@cache
def _validator(status_key: str, template: str, method: str) -> Draft202012Validator | None:
    answer = document()["paths"][template][method.lower()]["responses"][status_key]
    if "$ref" in answer:
        answer = document()["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    schema = answer.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    # $refs in the schema point into the document's components.
    return Draft202012Validator({**schema, "components": document()["components"]})


def problems(operation: Operation, status: int, body: bytes, content_type: str) -> list[str]:
    """What is wrong with an answer, by the document (empty when it conforms)."""
    if status in ROUTER_STATUSES:
        return []
    key = str(status)
    if key not in operation.spec["responses"]:
        listed = ", ".join(operation.spec["responses"])
        return [f"status {status} is not in the contract (it lists {listed}): {body[:300]!r}"]
    validator = _validator(key, operation.template, operation.method)
    if validator is None:
        return [] if not body else [f"status {status} should have no body: {body[:200]!r}"]
    if not content_type.startswith("application/json"):
        return [f"status {status} should be JSON, got {content_type or 'no content type'}"]
    try:
        payload = json.loads(body)
    except ValueError:
        return [f"status {status}: body is not JSON: {body[:200]!r}"]
    return [
        f"status {status} {'/'.join(str(p) for p in error.absolute_path) or 'body'}: "
        f"{error.message[:300]}"
        for error in validator.iter_errors(payload)
    ]


def check_response(
    method: str,
    path: str,
    status: int,
    body: bytes,
    content_type: str,
    function: str | None = None,
) -> None:
    """Fail (AssertionError) when the answer breaks the contract; unknown routes pass."""
    operation = find_operation(method, path, function)
    if operation is None or method.upper() in ("OPTIONS", "HEAD"):
        return
    found = problems(operation, status, body, content_type)
    assert not found, (
        f"{method} {path} broke the API contract ({operation.spec['operationId']}):\n  "
        + "\n  ".join(found)
    )
