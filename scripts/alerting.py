"""Apply the alerting definitions (deploy/monitoring/) to an environment's project.

    python3 scripts/alerting.py --env staging                      # print what it would run
    python3 scripts/alerting.py --env production --apply \\
        --notification-channels projects/P/notificationChannels/123

Without ``--apply`` nothing is called: the plan assumes nothing exists yet (every metric and
policy created). With it, gcloud lists what exists and each definition is created or updated
(scripts/release/alerting.py). Standard library only.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from release import alerting  # noqa: E402
from release import config as release_config  # noqa: E402
from release.commands import Argv  # noqa: E402
from release.traffic import SubprocessRunner  # noqa: E402


class PrintingRunner:
    """The dry run: prints each command; the listings come back empty."""

    def run(self, argv: Argv) -> str:
        print("$ " + shlex.join(argv))
        return "[]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, choices=release_config.ENVIRONMENTS)
    parser.add_argument("--apply", action="store_true", help="run the commands (default: print)")
    parser.add_argument(
        "--notification-channels",
        default="",
        help="comma-separated channel resource names, added to policies when created",
    )
    args = parser.parse_args(argv)
    try:
        environment = release_config.load().environment(args.env)
    except release_config.ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    channels = [c for c in args.notification_channels.split(",") if c]
    runner = SubprocessRunner() if args.apply else PrintingRunner()
    found = alerting.definitions()
    print(
        f"# Alerting for {args.env} (project {environment.project}): "
        f"{len(found.metrics)} log-based metrics, {len(found.policies)} alert policies"
    )
    alerting.apply(runner, environment, channels=channels, found=found)
    return 0


if __name__ == "__main__":
    sys.exit(main())
