"""What ships is what was tested: one lock, and every function's requirements derived from it.

The repository's own files must agree (``check`` is empty), and each way they can drift
apart — a hand-edited function file, an input the lock does not pin, a pin that moved, a
leftover package, a missing hash — must be caught. The drift cases run on a copy of the
real files in a temporary folder, so they prove the check against the real lock.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from release import lockfile  # noqa: E402


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the lock, its inputs and the function folders' requirement files."""
    for relative in (lockfile.LOCK_FILE, lockfile.DEV_INPUT, "shared/requirements.in"):
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / relative, target)
    for name in lockfile.function_names(ROOT):
        folder = tmp_path / "functions" / name
        folder.mkdir(parents=True)
        for file in ("main.py", "requirements.in", "requirements.txt"):
            shutil.copy(ROOT / "functions" / name / file, folder / file)
    assert lockfile.check(tmp_path) == []
    return tmp_path


def test_the_repository_lock_agrees_with_its_inputs_and_the_functions() -> None:
    assert lockfile.check(ROOT) == []


def test_every_locked_package_is_hashed_and_pinned_exactly() -> None:
    packages = lockfile.parse_lock((ROOT / lockfile.LOCK_FILE).read_text())
    assert len(packages) > 30
    for package in packages:
        assert package.hashes, package.name
        assert all(h.startswith("--hash=sha256:") for h in package.hashes)


def test_each_function_ships_its_own_dependencies_and_nothing_of_the_tools() -> None:
    packages = lockfile.parse_lock((ROOT / lockfile.LOCK_FILE).read_text())
    shipped = {
        name: {
            p.name
            for p in lockfile.parse_lock(
                (ROOT / "functions" / name / "requirements.txt").read_text()
            )
        }
        for name in lockfile.function_names(ROOT)
    }
    assert len(shipped) >= 4
    for name, names in shipped.items():
        # shared/'s runtime and what it pulls in, at the lock's versions
        assert {"functions-framework", "google-cloud-firestore", "pydantic", "pyjwt"} <= names
        assert {"grpcio", "protobuf", "google-api-core"} <= names, name
        assert not names & {"pytest", "ruff", "mypy", "uv", "check-jsonschema"}, name
    assert {"bcrypt", "firebase-admin"} <= shipped["auth"]
    assert "bcrypt" not in shipped["vehicles"]
    assert "tzdata" in shipped["bookings"] and "psutil" in shipped["monitoring"]
    versions = {p.name: p.version for p in packages}
    for name in shipped:
        for package in lockfile.parse_lock(
            (ROOT / "functions" / name / "requirements.txt").read_text()
        ):
            assert package.version == versions[package.name]


def test_a_hand_edited_function_file_is_drift(repo: Path) -> None:
    target = repo / "functions" / "vehicles" / "requirements.txt"
    target.write_text(target.read_text().replace("grpcio==", "grpcio==0.0.1+", 1))
    assert lockfile.check(repo) == [
        "functions/vehicles/requirements.txt differs from what requirements.lock gives"
    ]


def test_a_new_input_the_lock_does_not_pin_is_caught(repo: Path) -> None:
    with (repo / lockfile.DEV_INPUT).open("a") as dev:
        dev.write("polars==1.0.0\n")  # a package nothing here depends on
    problems = lockfile.check(repo)
    assert len(problems) == 1
    assert "polars is not in requirements.lock" in problems[0]


def test_a_moved_pin_in_a_function_input_is_caught(repo: Path) -> None:
    target = repo / "functions" / "monitoring" / "requirements.in"
    target.write_text(target.read_text().replace("psutil==7.2.2", "psutil==7.9.9"))
    problems = lockfile.check(repo)
    assert any("pins psutil==7.9.9 but requirements.lock has 7.2.2" in p for p in problems)


def test_a_dropped_dependency_leaves_a_stale_lock_entry(repo: Path) -> None:
    target = repo / "functions" / "bookings" / "requirements.in"
    target.write_text(target.read_text().replace("tzdata==", "# tzdata=="))
    problems = lockfile.check(repo)
    assert "requirements.lock: tzdata is no longer needed by any input" in problems
    # and the bookings file no longer matches what the lock gives it
    assert any(p.startswith("functions/bookings/requirements.txt") for p in problems)


def test_an_unhashed_lock_entry_is_caught(repo: Path) -> None:
    lock = repo / lockfile.LOCK_FILE
    lines = lock.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("tzdata=="))
    lines[start] = lines[start].rstrip(" \\")
    while lines[start + 1].strip().startswith("--hash="):
        del lines[start + 1]
    lock.write_text("\n".join(lines) + "\n")
    problems = lockfile.check(repo)
    assert any("tzdata==" in p and "has no hash" in p for p in problems)


def test_a_lock_made_another_way_is_refused(repo: Path) -> None:
    lock = repo / lockfile.LOCK_FILE
    lock.write_text(lock.read_text().replace(" --generate-hashes", "", 1))
    assert any("was not made by `make lock`" in p for p in lockfile.check(repo))


def test_a_new_function_needs_its_own_requirements_in(repo: Path) -> None:
    (repo / "functions" / "billing").mkdir()
    (repo / "functions" / "billing" / "main.py").write_text("")
    assert "functions/billing/requirements.in is missing" in lockfile.check(repo)


def test_inputs_accept_only_exact_pins_or_bare_names(tmp_path: Path) -> None:
    source = tmp_path / "requirements.in"
    source.write_text("pydantic>=2\n")
    with pytest.raises(lockfile.LockError, match="bare or pin it with '=='"):
        lockfile.read_inputs(source)


def test_closure_follows_the_via_graph_only_downwards() -> None:
    lock = """\
a==1 \\
    --hash=sha256:aa
    # via -r requirements.in
b==1 \\
    --hash=sha256:bb
    # via a
c==1 ; sys_platform == 'win32' \\
    --hash=sha256:cc
    # via
    #   b
    #   d
d==1 \\
    --hash=sha256:dd
    # via -r requirements.in
"""
    packages = lockfile.parse_lock(lock)
    assert [p.marker for p in packages] == [None, None, "sys_platform == 'win32'", None]
    assert lockfile.closure(packages, ["a"]) == {"a", "b", "c"}
    assert lockfile.closure(packages, ["d"]) == {"d", "c"}


def test_the_makefile_installs_the_dev_environment_from_the_lock_with_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes --no-deps -r requirements.lock" in makefile
    assert "-r requirements-dev.txt" not in makefile
    assert "scripts/lock.py --check" in makefile


def test_renovate_keeps_the_lock_and_the_actions_fresh() -> None:
    import json

    config = json.loads((ROOT / "renovate.json").read_text())
    patterns = " ".join(config["pip-compile"]["managerFilePatterns"])
    assert "requirements" in patterns and "lock" in patterns
    assert config["lockFileMaintenance"]["enabled"] is True
    assert "github-actions" in config["enabledManagers"]
