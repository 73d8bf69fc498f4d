"""Print every command the release pipeline runs for one environment (`make deploy-plan`).

    python3 scripts/deploy_plan.py --env staging
    python3 scripts/deploy_plan.py --env production --version 3f2c1ab

The plan is the pipeline's own code (scripts/release/plan.py) run against simulated
Cloud Run, HTTP and shell backends that record what they are asked; names in angle
brackets (``<auth-new>``) are revision names known only at run time. The happy path is
printed in full, then what a failed check runs. Standard library only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from release import config as release_config  # noqa: E402
from release.plan import plan, render, rollback_plan  # noqa: E402


def collapse(lines: list[str]) -> list[tuple[str, int]]:
    """Repeated probes print once with a count."""
    runs: list[tuple[str, int]] = []
    for line in lines:
        if runs and runs[-1][0] == line:
            runs[-1] = (line, runs[-1][1] + 1)
        else:
            runs.append((line, 1))
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, choices=release_config.ENVIRONMENTS)
    parser.add_argument("--version", default="<commit>", help="what PMI_VERSION reports")
    parser.add_argument(
        "--accounts",
        action="store_true",
        help="print 'function account role scope' lines (for scripts/bootstrap_project.sh)",
    )
    args = parser.parse_args(argv)
    try:
        config = release_config.load()
    except release_config.ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    environment = config.environment(args.env)
    if args.accounts:
        for spec in config.functions:
            for binding in spec.roles:
                account = spec.service_account(environment.project)
                print(f"{spec.name}\t{account}\t{binding.role}\t{binding.scope}")
        return 0
    print(
        f"# Release plan: {args.env} (project {environment.project}, region "
        f"{environment.region}); run from the repository root"
    )
    for number, (phase, entries) in enumerate(plan(config, environment, args.version).items(), 1):
        print(f"\n## {number}. {phase}")
        for line, count in collapse(render(entries)):
            shown = line if line.startswith(("GET ", "wait ")) else f"$ {line}"
            print(shown + (f"   (x{count})" if count > 1 else ""))
    print("\n## when a check fails during the rollout (automatic)")
    for line in render(rollback_plan(config, environment)):
        print(f"$ {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
