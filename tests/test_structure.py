"""The layout rules of docs/architecture.md, checked on the source tree.

* the four functions are listed once (shared/functions.py) and firebase.json, pyproject.toml
  and the folders agree with it;
* each function is ``main.py`` (routes) + one domain package with a name unique across
  functions, and no function imports another function's code;
* inside a package no module imports a layer above its own (route → service → stores →
  pure rules), and pure modules never touch Firestore;
* one clock, one Firestore client, one contention rule, one vocabulary of service codes.
"""

from __future__ import annotations

import ast
import graphlib
import json
import re
import tomllib
from pathlib import Path

import pytest

from shared import service_codes
from shared.functions import FUNCTION_NAMES

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = ROOT / "functions"

# Each function's domain package and its layers: a module may import its own layer and the
# ones below it, never one above. 0 = pure rules (no Firestore, no HTTP calls).
PACKAGES: dict[str, tuple[str, dict[str, int]]] = {
    "auth": (
        "identity",
        {
            "models": 0,
            "responses": 0,
            "password_policy": 0,
            "firebase_tokens": 0,
            "audit": 1,
            "audit_trail": 1,  # reads audit_log (audit writes it, through shared.audit)
            "brute_force": 1,
            "outbox": 1,
            "sessions": 1,
            "accounts": 2,  # ends sessions when a password or an account changes
            "service": 3,
        },
    ),
    "vehicles": (
        "vehicle",
        {
            "codec": 0,
            "telemetry_quality": 0,
            "telemetry_tail": 0,  # where stored readings end: the ingest's fast path
            "signals": 0,
            "rollups": 0,
            "trends": 0,
            "health_rules": 0,
            "trend_rules": 0,
            "vin": 0,
            "models": 0,
            "responses": 0,
            "store": 1,
            "telemetry_store": 1,
            "day_writes": 1,  # the ingest's write protobuf (telemetry_store's)
            "record_store": 1,
            "alert_store": 2,  # scopes its listing like store does
            "claims": 2,  # registers a claimed VIN through store
            "health": 3,
            "limits": 3,  # derives its figures from the stores' bounds
            "service": 4,
        },
    ),
    "bookings": (
        "booking",
        {
            "scheduling": 0,
            "calendar_limits": 0,  # the bounds the calendar models and the scheduler both check
            "calendar_models": 0,  # scheduling's pydantic models, imported on first use
            "lifecycle": 0,
            "models": 0,
            "list_query": 0,  # GET /'s query, apart so the list builds no other model
            "responses": 0,
            "views": 0,
            "capacity": 1,
            "idempotency": 1,
            "centers": 2,
            "store": 3,
            "suggestions": 4,
            "service": 5,
        },
    ),
    "monitoring": (
        "observability",
        {
            "models": 0,
            "performance": 0,
            "instance": 0,
            "ttl_cache": 0,
            "health_checks": 1,
            "database_stats": 1,
            "service": 2,
        },
    ),
}
# Imports that make a module touch Firestore (or run transactions): never in a pure module.
FIRESTORE_MODULES = ("google.cloud", "shared.firestore", "shared.transactions")


