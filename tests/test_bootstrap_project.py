"""scripts/bootstrap_project.sh: complete, least-privilege, and safe to run twice.

Google's IAM cannot run here, so a stand-in ``gcloud`` on PATH keeps the project's state
in a JSON file: ``describe`` succeeds only for what ``create`` made, ``create`` of
something that exists fails (as the real one does), bindings are recorded. The script's
own logic — look up, create what is missing, bind — is what runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bootstrap_project.sh"
sys.path.insert(0, str(ROOT / "scripts"))

from release import config as release_config  # noqa: E402

FAKE_GCLOUD = r"""#!/usr/bin/env bash
# Stand-in gcloud: state in files under $FAKE_GCLOUD_STATE (bash keeps it fast).
state="$FAKE_GCLOUD_STATE"
mkdir -p "$state"
touch "$state/resources" "$state/bindings" "$state/versions"
printf '%s\n' "$*" >>"$state/calls"
args=("$@")
flag() {
  local a
  for a in "${args[@]}"; do [[ $a == --$1=* ]] && { echo "${a#--"$1"=}"; return; }; done
}
key() { # words before the verb, then the resource name (an e-mail counts by its local part)
  local verb=$1 a seen=0 name="" prefix=()
  for a in "${args[@]}"; do
    if [[ $seen -eq 0 ]]; then
      if [[ $a == "$verb" ]]; then seen=1; else prefix+=("$a"); fi
    elif [[ $a != --* ]]; then name=$a; break; fi
  done
  [[ -n $name ]] || name=$(flag database)
  echo "${prefix[*]} ${name%%@*}"
}
if [[ $1 == projects && $2 == describe ]]; then echo 123456789; exit 0; fi
if [[ $1 == secrets && $2 == versions && $3 == add ]]; then
  cat >/dev/null
  echo "$4" >>"$state/versions"
  exit 0
fi
for i in "${!args[@]}"; do
  if [[ ${args[$i]} == add-iam-policy-binding ]]; then
    line="${args[*]:0:$i} ${args[$((i + 1))]}	$(flag member)	$(flag role)"
    grep -qxF "$line" "$state/bindings" || printf '%s\n' "$line" >>"$state/bindings"
    exit 0
  fi
done
for verb in describe create create-oidc; do
  for a in "${args[@]}"; do
    [[ $a == "$verb" ]] || continue
    k=$(key "$verb")
    if [[ $verb == describe ]]; then
      grep -qxF "$k" "$state/resources" && exit 0
      echo "ERROR: NOT_FOUND $k" >&2; exit 1
    fi
    if grep -qxF "$k" "$state/resources"; then echo "ERROR: ALREADY_EXISTS $k" >&2; exit 1; fi
    printf '%s\n' "$k" >>"$state/resources"; exit 0
  done
