"""deploy/config.toml, read once and checked against the repository.

The config names the functions, and the repository names them twice more: a folder with a
``main.py`` under ``functions/`` and a rewrite in ``firebase.json``. ``load`` refuses a
config that disagrees with either, so a function cannot be deployed without a route, or
routed without being deployed, or deployed to a region Hosting does not send traffic to.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import lockfile

ROOT = Path(__file__).resolve().parent.parent.parent
CONFIG_PATH = ROOT / "deploy" / "config.toml"
BUNDLE_DIR = "build/functions"
ENVIRONMENTS = ("staging", "production")
SERVICE_ACCOUNT_PREFIX = "pmi-"
DEPLOYER_ACCOUNT = "pmi-deployer"
BUILDER_ACCOUNT = "pmi-builder"
# Roles are bound on the project unless prefixed: "secret:" binds on the signing-key secret,
# "self:" on the function's own service account.
ROLE_SCOPES = ("project", "secret", "self")


class ConfigError(ValueError):
    """deploy/config.toml is invalid or disagrees with the repository."""


@dataclass(frozen=True)
class RoleBinding:
    role: str
    scope: str  # one of ROLE_SCOPES


@dataclass(frozen=True)
class Environment:
    name: str
    project: str
    region: str
    secret_version: str
    site_url: str
    cors_origins: tuple[str, ...]
    observe_seconds: int
    # Hosting's CDN egress ranges (PMI_TRUSTED_PROXY_NETWORKS, docs/operations.md "Client IP").
    trusted_proxy_networks: tuple[str, ...] = ()


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    memory: str
    cpu: str
    concurrency: int
    timeout: str
    min_instances: dict[str, int]
    max_instances: dict[str, int]
    health_path: str
    roles: tuple[RoleBinding, ...]

    @property
    def entry_point(self) -> str:
        return self.name  # functions/<name>/main.py defines the entry point <name>

    @property
    def source(self) -> str:
        return f"{BUNDLE_DIR}/{self.name}"

    def service_account(self, project: str) -> str:
        return f"{SERVICE_ACCOUNT_PREFIX}{self.name}@{project}.iam.gserviceaccount.com"


@dataclass(frozen=True)
class Pipeline:
    runtime: str
    firebase_tools: str
    rollout_steps: tuple[int, ...]
    max_error_rate: float
    min_requests_for_error_rate: int
    probes_per_check: int


@dataclass(frozen=True)
class ReleaseConfig:
    pipeline: Pipeline
    secret_name: str
    secret_env: str
    environments: dict[str, Environment]
    functions: tuple[FunctionSpec, ...]

    def environment(self, name: str) -> Environment:
        if name not in self.environments:
            raise ConfigError(
                f"unknown environment {name!r}; choose from {sorted(self.environments)}"
            )
        return self.environments[name]

    def function(self, name: str) -> FunctionSpec:
        for spec in self.functions:
            if spec.name == name:
                return spec
        raise ConfigError(f"unknown function {name!r}")

    def secret_ref(self, environment: Environment) -> str:
        return f"{self.secret_name}:{environment.secret_version}"


def firebase_rewrites(root: Path = ROOT) -> dict[str, set[str]]:
    """Function id → regions that firebase.json's Hosting rewrites send traffic to."""
    hosting = json.loads((root / "firebase.json").read_text())["hosting"]
    routes: dict[str, set[str]] = {}
    for rewrite in hosting.get("rewrites", []):
        target = rewrite.get("function")
        if isinstance(target, dict):
            routes.setdefault(target["functionId"], set()).add(target.get("region", "us-central1"))
        elif isinstance(target, str):
            routes.setdefault(target, set()).add("us-central1")
    return routes


def repository_functions(root: Path = ROOT) -> list[str]:
    """Every deployable function: a folder of functions/ with a main.py."""
    return lockfile.function_names(root)


