"""Models named by reference load on first use, and a cold start loads no model it need not.

The cold-start figures of docs/benchmarks.md ("Hot path") rest on this: no function imports
pydantic or its models at start, every route still resolves its models when the route table
is read, and the bookings list (many a cold instance's first request) builds its query model
only, not every booking model.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shared.model_refs import ModelRef, lazy_models, resolve

ROOT = Path(__file__).resolve().parent.parent

COLD_START_PROBE = """
import sys
import main

package, extra = sys.argv[1], sys.argv[2:]
assert "pydantic" not in sys.modules, "pydantic was imported at start"
watched = ("shared.request_models", "shared.responses", f"{package}.models", f"{package}.responses")
watched += tuple(extra)
models = [m for m in sys.modules if m in watched]
assert not models, f"models imported at start: {models}"
for route in main.app.routes:  # what the OpenAPI generator and the route tests read
    for model in (route.body, route.query, route.response_model, *route.responses.values()):
        assert model is None or isinstance(model, str) or hasattr(model, "model_json_schema")
assert "pydantic" in sys.modules
print("ok")
"""


# The bookings function's calendar models and its list query are models too.
BOOKING_MODELS = ("booking.calendar_models", "booking.list_query")

FIRST_LIST_PROBE = """
import sys
import functions_framework

app = functions_framework.create_app(target="bookings", source="main.py")
answer = app.test_client().get("/", headers={"Authorization": "Bearer " + sys.argv[1]})
assert answer.status_code == 200, (answer.status_code, answer.get_data(as_text=True))
assert "pydantic" in sys.modules and "booking.list_query" in sys.modules
built = ("booking.models", "booking.calendar_models", "booking.responses", "shared.responses")
loaded = [m for m in built if m in sys.modules]
assert not loaded, f"the list's first request imported {loaded}"
print("ok")
"""


def _run_probe(function: str, args: list[str], **settings: str) -> None:
    """Runs ``python -c args[0] args[1:]`` in a fresh interpreter beside the function's
    code, as its instance would start, and expects it to print ``ok``."""
    folder = ROOT / "functions" / function
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{folder}", **settings}
    done = subprocess.run(
        [sys.executable, "-c", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


@pytest.mark.parametrize(
    ("function", "package", "extra"),
    [
        ("auth", "identity", ()),
        ("vehicles", "vehicle", ()),
        ("bookings", "booking", BOOKING_MODELS),
        ("monitoring", "observability", ()),
    ],
)
def test_a_cold_start_imports_no_pydantic_and_no_models(
    function: str, package: str, extra: tuple[str, ...]
) -> None:
    _run_probe(
        function,
        [COLD_START_PROBE, package, *extra],
        PMI_JWT_SECRET="model-refs-test-key-0123456789abcdef0123456789",
    )


def test_the_bookings_lists_first_request_builds_only_its_query_model(users: Any) -> None:
    customer = users.create("customer")
    _run_probe("bookings", [FIRST_LIST_PROBE, customer.token])


def test_the_scheduling_core_imports_without_pydantic() -> None:
    probe = (
        "import sys\n"
        "import booking.scheduling, booking.calendar_limits\n"
        "assert 'pydantic' not in sys.modules\n"
        "print('ok')\n"
    )
    folder = ROOT / "functions" / "bookings"
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{folder}"}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=folder, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_a_reference_imports_its_module_on_first_resolve_only() -> None:
    name = "tests.fixtures.lazy_model_module"
    sys.modules.pop(name, None)
    refs = lazy_models(name)
    ref = refs.Widget
    assert name not in sys.modules
    model = ref.resolve()
    assert name in sys.modules and model.__name__ == "Widget"
    assert ref.resolve() is model and resolve(ref) is model and resolve(model) is model
    assert refs.Widget is ref  # one reference per name
    assert ref == ModelRef(name, "Widget") and hash(ref) == hash(ModelRef(name, "Widget"))


def test_a_reference_to_a_missing_model_fails_when_resolved() -> None:
    with pytest.raises(AttributeError):
        lazy_models("tests.fixtures.lazy_model_module").NoSuchModel.resolve()
