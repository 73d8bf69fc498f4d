"""Run one phase of the release pipeline (Cloud Build and GitHub Actions call this).

    python3 scripts/deploy.py --env staging --phase indexes
    python3 scripts/deploy.py --env production --phase rollout --version "$SHORT_SHA"
    python3 scripts/deploy.py --env production --phase rollback     # back to 'previous'

Phases, in order: test, bundles, indexes, indexes-ready, migrations, functions, smoke,
rollout, rules-hosting, post-deploy (scripts/release/plan.py says why in that order); `make
deploy-plan ENV=...` prints every command they run. ``--project`` and ``--region`` take
Cloud Build's substitutions; the region must be the one firebase.json's rewrites name.
The rollout reads error rates from /api/monitoring/stats/performance with a monitoring:read
access token: ``PMI_ROLLOUT_TOKEN``, or one it signs in for with ``PMI_ROLLOUT_EMAIL`` and
``PMI_ROLLOUT_PASSWORD`` (a viewer account); without them it uses readiness and probes.
Exit status: 0 done, 1 a check failed (traffic was rolled back), 2 bad usage or state.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from release import config as release_config  # noqa: E402
from release import rollout  # noqa: E402
from release.plan import PHASES, Context, PostDeployFailed, real_sleep, run_phase  # noqa: E402
from release.signals import UrllibHttp, sign_in  # noqa: E402
from release.traffic import CommandFailed, GcloudCloudRun, SubprocessRunner  # noqa: E402


def default_version() -> str:
    for variable in ("PMI_RELEASE_VERSION", "SHORT_SHA", "GITHUB_SHA"):
        if os.environ.get(variable):
            return os.environ[variable][:12]
    done = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def rollout_token(site_url: str) -> str | None:
    if os.environ.get("PMI_ROLLOUT_TOKEN"):
        return os.environ["PMI_ROLLOUT_TOKEN"]
    email, password = os.environ.get("PMI_ROLLOUT_EMAIL"), os.environ.get("PMI_ROLLOUT_PASSWORD")
    if not (email and password):
        return None
    try:
        return sign_in(site_url, email, password)
    except (OSError, ValueError, KeyError) as error:
        log(f"note: the rollout account could not sign in ({error}); readiness only")
        return None


def log(message: str) -> None:
    print(f"==> {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, choices=release_config.ENVIRONMENTS)
    parser.add_argument("--phase", required=True, choices=[*PHASES, "rollback"])
    parser.add_argument("--project", help="override the environment's project")
    parser.add_argument("--region", help="must equal the region firebase.json routes to")
    parser.add_argument("--version", default=None, help="PMI_VERSION (default: the commit)")
    args = parser.parse_args(argv)
    try:
        config = release_config.load()
        environment = config.environment(args.env)
    except release_config.ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    if args.region and args.region != environment.region:
        print(
            f"--region {args.region}: firebase.json routes {args.env} traffic to "
            f"{environment.region}; change both together",
            file=sys.stderr,
        )
        return 2
    if args.project:
        environment = dataclasses.replace(environment, project=args.project)
    version = args.version or default_version()
    runner = SubprocessRunner()
    ctx = Context(
        config,
        environment,
        version,
        runner=runner,
        cloud=GcloudCloudRun(runner, config, environment, version),
        http=UrllibHttp(),
        sleep=real_sleep,
        log=log,
        rollout_token=rollout_token(environment.site_url) if args.phase == "rollout" else None,
    )
    log(f"{args.phase} · {args.env} · project {environment.project} · version {version}")
    try:
        if args.phase == "rollback":
            rollout.roll_back_to_previous(ctx.cloud, config.functions, log)
        else:
            run_phase(args.phase, ctx)
    except (rollout.RolloutFailed, PostDeployFailed) as failure:
        print(f"FAILED, traffic rolled back: {failure}", file=sys.stderr)
        return 1
    except (rollout.RolloutError, CommandFailed, TimeoutError) as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 2
    log(f"{args.phase} done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
