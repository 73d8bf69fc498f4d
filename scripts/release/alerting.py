"""Alerting as code: apply deploy/monitoring/ (log-based metrics, alert policies) to a project.

Each file is in the format the Google Cloud CLI takes as it is: ``metrics/<name>.json`` for
``gcloud logging metrics create <name> --config-from-file`` and ``policies/<name>.json`` for
``gcloud monitoring policies create --policy-from-file`` (the alpha and beta commands take
the same file). Applying is idempotent: a metric that exists is updated in place, a policy
whose display name exists is updated, everything else is created. Metrics go first, because
a policy's condition refers to its metric. Notification channels are the project's own
(an e-mail address, a pager): their resource names are added to policies on creation.

Metrics count from the moment they exist (log-based metrics do not look back), so apply
before a release whose figures you want to watch. docs/monitoring.md has the list and why.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .commands import Argv
from .config import Environment
from .traffic import Runner

DEFINITIONS = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"


@dataclass(frozen=True)
class Definitions:
    metrics: tuple[Path, ...]
    policies: tuple[Path, ...]


def definitions(root: Path = DEFINITIONS) -> Definitions:
    return Definitions(
        metrics=tuple(sorted((root / "metrics").glob("*.json"))),
        policies=tuple(sorted((root / "policies").glob("*.json"))),
    )


def _gcloud(*args: str, project: str) -> Argv:
    return ["gcloud", *args, f"--project={project}", "--quiet"]


def list_metrics(environment: Environment) -> Argv:
    return _gcloud("logging", "metrics", "list", "--format=json", project=environment.project)


def list_policies(environment: Environment) -> Argv:
    return _gcloud("monitoring", "policies", "list", "--format=json", project=environment.project)


def apply(
    runner: Runner,
    environment: Environment,
    *,
    channels: Sequence[str] = (),
    found: Definitions | None = None,
) -> list[Argv]:
    """Create or update every metric, then every policy; returns the commands run."""
    found = found or definitions()
    project = environment.project
    ran: list[Argv] = []

    def run(argv: Argv) -> str:
        ran.append(argv)
        return runner.run(argv)

    existing_metrics = {
        str(m.get("name", "")).rsplit("/", 1)[-1] for m in _listing(run(list_metrics(environment)))
    }
    for path in found.metrics:
        name = json.loads(path.read_text(encoding="utf-8"))["name"]
        verb = "update" if name in existing_metrics else "create"
        run(
            _gcloud("logging", "metrics", verb, name, f"--config-from-file={path}", project=project)
        )
    existing_policies = {
        str(p.get("displayName")): str(p.get("name"))
        for p in _listing(run(list_policies(environment)))
    }
    for path in found.policies:
        display_name = json.loads(path.read_text(encoding="utf-8"))["displayName"]
        if display_name in existing_policies:
            argv = ["monitoring", "policies", "update", existing_policies[display_name]]
        else:
            argv = ["monitoring", "policies", "create"]
            if channels:
                argv.append("--notification-channels=" + ",".join(channels))
        run(_gcloud(*argv, f"--policy-from-file={path}", project=project))
    return ran


def _listing(output: str) -> list[dict[str, object]]:
    items = json.loads(output or "[]")
    if not isinstance(items, list):
        raise ValueError("expected a JSON list from gcloud ... list --format=json")
    return [item for item in items if isinstance(item, dict)]