done
exit 0
"""


@pytest.fixture
def fake_gcloud(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gcloud = bin_dir / "gcloud"
    gcloud.write_text(FAKE_GCLOUD)
    gcloud.chmod(0o755)
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_GCLOUD_STATE": str(tmp_path / "state"),
    }


def bootstrap(env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), "--env", "production", "--github-repo", "acme/pmi", *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass
class State:
    resources: list[str]
    bindings: list[tuple[str, str, str]]
    versions: dict[str, int]
    calls: list[list[str]]


def state(env: dict[str, str]) -> State:
    folder = Path(env["FAKE_GCLOUD_STATE"])

    def lines(name: str) -> list[str]:
        return (folder / name).read_text().splitlines()

    bindings = [tuple(line.split("\t")) for line in lines("bindings")]
    return State(
        resources=lines("resources"),
        bindings=bindings,  # type: ignore[arg-type]
        versions=dict(Counter(lines("versions"))),
        calls=[line.split(" ") for line in lines("calls")],
    )


def test_the_script_is_valid_bash_and_shellcheck_clean() -> None:
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)
    shellcheck = ROOT / ".venv" / "bin" / "shellcheck"
    done = subprocess.run([str(shellcheck), str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_first_run_creates_every_account_secret_and_the_identity_pool(
    fake_gcloud: dict[str, str],
) -> None:
    done = bootstrap(fake_gcloud)
    assert done.returncode == 0, done.stderr
    made = state(fake_gcloud).resources
    for name in release_config.repository_functions():
        assert f"iam service-accounts pmi-{name}" in made
    for expected in (
        "iam service-accounts pmi-deployer",
        "iam service-accounts pmi-builder",
        "secrets pmi-jwt-signing-key",
        "secrets pmi-rollout-password",
        "iam workload-identity-pools github",
        "iam workload-identity-pools providers github",
        "firestore databases (default)",
    ):
        assert expected in made
    assert state(fake_gcloud).versions == {"pmi-jwt-signing-key": 1, "pmi-rollout-password": 1}
    assert "WIF_PROVIDER=projects/123456789/locations/global/workloadIdentityPools/github" in (
        done.stdout
    )
    provider = next(" ".join(c) for c in state(fake_gcloud).calls if "create-oidc" in c)
    assert "--attribute-condition=assertion.repository == 'acme/pmi'" in provider


def test_second_run_creates_nothing_and_changes_no_binding(fake_gcloud: dict[str, str]) -> None:
    assert bootstrap(fake_gcloud).returncode == 0
    first = state(fake_gcloud)
    calls_before = len(first.calls)
    done = bootstrap(fake_gcloud)
    assert done.returncode == 0, done.stderr
    second = state(fake_gcloud)
    rerun = second.calls[calls_before:]
    assert not [c for c in rerun if "create" in c or "create-oidc" in c]
    assert second.versions == first.versions  # the signing key is not replaced
    assert second.bindings == first.bindings
    assert "service account pmi-auth@pmi-production.iam.gserviceaccount.com exists" in done.stdout


def test_each_function_account_gets_exactly_its_configured_roles(
    fake_gcloud: dict[str, str],
) -> None:
    assert bootstrap(fake_gcloud).returncode == 0
    config = release_config.load()
    project = config.environment("production").project
    accounts = {spec.service_account(project): spec for spec in config.functions}
    granted: dict[str, set[tuple[str, str]]] = {account: set() for account in accounts}
    for resource, member, role in state(fake_gcloud).bindings:
        account = member.removeprefix("serviceAccount:")
        if account in granted:
            granted[account].add((resource, role))
    for account, spec in accounts.items():
        expected = set()
        for binding in spec.roles:
            resource = {
                "project": f"projects {project}",
                "secret": "secrets pmi-jwt-signing-key",
                "self": f"iam service-accounts {account}",
            }[binding.scope]
            expected.add((resource, binding.role))
        assert granted[account] == expected, spec.name
    auth = config.function("auth").service_account(project)
    assert (f"iam service-accounts {auth}", "roles/iam.serviceAccountTokenCreator") in granted[auth]
    vehicles = config.function("vehicles").service_account(project)
    assert all("TokenCreator" not in role for _, role in granted[vehicles])
    # Ending mobile-SDK sessions revokes Firebase refresh tokens (shared/auth/sdk_revocation.py):
    # the auth function's account, and no other, administers Firebase Authentication users.
    assert (f"projects {project}", "roles/firebaseauth.admin") in granted[auth]
    others = [account for account in accounts if account != auth]
    assert all("firebaseauth" not in role for a in others for _, role in granted[a])


def test_dry_run_prints_the_whole_setup_without_calling_gcloud(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gcloud").write_text("#!/bin/sh\necho 'gcloud was called' >&2\nexit 99\n")
    (bin_dir / "gcloud").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    done = bootstrap(env, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "gcloud was called" not in done.stderr
    lines = done.stdout.splitlines()
    assert sum(line.startswith("+ gcloud iam service-accounts create") for line in lines) == 6
    assert any("roles/iam.workloadIdentityUser" in line for line in lines)
    assert any("attribute.environment/production" in line for line in lines)


def test_missing_arguments_are_refused_with_usage() -> None:
    done = subprocess.run(
        ["bash", str(SCRIPT), "--env", "production"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2 and "--github-repo OWNER/REPO is required" in done.stderr
