"""The command lines the pipeline runs, built from the config and nothing else.

Everything that talks to Google Cloud goes through these builders, so the plan that
``make deploy-plan`` prints, the commands the pipeline executes and the ones the tests
check are the same lists of arguments.

Checked against the Google Cloud CLI (528) reference:
- ``gcloud functions deploy --gen2`` has no ``--no-traffic`` flag (only
  ``--serve-all-traffic-latest-revision``, which does the opposite). Without that flag a
  deploy keeps the underlying Cloud Run service's traffic configuration, so pinning the
  traffic to the serving revision first (``update-traffic --to-revisions REV=100``) makes
  the new revision start with no traffic.
- ``gcloud run services update-traffic`` splits traffic (``--to-revisions``), and tags
  revisions (``--update-tags`` / ``--remove-tags``; removal is applied first). A tag gives a
  revision its own URL, ``https://TAG---SERVICE-HASH-REGION.a.run.app``.
"""

from __future__ import annotations

from .config import BUILDER_ACCOUNT, Environment, FunctionSpec, ReleaseConfig

Argv = list[str]


def _gcloud(*args: str, project: str) -> Argv:
    return ["gcloud", *args, f"--project={project}", "--quiet"]


def env_vars(
    config: ReleaseConfig, environment: Environment, spec: FunctionSpec, version: str
) -> str:
    """``--set-env-vars`` value; ``^;^`` switches gcloud's list delimiter to ';' because the
    CORS origins contain commas (see `gcloud topic escaping`)."""
    values = {
        "PMI_ENVIRONMENT": "production",  # staging runs the production code paths too
        "PMI_PROJECT_ID": environment.project,
        "PMI_VERSION": version,
        "PMI_REGION": environment.region,  # reported by /api/monitoring/metrics
        "PMI_CORS_ORIGINS": ",".join(environment.cors_origins),
        "THREADS": str(spec.concurrency),  # gunicorn threads = the instance's concurrency
        # Google's front end appends the address it saw, on every path (docs/operations.md,
        # "Client IP"); through Hosting, the CDN's ranges let us step past its edge.
        "PMI_TRUSTED_PROXY_HOPS": "1",
    }
    if environment.trusted_proxy_networks:
        values["PMI_TRUSTED_PROXY_NETWORKS"] = ",".join(environment.trusted_proxy_networks)
    return "^;^" + ";".join(f"{key}={value}" for key, value in values.items())


def deploy_function(
    config: ReleaseConfig, environment: Environment, spec: FunctionSpec, version: str
) -> Argv:
    project = environment.project
    return _gcloud(
        "functions",
        "deploy",
        spec.name,
        "--gen2",
        f"--region={environment.region}",
        f"--runtime={config.pipeline.runtime}",
        f"--source={spec.source}",
        f"--entry-point={spec.entry_point}",
        "--trigger-http",
        # Hosting's rewrites call the function as a public endpoint; every route does its
        # own authentication (shared/http.py).
        "--allow-unauthenticated",
        f"--run-service-account={spec.service_account(project)}",
        f"--build-service-account=projects/{project}/serviceAccounts/"
        f"{BUILDER_ACCOUNT}@{project}.iam.gserviceaccount.com",
        f"--set-secrets={config.secret_env}={config.secret_ref(environment)}",
        f"--set-env-vars={env_vars(config, environment, spec, version)}",
        f"--memory={spec.memory}",
        f"--cpu={spec.cpu}",
        f"--concurrency={spec.concurrency}",
        f"--timeout={spec.timeout}",
        f"--min-instances={spec.min_instances[environment.name]}",
        f"--max-instances={spec.max_instances[environment.name]}",
        "--ingress-settings=all",
        project=project,
    )


def describe_service(environment: Environment, name: str) -> Argv:
    """The Cloud Run service behind function ``name`` (same name), as JSON."""
    return _gcloud(
        "run",
        "services",
        "describe",
        name,
        f"--region={environment.region}",
        "--format=json",
        project=environment.project,
    )


def update_traffic(
    environment: Environment,
    name: str,
    *,
    to_revisions: dict[str, int] | None = None,
    update_tags: dict[str, str] | None = None,
    remove_tags: list[str] | None = None,
) -> Argv:
    args = ["run", "services", "update-traffic", name, f"--region={environment.region}"]
    if remove_tags:
        args.append("--remove-tags=" + ",".join(remove_tags))
    if update_tags:
        args.append("--update-tags=" + ",".join(f"{t}={r}" for t, r in update_tags.items()))
    if to_revisions:
        args.append("--to-revisions=" + ",".join(f"{r}={p}" for r, p in to_revisions.items()))
    return _gcloud(*args, project=environment.project)


def list_indexes(environment: Environment) -> Argv:
    return _gcloud(
        "firestore",
        "indexes",
        "composite",
        "list",
        "--database=(default)",
        "--format=json",
        project=environment.project,
    )


def firebase(config: ReleaseConfig, environment: Environment, only: str, version: str) -> Argv:
    """firebase-tools at the pinned version (npx fetches it once per machine)."""
    return [
        "npx",
        "--yes",
        f"firebase-tools@{config.pipeline.firebase_tools}",
        "deploy",
        f"--only={only}",
        f"--project={environment.project}",
        f"--message=release {version}",
        "--non-interactive",
    ]


def migrate(environment: Environment, *, apply: bool) -> Argv:
    """The migration runner (scripts/migrate.py, also `make migrate [APPLY=1]`)."""
    argv = [".venv/bin/python", "scripts/migrate.py", f"--project={environment.project}"]
    return [*argv, "--apply"] if apply else argv
