"""Schemathesis against the running platform: every operation of the OpenAPI document, as
each of the five roles and anonymously, with generated valid and invalid input.

Each answer must pass Schemathesis' checks: no 5xx, a status the operation lists, a body
that matches its schema, the documented content type and headers, and invalid input
refused with a 4xx. A stateful run then follows the document's links as a customer and as
an admin (create a vehicle → read, change, send telemetry, delete it; create a center →
read its availability; ...).

Bounded for ``make test`` (PMI_FUZZ_EXAMPLES cases per operation and caller, default 3);
``make fuzz`` runs the long version (PMI_FUZZ_EXAMPLES=40, more stateful steps). The run's
counts are printed at the end (tests/run_summary.py) and docs/api.md records the latest
long run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import run_summary
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "hosting" / "api" / "openapi.json"
EXAMPLES = int(os.environ.get("PMI_FUZZ_EXAMPLES", "3"))
STATEFUL_EXAMPLES = int(os.environ.get("PMI_FUZZ_STATEFUL_EXAMPLES", str(max(2, EXAMPLES // 2))))
STATEFUL_STEPS = int(os.environ.get("PMI_FUZZ_STATEFUL_STEPS", "8"))
CALLERS = ("anonymous", "admin", "customer", "service_center", "mechanic", "viewer")
STAFF = ("service_center", "mechanic")
# The long run (make fuzz) adds Schemathesis' coverage phase: every boundary and type case
# each schema defines (about 50 per operation and caller).
LONG = os.environ.get("PMI_FUZZ_LONG") == "1"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]

pytestmark = pytest.mark.e2e

schema = schemathesis.openapi.from_path(SPEC)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES
)
schema.config.phases.update(
    phases=["examples", "coverage", "fuzzing", "stateful"]
    if LONG
    else ["examples", "fuzzing", "stateful"]
)

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases every run: a failure here reproduces
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)


@pytest.fixture(scope="module")
def callers(stack: Any, emulator: Any) -> Iterator[dict[str, dict[str, str]]]:
    """A signed-in user per role (and no one), on a freshly wiped emulator."""
    from conftest import TestUser  # noqa: F401 - the users fixture's shape, for reference

    from shared.auth import tokens
    from shared.firestore import get_client

    emulator.reset()
    db = get_client()
    found: dict[str, dict[str, str]] = {"anonymous": {}}
    for role in CALLERS[1:]:
        user_id, session_id = uuid.uuid4().hex, uuid.uuid4().hex
        db.collection("users").document(user_id).set(
            {
                "email": f"fuzz-{role}@example.test",
                "full_name": f"Fuzz {role}",
                "phone": None,
                "role": role,
                "is_active": True,
                "email_verified": True,
                "service_center_id": "fuzz-center" if role in STAFF else None,
                "session_ids": [session_id],
                "password_hash": "!",
            }
        )
        issued = tokens.issue(
            tokens.TokenKind.ACCESS, user_id=user_id, role=role, session_id=session_id
        )
        found[role] = {"Authorization": f"Bearer {issued.token}"}
    yield found
    emulator.reset()


@pytest.fixture(params=CALLERS)
def caller(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_as_every_role_answers_within_its_contract(
    case: Any, caller: str, callers: dict[str, dict[str, str]], stack: Any
) -> None:
    headers = {**(case.headers or {}), **callers[caller]}
    response = case.call(base_url=stack.gateway_url, headers=headers, timeout=30)
    run_summary.operations_fuzzed.add(case.operation.label)
    run_summary.cases_tried[caller] += 1
    case.validate_response(response, checks=CHECKS, headers=headers)


# --------------------------------------------------------------------------- stateful


def _state_machine(stack: Any, headers: dict[str, str]) -> Any:
    base = schema.as_state_machine()

    class Machine(base):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": stack.gateway_url, "headers": headers, "timeout": 30}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            run_summary.stateful_steps += 1
            run_summary.operations_fuzzed.add(case.operation.label)
            case.validate_response(response, checks=CHECKS, headers=headers)

    return Machine


@pytest.mark.parametrize("role", ["customer", "admin"])
def test_following_links_create_then_read_and_act_stays_within_the_contract(
    role: str, callers: dict[str, dict[str, str]], stack: Any
) -> None:
    machine = _state_machine(stack, callers[role])
    machine.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