def load(path: Path = CONFIG_PATH, root: Path = ROOT) -> ReleaseConfig:
    """Read and check the config; every problem is reported at once."""
    data = tomllib.loads(path.read_text())
    problems: list[str] = []
    pipeline = _pipeline(data.get("pipeline", {}), problems)
    environments = {
        name: _environment(name, body, problems)
        for name, body in data.get("environments", {}).items()
    }
    if set(environments) != set(ENVIRONMENTS):
        problems.append(f"environments must be exactly {list(ENVIRONMENTS)}")
    functions = tuple(
        _function(name, body, environments, problems)
        for name, body in data.get("functions", {}).items()
    )
    secret = data.get("secret", {})
    for key in ("name", "env"):
        if not secret.get(key):
            problems.append(f"[secret] needs {key}")

    configured = sorted(spec.name for spec in functions)
    if configured != repository_functions(root):
        problems.append(
            f"deploy/config.toml deploys {configured} but functions/*/main.py defines "
            f"{repository_functions(root)}"
        )
    routes = firebase_rewrites(root)
    if sorted(routes) != configured:
        problems.append(f"firebase.json rewrites to {sorted(routes)}, config deploys {configured}")
    for environment in environments.values():
        for name, regions in routes.items():
            if regions != {environment.region}:
                problems.append(
                    f"firebase.json sends /api/{name} to {sorted(regions)}, but {environment.name} "
                    f"deploys to {environment.region}"
                )
    if problems:
        raise ConfigError("deploy/config.toml:\n  - " + "\n  - ".join(problems))
    return ReleaseConfig(pipeline, str(secret["name"]), str(secret["env"]), environments, functions)


def _pipeline(body: dict[str, Any], problems: list[str]) -> Pipeline:
    steps = tuple(int(step) for step in body.get("rollout_steps", []))
    if not steps or steps[-1] != 100 or list(steps) != sorted(set(steps)) or steps[0] <= 0:
        problems.append("rollout_steps must rise strictly and end at 100, e.g. [10, 50, 100]")
    rate = float(body.get("max_error_rate", -1))
    if not 0 <= rate < 1:
        problems.append("max_error_rate must be a share between 0 and 1")
    return Pipeline(
        runtime=str(body.get("runtime", "")),
        firebase_tools=str(body.get("firebase_tools", "")),
        rollout_steps=steps,
        max_error_rate=rate,
        min_requests_for_error_rate=int(body.get("min_requests_for_error_rate", 0)),
        probes_per_check=int(body.get("probes_per_check", 1)),
    )


def _environment(name: str, body: dict[str, Any], problems: list[str]) -> Environment:
    version = str(body.get("secret_version", ""))
    if not version.isdigit():
        problems.append(f"{name}: secret_version must be a pinned version number, not {version!r}")
    if not re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", str(body.get("project", ""))):
        problems.append(f"{name}: project must be a Google Cloud project id")
    site = str(body.get("site_url", ""))
    if not site.startswith("https://"):
        problems.append(f"{name}: site_url must be an https URL")
    return Environment(
        name=name,
        project=str(body.get("project", "")),
        region=str(body.get("region", "")),
        secret_version=version,
        site_url=site.rstrip("/"),
        cors_origins=tuple(body.get("cors_origins", ())),
        observe_seconds=int(body.get("observe_seconds", 0)),
        trusted_proxy_networks=tuple(body.get("trusted_proxy_networks", ())),
    )


def _function(
    name: str, body: dict[str, Any], environments: dict[str, Environment], problems: list[str]
) -> FunctionSpec:
    roles = []
    for entry in body.get("roles", []):
        scope, _, role = entry.rpartition(":") if ":" in entry else ("project", "", entry)
        if scope not in ROLE_SCOPES or not role.startswith("roles/"):
            problems.append(f"{name}: role {entry!r} must be roles/... with an optional scope")
        roles.append(RoleBinding(role, scope))
    minimum = {key: int(value) for key, value in body.get("min_instances", {}).items()}
    maximum = {key: int(value) for key, value in body.get("max_instances", {}).items()}
    for environment in environments:
        if environment not in minimum or environment not in maximum:
            problems.append(f"{name}: min_instances and max_instances need {environment}")
        elif not 0 <= minimum[environment] <= maximum[environment]:
            problems.append(f"{name}: {environment} needs 0 <= min_instances <= max_instances")
    concurrency = int(body.get("concurrency", 1))
    if concurrency > 1 and float(body.get("cpu", 0)) < 1:
        problems.append(f"{name}: concurrency above 1 needs cpu >= 1")
    return FunctionSpec(
        name=name,
        memory=str(body.get("memory", "")),
        cpu=str(body.get("cpu", "")),
        concurrency=concurrency,
        timeout=str(body.get("timeout", "60s")),
        min_instances=minimum,
        max_instances=maximum,
        health_path=str(body.get("health_path", "/health")),
        roles=tuple(roles),
    )
