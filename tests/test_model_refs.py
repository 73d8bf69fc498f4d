"""Models named by reference load on first use, and a cold start loads no model it need not.

The cold-start figures of docs/benchmarks.md ("Hot path") rest on this: the functions whose
first request validates no body or query import neither pydantic nor their models at start,
and every route still resolves its models when the route table is read.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.model_refs import ModelRef, lazy_models, resolve

ROOT = Path(__file__).resolve().parent.parent

COLD_START_PROBE = """
import sys
import main

package = sys.argv[1]
assert "pydantic" not in sys.modules, "pydantic was imported at start"
watched = ("shared.request_models", "shared.responses", f"{package}.models", f"{package}.responses")
models = [m for m in sys.modules if m in watched]
assert not models, f"models imported at start: {models}"
for route in main.app.routes:  # what the OpenAPI generator and the route tests read
    for model in (route.body, route.query, route.response_model, *route.responses.values()):
        assert model is None or isinstance(model, str) or hasattr(model, "model_json_schema")
assert "pydantic" in sys.modules
print("ok")
"""


@pytest.mark.parametrize(
    ("function", "package"),
    [("auth", "identity"), ("vehicles", "vehicle"), ("monitoring", "observability")],
)
def test_a_cold_start_imports_no_pydantic_and_no_models(function: str, package: str) -> None:
    folder = ROOT / "functions" / function
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{folder}",
        "PMI_JWT_SECRET": "model-refs-test-key-0123456789abcdef0123456789",
    }
    done = subprocess.run(
        [sys.executable, "-c", COLD_START_PROBE, package],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
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