def _imports(path: Path) -> list[str]:
    """Every module name ``path`` imports (``from a import b`` gives ``a`` and ``a.b``)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_function_list_is_the_folders_the_rewrites_and_the_test_path() -> None:
    folders = {p.parent.name for p in FUNCTIONS_DIR.glob("*/main.py")}
    assert folders == set(FUNCTION_NAMES)
    hosting = json.loads((ROOT / "firebase.json").read_text())["hosting"]
    rewritten = {
        rule["function"]["functionId"] for rule in hosting["rewrites"] if "function" in rule
    }
    assert rewritten == set(FUNCTION_NAMES)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    paths = pyproject["tool"]["pytest"]["ini_options"]["pythonpath"]
    assert {p.removeprefix("functions/") for p in paths if p.startswith("functions/")} == set(
        FUNCTION_NAMES
    )


def test_the_function_names_are_typed_out_nowhere_else() -> None:
    listing = re.compile(r"""["']auth["'],\s*["']vehicles["'],\s*["']bookings["']""")
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("functions", "shared", "scripts", "tests", "bench")
        for path in _python_files(ROOT / folder)
        if listing.search(path.read_text(encoding="utf-8"))
        and path != ROOT / "shared" / "functions.py"
    ]
    assert offenders == []


def test_each_function_is_main_plus_one_uniquely_named_package() -> None:
    names = [package for package, _ in PACKAGES.values()]
    assert len(set(names)) == len(names)
    for function, (package, layers) in PACKAGES.items():
        folder = FUNCTIONS_DIR / function
        modules = {p.stem for p in (folder / package).glob("*.py")} - {"__init__"}
        assert modules == set(layers), function
        top_level = {p.name for p in folder.glob("*.py")}
        assert top_level == {"main.py"}, function
        for module in modules:
            assert not module.startswith(f"{package}_"), module  # no booking_store etc.


def test_no_function_imports_another_functions_code() -> None:
    own = {function: package for function, (package, _) in PACKAGES.items()}
    for function in FUNCTION_NAMES:
        others = {p for f, p in own.items() if f != function}
        for path in _python_files(FUNCTIONS_DIR / function):
            roots = {name.split(".")[0] for name in _imports(path)}
            assert not roots & others, (path, roots & others)
    for path in _python_files(ROOT / "shared"):
        roots = {name.split(".")[0] for name in _imports(path)}
        assert not roots & set(own.values()), path


@pytest.mark.parametrize("function", list(PACKAGES))
def test_no_module_imports_a_layer_above_its_own(function: str) -> None:
    package, layers = PACKAGES[function]
    folder = FUNCTIONS_DIR / function
    for module, layer in layers.items():
        for name in _imports(folder / package / f"{module}.py"):
            parts = name.split(".")
            if parts[0] != package or len(parts) < 2 or parts[1] not in layers:
                continue
            assert layers[parts[1]] <= layer, f"{package}.{module} imports {name} (upward)"
            if layer == 0:
                assert layers[parts[1]] == 0
        if layer == 0:
            touching = _imports(folder / package / f"{module}.py")
            assert not [n for n in touching if n.startswith(FIRESTORE_MODULES)], module
    # The routes reach the domain through its service (and pure types), never a store.
    for name in _imports(folder / "main.py"):
        parts = name.split(".")
        if parts[0] == package and len(parts) > 1 and parts[1] in layers:
            assert parts[1] == "service" or layers[parts[1]] == 0, f"main.py imports {name}"


def _module_names(folder: Path, package: str) -> dict[str, Path]:
    """Dotted name → file for the modules under ``folder`` (package inits left out: they
    only hand names on)."""
    return {
        ".".join((package, *path.relative_to(folder).with_suffix("").parts)): path
        for path in _python_files(folder)
        if path.name != "__init__.py"
    }


@pytest.mark.parametrize(
    ("folder", "package"),
    [("shared", "shared")] + [(f"functions/{f}/{p}", p) for f, (p, _) in PACKAGES.items()],
)
def test_modules_never_import_one_another_in_a_circle(folder: str, package: str) -> None:
    # Every import counts, those made only for type checking or inside a function too: a
    # circle means two modules that cannot be read, tested or moved apart.
    modules = _module_names(ROOT / folder, package)
    graph = {
        name: {imported for imported in _imports(path) if imported in modules} - {name}
        for name, path in modules.items()
    }
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as circle:
        pytest.fail(f"modules import one another in a circle: {' -> '.join(circle.args[1])}")


def test_one_clock_one_client_one_contention_rule() -> None:
    for folder in ("functions", "shared"):
        for path in _python_files(ROOT / folder):
            text = path.read_text(encoding="utf-8")
            relative = str(path.relative_to(ROOT))
            if relative not in ("shared/clock.py", "shared/ratelimit.py", "shared/auth/tokens.py"):
                # shared.clock is the one source of "now"; token times and rate-limit
                # buckets count epoch seconds with an injectable ``now`` of their own.
                assert "datetime.now(" not in text and "time.time()" not in text, relative
            # Contention is recognised by exception type (shared.transactions), never text.
            assert "Failed to commit" not in text, relative
            if folder == "functions":
                # The Firestore client comes from shared.firestore.get_client(), not a parameter.
                assert not re.search(r"\bdb: ", text), relative
                assert "firestore.transactional" not in text, relative


def test_service_codes_are_spelled_only_in_shared_service_codes() -> None:
    literal = re.compile(
        "|".join(rf"""["']{re.escape(code)}["']""" for code in service_codes.SERVICE_NAMES)
    )
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("functions", "shared")
        for path in _python_files(ROOT / folder)
        if path.name != "service_codes.py" and literal.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
