"""`make deploy-plan`: every command the release runs, checked against the repository.

The plan is produced by the pipeline's own phase code against simulated backends, so these
tests check what the pipeline would run: every function with its entry point, bundle,
pinned secret, own service account and region; the phases in their order; and, where the
Google Cloud CLI is installed, that the real ``gcloud`` accepts every command's flags (it
parses them before it needs credentials, so a parse error is exit status 2).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from release import config as release_config  # noqa: E402
from release.plan import PHASES, plan, rollback_plan  # noqa: E402

CONFIG = release_config.load()
FUNCTIONS = release_config.repository_functions()


def flat(entries: Sequence[object]) -> list[list[str]]:
    return [entry for entry in entries if isinstance(entry, list)]


def flag(argv: list[str], name: str) -> str:
    values = [arg.split("=", 1)[1] for arg in argv if arg.startswith(f"--{name}=")]
    assert len(values) == 1, (name, argv)
    return values[0]


@pytest.fixture(params=release_config.ENVIRONMENTS)
def environment(request: pytest.FixtureRequest) -> release_config.Environment:
    return CONFIG.environment(request.param)


def test_config_deploys_exactly_the_functions_of_the_repository_and_of_firebase_json() -> None:
    assert len(FUNCTIONS) >= 4
    assert sorted(spec.name for spec in CONFIG.functions) == FUNCTIONS
    assert sorted(release_config.firebase_rewrites()) == FUNCTIONS


def test_firebase_rewrites_point_at_the_region_every_environment_deploys_to(
    environment: release_config.Environment,
) -> None:
    for name, regions in release_config.firebase_rewrites().items():
        assert regions == {environment.region}, name


def test_every_function_is_deployed_with_its_entry_point_bundle_secret_account_and_region(
    environment: release_config.Environment,
) -> None:
    phases = plan(CONFIG, environment, "abc123")
    deploys = {
        argv[3]: argv for argv in flat(phases["functions"]) if argv[1:3] == ["functions", "deploy"]
    }
    assert sorted(deploys) == FUNCTIONS
    accounts = set()
    for name, argv in deploys.items():
        spec = CONFIG.function(name)
        assert "--gen2" in argv and "--trigger-http" in argv
        assert flag(argv, "entry-point") == name
        assert flag(argv, "source") == f"build/functions/{name}"
        assert (ROOT / "functions" / name / "main.py").exists()
        assert flag(argv, "region") == environment.region
        assert flag(argv, "project") == environment.project
        assert flag(argv, "runtime") == "python311"
        secret = flag(argv, "set-secrets")
        assert re.fullmatch(r"PMI_JWT_SECRET=pmi-jwt-signing-key:\d+", secret), secret
        account = flag(argv, "run-service-account")
        assert account == f"pmi-{name}@{environment.project}.iam.gserviceaccount.com"
        accounts.add(account)
        env_vars = flag(argv, "set-env-vars")
        assert f";THREADS={spec.concurrency}" in env_vars
        assert ";PMI_TRUSTED_PROXY_HOPS=1" in env_vars
        assert flag(argv, "concurrency") == str(spec.concurrency)
        assert flag(argv, "min-instances") == str(spec.min_instances[environment.name])
        assert flag(argv, "max-instances") == str(spec.max_instances[environment.name])
        assert "PMI_VERSION=abc123" in env_vars
        assert f";PMI_REGION={environment.region};" in env_vars
    assert len(accounts) == len(FUNCTIONS)  # one least-privilege account per function


def test_each_new_revision_starts_with_no_traffic(environment: release_config.Environment) -> None:
    commands = flat(plan(CONFIG, environment, "v")["functions"])
    for name in FUNCTIONS:
        mine = [argv for argv in commands if name in argv[3:5]]
        deploy = next(i for i, argv in enumerate(mine) if argv[1:3] == ["functions", "deploy"])
        pins = [
            argv
            for argv in mine[:deploy]
            if "update-traffic" in argv and flag(argv, "to-revisions") == f"<{name}-serving>=100"
        ]
        assert pins, f"{name}: traffic is not pinned before the deploy"
        assert "--serve-all-traffic-latest-revision" not in mine[deploy]
        tag = mine[deploy + 2]
        assert flag(tag, "update-tags") == f"candidate=<{name}-new>"


def test_phases_run_indexes_then_migrations_then_functions_then_rules_and_hosting(
    environment: release_config.Environment,
) -> None:
    phases = plan(CONFIG, environment, "v")
    assert tuple(phases) == PHASES
    lines = [" ".join(argv) for name in PHASES for argv in flat(phases[name])]

    def first(pattern: str) -> int:
        return next(i for i, line in enumerate(lines) if re.search(pattern, line))

    order = [
        first(r"^make test$"),
        first(r"build_bundles\.py"),
        first(r"--only=firestore:indexes"),
        first(r"gcloud firestore indexes composite list"),
        first(r"scripts/migrate\.py --project=\S+$"),  # dry run first
        first(r"scripts/migrate\.py .*--apply"),
        first(r"gcloud functions deploy"),
        first(r"--to-revisions=<\w+-new>=10,"),
        first(r"--to-revisions=<\w+-new>=50,"),
        first(r"--to-revisions=<\w+-new>=100"),
        first(r"--only=firestore:rules,hosting"),
    ]
    assert order == sorted(order)
    assert any(line.startswith("npx --yes firebase-tools@15.") for line in lines)


def test_every_step_is_checked_through_monitoring_before_traffic_moves_on(
    environment: release_config.Environment,
) -> None:
    entries = plan(CONFIG, environment, "v")["rollout"]
    notes = [e for e in entries if isinstance(e, str)]
    assert notes.count(f"wait {environment.observe_seconds} s") == 3
    ready = f"GET {environment.site_url}/api/monitoring/health/ready"
    assert notes.count(ready) == 3
    assert sum("stats/performance" in note for note in notes) == 3
    assert (
        sum("candidate---auth-" in note for note in notes) == 3 * CONFIG.pipeline.probes_per_check
    )


def test_a_failed_check_sends_every_function_back_to_its_serving_revision(
    environment: release_config.Environment,
) -> None:
    commands = flat(rollback_plan(CONFIG, environment))
    assert len(commands) == len(FUNCTIONS)
    assert sorted(argv[4] for argv in commands) == FUNCTIONS
    for argv in commands:
        assert flag(argv, "to-revisions") == f"<{argv[4]}-serving>=100"


def test_make_deploy_plan_prints_the_plan_for_production() -> None:
    done = subprocess.run(
        ["make", "-s", "deploy-plan", "ENV=production"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for name in FUNCTIONS:
        assert f"gcloud functions deploy {name} --gen2" in done.stdout
    assert "--project=pmi-production" in done.stdout
    assert f"## {len(PHASES)}. post-deploy" in done.stdout


def test_a_config_that_forgets_a_function_is_refused(tmp_path: Path) -> None:
    text = (ROOT / "deploy" / "config.toml").read_text()
    broken = tmp_path / "config.toml"
    broken.write_text(text.replace("[functions.monitoring]", "[not_a_function]"))
    with pytest.raises(release_config.ConfigError, match=r"functions/\*/main\.py defines"):
        release_config.load(broken)


def test_a_floating_secret_version_is_refused(tmp_path: Path) -> None:
    text = (ROOT / "deploy" / "config.toml").read_text()
    broken = tmp_path / "config.toml"
    broken.write_text(text.replace('secret_version = "1"', 'secret_version = "latest"', 1))
    with pytest.raises(release_config.ConfigError, match="pinned version number"):
        release_config.load(broken)


def test_a_region_hosting_does_not_route_to_is_refused(tmp_path: Path) -> None:
    text = (ROOT / "deploy" / "config.toml").read_text()
    broken = tmp_path / "config.toml"
    broken.write_text(text.replace('region = "europe-west1"', 'region = "us-central1"', 1))
    with pytest.raises(release_config.ConfigError, match=r"firebase\.json sends /api/auth"):
        release_config.load(broken)


# ------------------------------------------------------------ the real gcloud CLI


def _concrete(argv: list[str]) -> list[str]:
    """Placeholders become names gcloud accepts syntactically."""
    return [re.sub(r"<(\w+)-(serving|new)>", r"\1-00001-abc", arg) for arg in argv]


def _shapes(environment: release_config.Environment) -> list[list[str]]:
    """One command per distinct shape (every deploy; one of each traffic/describe form)."""
    seen: dict[str, list[str]] = {}
    for entries in plan(CONFIG, environment, "v").values():
        for argv in flat(entries):
            if argv[0] != "gcloud":
                continue
            key = (
                " ".join(argv[:4])
                if "deploy" in argv
                else " ".join(re.sub(r"=.*", "", arg) for arg in argv if arg.startswith("--"))
            )
            seen.setdefault(key, _concrete(argv))
    return list(seen.values())


@pytest.mark.skipif(shutil.which("gcloud") is None, reason="the Google Cloud CLI is not installed")
def test_the_google_cloud_cli_accepts_every_command(tmp_path: Path) -> None:
    environment = CONFIG.environment("production")
    shapes = _shapes(environment)
    assert len([s for s in shapes if s[1:3] == ["functions", "deploy"]]) == len(FUNCTIONS)
    env = {
        **os.environ,
        "CLOUDSDK_CONFIG": str(tmp_path),  # no account: gcloud stops after parsing
        "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
    }
    (ROOT / "build" / "functions").mkdir(parents=True, exist_ok=True)

    def run(argv: list[str]) -> tuple[list[str], int, str]:
        done = subprocess.run(
            argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        return argv, done.returncode, done.stderr

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, shapes))
    for argv, code, stderr in results:
        assert code != 2 and "unrecognized arguments" not in stderr, (argv, stderr)
        assert "active account" in stderr or "credential" in stderr.lower(), (argv, stderr)
