"""The pipeline's files are valid where they are read, and run the phases in the plan's order.

- GitHub workflows: actionlint (with shellcheck on the ``run:`` scripts) and the
  workflow JSON schema; every job has a timeout.
- cloudbuild.yaml: Cloud Build's schema (check-jsonschema's vendored copy); every step is
  one phase of scripts/deploy.py, all phases, in order, with the substitutions.
- firebase.json: firebase-tools' own config schema, from the pinned firebase-tools
  package (fetched once with ``npm pack`` into build/, 1.3 MB).
- firestore.rules: compiled by the Firestore emulator (its rules endpoint refuses rules
  that do not compile, with the line, which a copy with a syntax error proves).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
sys.path.insert(0, str(ROOT / "scripts"))

from release import config as release_config  # noqa: E402
from release.plan import PHASES  # noqa: E402

CONFIG = release_config.load()
DEPLOY_CALL = re.compile(r"python3 scripts/deploy\.py (?P<args>.*)")


def yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


def check_jsonschema(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "check-jsonschema"), *args], capture_output=True, text=True, timeout=120
    )


def phases_called(lines: list[str]) -> list[str]:
    found = []
    for line in lines:
        match = DEPLOY_CALL.search(line)
        if match:
            phase = re.search(r"--phase[= ](\S+)", match["args"])
            assert phase, line
            found.append(phase[1])
    return found


# ------------------------------------------------------------------ GitHub Actions


def test_workflows_are_actionlint_clean() -> None:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}  # shellcheck for run: steps
    done = subprocess.run(
        [str(BIN / "actionlint"), "-no-color", *map(str, WORKFLOWS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_does_catch_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.nope.nope }}\n        shell: bashh\n"
    )
    done = subprocess.run(
        [str(BIN / "actionlint"), "-no-color", str(broken)], capture_output=True, text=True
    )
    assert done.returncode == 1 and "bashh" in done.stdout


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflows_match_the_workflow_schema_and_every_job_has_a_timeout(workflow: Path) -> None:
    for schema in ("vendor.github-workflows", "custom.github-workflows-require-timeout"):
        done = check_jsonschema("--builtin-schema", schema, str(workflow))
        assert done.returncode == 0, done.stdout


def test_ci_runs_the_readme_test_command() -> None:
    ci = yaml(ROOT / ".github" / "workflows" / "ci.yml")
    runs = [step["run"] for step in ci["jobs"]["test"]["steps"] if "run" in step]
    assert runs == ["make test"]  # the only command CI runs (the rest are setup actions)
    assert "workflow_call" in ci.get("on", ci.get(True))  # deploy.yml reuses it


def test_deploy_tests_then_staging_then_production_behind_its_environment() -> None:
    deploy = yaml(ROOT / ".github" / "workflows" / "deploy.yml")
    on = deploy.get("on", deploy.get(True))
    assert on["push"]["branches"] == ["main"]
    jobs = deploy["jobs"]
    assert jobs["test"]["uses"] == "./.github/workflows/ci.yml"
    assert jobs["staging"]["needs"] == "test" and jobs["production"]["needs"] == "staging"
    for name in ("staging", "production"):
        assert jobs[name]["uses"] == "./.github/workflows/release.yml"
        assert jobs[name]["with"]["environment"] == name
        assert jobs[name]["permissions"]["id-token"] == "write"


def test_release_job_uses_workload_identity_and_runs_every_phase_after_test_in_order() -> None:
    release = yaml(ROOT / ".github" / "workflows" / "release.yml")
    job = release["jobs"]["release"]
    assert job["environment"]["name"] == "${{ inputs.environment }}"
    steps = job["steps"]
    auth = next(
        step
        for step in steps
        if str(step.get("uses", "")).startswith("google-github-actions/auth@")
    )
    assert set(auth["with"]) == {"workload_identity_provider", "service_account"}  # no keys
    assert "credentials_json" not in json.dumps(release)
    assert phases_called([step.get("run", "") for step in steps]) == list(PHASES[1:])


def test_rollback_workflow_is_manual_and_checks_afterwards() -> None:
    rollback = yaml(ROOT / ".github" / "workflows" / "rollback.yml")
    on = rollback.get("on", rollback.get(True))
    assert set(on) == {"workflow_dispatch"}
    assert on["workflow_dispatch"]["inputs"]["environment"]["options"] == ["staging", "production"]
    runs = [step.get("run", "") for step in rollback["jobs"]["rollback"]["steps"]]
    assert phases_called(runs) == ["rollback", "post-deploy"]


# ------------------------------------------------------------------ Cloud Build


def test_cloudbuild_matches_cloud_builds_schema() -> None:
    done = check_jsonschema("--builtin-schema", "vendor.cloudbuild", str(ROOT / "cloudbuild.yaml"))
    assert done.returncode == 0, done.stdout


def test_cloudbuild_schema_check_does_catch_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "cloudbuild.yaml"
    broken.write_text("steps:\n  - id: x\n    args: [a]\ntimeout: 12\n")
    done = check_jsonschema("--builtin-schema", "vendor.cloudbuild", str(broken))
    assert done.returncode == 1 and "timeout" in done.stdout


def test_cloudbuild_runs_every_phase_in_order_with_the_substitutions() -> None:
    build = yaml(ROOT / "cloudbuild.yaml")
    assert {"_ENVIRONMENT", "_REGION"} <= set(build["substitutions"])
    assert build["substitutions"]["_REGION"] == CONFIG.environment("staging").region
    steps = build["steps"]
    assert [step["id"] for step in steps] == list(PHASES)
    lines = []
    for step in steps:
        text = " ".join(step["args"])
        if step.get("entrypoint") == "python3":
            text = "python3 " + text
        assert "--env=$_ENVIRONMENT" in text and "--project=$PROJECT_ID" in text
        assert "--region=$_REGION" in text
        lines.append(text)
    assert phases_called(lines) == list(PHASES)
    rollout = next(step for step in steps if step["id"] == "rollout")
    assert rollout["secretEnv"] == ["PMI_ROLLOUT_PASSWORD"]


# ------------------------------------------------------------------ firebase.json


def firebase_schema() -> Path:
    """schema/firebase-config.json of the pinned firebase-tools, cached under build/."""
    version = CONFIG.pipeline.firebase_tools
    cache = ROOT / "build" / "cache" / f"firebase-tools-{version}"
    schema = cache / "firebase-config.json"
    if schema.exists():
        return schema
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: cannot fetch firebase-tools' schema")
    cache.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "pack", f"firebase-tools@{version}", "--pack-destination", str(cache), "--silent"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    tarball = cache / done.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("package/schema/firebase-config.json")
        assert member is not None
        schema.write_bytes(member.read())
    tarball.unlink()
    return schema


def test_firebase_json_matches_firebase_tools_schema() -> None:
    done = check_jsonschema("--schemafile", str(firebase_schema()), str(ROOT / "firebase.json"))
    assert done.returncode == 0, done.stdout


def test_firebase_schema_check_does_catch_a_broken_rewrite(tmp_path: Path) -> None:
    config = json.loads((ROOT / "firebase.json").read_text())
    config["hosting"]["rewrites"][0]["function"] = {"functionId": 7}
    broken = tmp_path / "firebase.json"
    broken.write_text(json.dumps(config))
    done = check_jsonschema("--schemafile", str(firebase_schema()), str(broken))
    assert done.returncode == 1 and "functionId" in done.stdout


def test_one_firebase_tools_version_everywhere() -> None:
    """If a package.json pins firebase-tools too, it is the version the pipeline uses."""
    package = ROOT / "package.json"
    if package.exists():
        manifest = json.loads(package.read_text())
        pinned = {**manifest.get("dependencies", {}), **manifest.get("devDependencies", {})}.get(
            "firebase-tools"
        )
        if pinned:
            assert pinned.lstrip("=") == CONFIG.pipeline.firebase_tools
    assert re.fullmatch(r"\d+\.\d+\.\d+", CONFIG.pipeline.firebase_tools)


# ------------------------------------------------------------------ firestore.rules


# Rules are compiled under a project of their own: loading rules into the session's project
# would reset the emulator's coverage report, which tests/test_zz_rules_coverage.py reads.
RULES_CHECK_PROJECT = "demo-pmi-rules-check"


def load_rules(emulator: Any, text: str) -> tuple[int, str]:
    body = json.dumps({"rules": {"files": [{"name": "firestore.rules", "content": text}]}})
    request = urllib.request.Request(
        f"{emulator.base_url}/emulator/v1/projects/{RULES_CHECK_PROJECT}:securityRules",
        data=body.encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_rules_with_a_syntax_error_do_not_compile_and_ours_do(emulator: Any) -> None:
    rules = (ROOT / "firestore.rules").read_text()
    broken = rules.replace("allow read: if", "allow read: iff", 1)
    assert broken != rules
    status, answer = load_rules(emulator, broken)
    assert status == 400 and "Error compiling rules" in answer
    status, answer = load_rules(emulator, rules)
    assert status == 200, answer
