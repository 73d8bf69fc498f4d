"""The pipeline's phases, in order, and the one function that runs each.

Cloud Build and GitHub Actions both call ``scripts/deploy.py --phase NAME`` for every phase
in ``PHASES`` order; ``make deploy-plan`` runs the very same phase functions against
simulated Cloud Run, HTTP and shell backends that record what they were asked to do, so
the printed plan is the code path, not a description of it.

Order, and why:

1. ``test``          ruff, mypy, the whole suite against the Firestore emulator
2. ``bundles``       the lock agrees with its inputs; build/functions/<name>/ from it
3. ``indexes``       composite indexes first (firebase-tools) ...
4. ``indexes-ready`` ... and wait until they are built (gcloud): the migrations and the
                     new code query them (production Firestore refuses a query without its
                     index, the emulator never does)
5. ``migrations``    dry run, then apply (scripts/migrate.py): data in the shape the new
                     code expects before it serves. Migrations only add (backfill fields,
                     derived values) so the old revisions keep working during the rollout
                     and after a rollback
6. ``functions``     pin traffic, deploy every function with no traffic, tag ``candidate``
7. ``smoke``         each new revision answers by its tagged URL before any user sees it
8. ``rollout``       10 → 50 → 100 % with a health and error-rate check between steps;
                     automatic rollback to the previous revisions when one fails
9. ``rules-hosting`` firestore.rules and Hosting last: the dashboard and the mobile SDK's
                     rules may rely on the new API, never the other way round
10. ``post-deploy``   through the public site: the page, readiness and every rewrite;
                     a failure rolls every function back to ``previous``
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import commands, rollout
from .commands import Argv
from .config import Environment, FunctionSpec, ReleaseConfig
from .signals import READY_PATH, Http, HttpResult, MonitoringSignal, Thresholds
from .traffic import CloudRun, Runner, SimulatedCloudRun

PHASES = (
    "test",
    "bundles",
    "indexes",
    "indexes-ready",
    "migrations",
    "functions",
    "smoke",
    "rollout",
    "rules-hosting",
    "post-deploy",
)
INDEX_POLL_SECONDS = 30
INDEX_TIMEOUT_SECONDS = 3600
Entry = Argv | str  # a command, or a note about a check or a wait


@dataclass
class Context:
    config: ReleaseConfig
    environment: Environment
    version: str
    runner: Runner
    cloud: CloudRun
    http: Http
    sleep: Callable[[float], None]
    log: Callable[[str], None]
    rollout_token: str | None = None

    @property
    def specs(self) -> tuple[FunctionSpec, ...]:
        return self.config.functions

    def signal(self) -> MonitoringSignal:
        pipeline = self.config.pipeline
        return MonitoringSignal(
            http=self.http,
            site_url=self.environment.site_url,
            health_paths={spec.name: spec.health_path for spec in self.specs},
            thresholds=Thresholds(
                pipeline.max_error_rate,
                pipeline.min_requests_for_error_rate,
                pipeline.probes_per_check,
            ),
            token=self.rollout_token,
        )


class PostDeployFailed(RuntimeError):
    pass


def run_phase(name: str, ctx: Context) -> None:
    if name not in PHASES:
        raise ValueError(f"unknown phase {name!r}; phases: {', '.join(PHASES)}")
    PHASE_FUNCTIONS[name](ctx)


def _test(ctx: Context) -> None:
    ctx.runner.run(["make", "test"])


def _bundles(ctx: Context) -> None:
    ctx.runner.run(["python3", "scripts/lock.py", "--check"])
    ctx.runner.run(["python3", "scripts/build_bundles.py"])


def _indexes(ctx: Context) -> None:
    ctx.runner.run(commands.firebase(ctx.config, ctx.environment, "firestore:indexes", ctx.version))


def _indexes_ready(ctx: Context) -> None:
    waited = 0.0
    while True:
        indexes = json.loads(ctx.runner.run(commands.list_indexes(ctx.environment)) or "[]")
        building = [index.get("name", "?") for index in indexes if index.get("state") != "READY"]
        if not building:
            ctx.log(f"{len(indexes)} composite indexes ready")
            return
        if waited >= INDEX_TIMEOUT_SECONDS:
            raise TimeoutError(f"indexes still building after {waited:.0f} s: {building}")
        ctx.log(f"{len(building)} indexes still building; checking again in {INDEX_POLL_SECONDS} s")
        ctx.sleep(INDEX_POLL_SECONDS)
        waited += INDEX_POLL_SECONDS


def _migrations(ctx: Context) -> None:
    ctx.runner.run(commands.migrate(ctx.environment, apply=False))
    ctx.runner.run(commands.migrate(ctx.environment, apply=True))


def _functions(ctx: Context) -> None:
    rollout.prepare(ctx.cloud, ctx.specs, ctx.log)


def _smoke(ctx: Context) -> None:
    rollout.smoke(ctx.cloud, ctx.specs, ctx.http, ctx.log)


def _rollout(ctx: Context) -> None:
    signal = ctx.signal()
    try:
        rollout.advance(
            ctx.cloud,
            ctx.specs,
            signal,
            ctx.config.pipeline.rollout_steps,
            ctx.environment.observe_seconds,
            ctx.sleep,
            ctx.log,
        )
    finally:
        for note in signal.notes:
            ctx.log(f"note: {note}")


def _rules_hosting(ctx: Context) -> None:
    # hosting/vendor/ (the dashboard's libraries) is build output, copied from node_modules.
    ctx.runner.run(["npm", "ci", "--no-audit", "--no-fund"])
    ctx.runner.run(["node", "scripts/vendor_assets.mjs"])
    ctx.runner.run(
        commands.firebase(ctx.config, ctx.environment, "firestore:rules,hosting", ctx.version)
    )


def post_deploy_urls(ctx: Context) -> list[str]:
    site = ctx.environment.site_url
    urls = [f"{site}/", f"{site}{READY_PATH}"]
    # Through each rewrite: Hosting forwards the full path, the router accepts it.
    urls += [f"{site}/api/{spec.name}{spec.health_path}" for spec in ctx.specs]
    return list(dict.fromkeys(urls))


def _post_deploy(ctx: Context) -> None:
    failures = []
    for url in post_deploy_urls(ctx):
        status = ctx.http.get(url).status
        ctx.log(f"GET {url} → {status}")
        if status != 200:
            failures.append(f"{url} answered {status or 'nothing'}")
    if failures:
        ctx.log("post-deploy checks failed: rolling every function back to 'previous'")
        rollout.roll_back_to_previous(ctx.cloud, ctx.specs, ctx.log)
        raise PostDeployFailed("; ".join(failures))


PHASE_FUNCTIONS: Mapping[str, Callable[[Context], None]] = {
    "test": _test,
    "bundles": _bundles,
    "indexes": _indexes,
    "indexes-ready": _indexes_ready,
    "migrations": _migrations,
    "functions": _functions,
    "smoke": _smoke,
    "rollout": _rollout,
    "rules-hosting": _rules_hosting,
    "post-deploy": _post_deploy,
}


# ----------------------------------------------------------------- the printed plan


@dataclass
class _RecordingRunner:
    transcript: list[Entry]

    def run(self, argv: Argv) -> str:
        self.transcript.append(argv)
        return "[]" if argv[1:5] == ["firestore", "indexes", "composite", "list"] else ""


@dataclass
class _RecordingHttp:
    transcript: list[Entry]

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> HttpResult:
        auth = " (Authorization: Bearer $PMI_ROLLOUT_TOKEN)" if headers else ""
        self.transcript.append(f"GET {url}{auth}")
        return HttpResult(200, b'{"functions": {}}')


def _plan_cloud(config: ReleaseConfig, environment: Environment, version: str) -> SimulatedCloudRun:
    """Every function already serves one revision; each deploy makes ``<name-new>``."""
    return SimulatedCloudRun(
        config,
        environment,
        version,
        existing={spec.name: f"<{spec.name}-serving>" for spec in config.functions},
        revision_name=lambda name, number: f"<{name}-new>",
    )


def plan(config: ReleaseConfig, environment: Environment, version: str) -> dict[str, list[Entry]]:
    """Every phase with the commands and checks it runs when every check passes."""
    transcript: list[Entry] = []
    cloud = _plan_cloud(config, environment, version)
    cloud.commands = transcript  # type: ignore[assignment]  # commands and notes, in order
    ctx = Context(
        config,
        environment,
        version,
        runner=_RecordingRunner(transcript),
        cloud=cloud,
        http=_RecordingHttp(transcript),
        sleep=lambda seconds: transcript.append(f"wait {seconds:g} s"),
        log=lambda message: None,
        rollout_token="<token>",
    )
    phases: dict[str, list[Entry]] = {}
    for name in PHASES:
        start = len(transcript)
        run_phase(name, ctx)
        phases[name] = transcript[start:]
    return phases


def rollback_plan(config: ReleaseConfig, environment: Environment) -> list[Entry]:
    """What a failed check during the rollout runs (after the first step)."""
    transcript: list[Entry] = []
    cloud = _plan_cloud(config, environment, "<version>")
    rollout.prepare(cloud, config.functions, lambda message: None)
    current = rollout.releases(cloud, config.functions)
    cloud.commands = transcript  # type: ignore[assignment]
    rollout.roll_back(cloud, current, lambda message: None)
    return [entry for entry in transcript if "update-traffic" in entry]


def render(entries: list[Entry]) -> list[str]:
    return [entry if isinstance(entry, str) else shlex.join(entry) for entry in entries]


def real_sleep(seconds: float) -> None:
    time.sleep(seconds)
