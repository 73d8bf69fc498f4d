"""The Cloud Run side of a release, behind one small interface.

``CloudRun`` is everything the rollout needs: read a function's service (revisions,
traffic, tags), deploy a new revision, move traffic and tags. ``GcloudCloudRun`` does it
with the gcloud CLI; ``SimulatedCloudRun`` keeps the same state in memory and records the
exact gcloud commands it stands for — the deploy plan is the rollout run against it, and
the tests drive the rollout through it.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import IO, Any, Protocol

from . import commands
from .commands import Argv
from .config import Environment, FunctionSpec, ReleaseConfig


class CommandFailed(RuntimeError):
    def __init__(self, argv: Argv, returncode: int, stderr: str) -> None:
        super().__init__(f"`{shlex.join(argv)}` exited {returncode}: {stderr.strip()[-2000:]}")
        self.stderr = stderr


@dataclass(frozen=True)
class TrafficTarget:
    revision: str
    percent: int = 0
    tag: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class ServiceState:
    name: str
    url: str
    latest_ready: str
    traffic: tuple[TrafficTarget, ...]

    def serving(self) -> dict[str, int]:
        """Revision → percent, for revisions that take traffic."""
        shares: dict[str, int] = {}
        for target in self.traffic:
            if target.percent:
                shares[target.revision] = shares.get(target.revision, 0) + target.percent
        return shares

    def tagged(self, tag: str) -> TrafficTarget | None:
        return next((target for target in self.traffic if target.tag == tag), None)


class CloudRun(Protocol):
    def describe(self, name: str) -> ServiceState | None:
        """The function's Cloud Run service, or None before its first deploy."""

    def deploy(self, spec: FunctionSpec) -> None:
        """Create a new revision of the function from its bundle."""

    def update_traffic(
        self,
        name: str,
        *,
        to_revisions: dict[str, int] | None = None,
        update_tags: dict[str, str] | None = None,
        remove_tags: list[str] | None = None,
    ) -> None:
        """Move traffic and tags (tags removed first, then set, then traffic)."""


class Runner(Protocol):
    def run(self, argv: Argv) -> str: ...


@dataclass
class SubprocessRunner:
    """Runs a command, echoing it first so the pipeline's log reads like the plan.

    Progress (stderr, and stdout unless the command asks for JSON) streams to the log as it
    comes — a function deploy takes minutes; stdout is also returned, stderr kept for errors.
    """

    echo: Callable[[str], None] = field(default=lambda line: print(line, flush=True))

    def run(self, argv: Argv) -> str:
        self.echo("$ " + shlex.join(argv))
        show_stdout = "--format=json" not in argv
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
        )
        errors: list[str] = []
        pump = threading.Thread(target=_tee, args=(process.stderr, sys.stderr, errors))
        pump.start()
        output: list[str] = []
        _tee(process.stdout, sys.stdout if show_stdout else None, output)
        pump.join()
        if process.wait() != 0:
            raise CommandFailed(argv, process.returncode, "".join(errors))
        return "".join(output)


def _tee(source: IO[str] | None, sink: IO[str] | None, kept: list[str]) -> None:
    for line in source or ():
        kept.append(line)
        if sink is not None:
            sink.write(line)
            sink.flush()


@dataclass
class GcloudCloudRun:
    runner: Runner
    config: ReleaseConfig
    environment: Environment
    version: str

    def describe(self, name: str) -> ServiceState | None:
        try:
            output = self.runner.run(commands.describe_service(self.environment, name))
        except CommandFailed as failure:
            if "not found" in failure.stderr.lower() or "cannot find" in failure.stderr.lower():
                return None
            raise
        return parse_service(json.loads(output))

    def deploy(self, spec: FunctionSpec) -> None:
        self.runner.run(commands.deploy_function(self.config, self.environment, spec, self.version))

    def update_traffic(
        self,
        name: str,
        *,
        to_revisions: dict[str, int] | None = None,
        update_tags: dict[str, str] | None = None,
        remove_tags: list[str] | None = None,
    ) -> None:
        self.runner.run(
            commands.update_traffic(
                self.environment,
                name,
                to_revisions=to_revisions,
                update_tags=update_tags,
                remove_tags=remove_tags,
            )
        )


def parse_service(document: dict[str, Any]) -> ServiceState:
    """A ``gcloud run services describe --format=json`` document (Knative Service)."""
    status = document.get("status", {})
    traffic = tuple(
        TrafficTarget(
            revision=entry.get("revisionName") or status.get("latestReadyRevisionName", ""),
            percent=int(entry.get("percent", 0) or 0),
            tag=entry.get("tag"),
            url=entry.get("url"),
        )
        for entry in status.get("traffic", [])
    )
    return ServiceState(
        name=document.get("metadata", {}).get("name", ""),
        url=status.get("url", ""),
        latest_ready=status.get("latestReadyRevisionName", ""),
        traffic=traffic,
    )


def tag_url(service_url: str, tag: str) -> str:
    """Cloud Run's URL for a tagged revision: the tag, three dashes, the service host."""
    scheme, _, host = service_url.partition("://")
    return f"{scheme}://{tag}---{host}"


@dataclass
class SimulatedCloudRun:
    """Cloud Run in memory: same state transitions, and the gcloud commands they stand for.

    ``existing`` maps a function to its serving revision (absent: never deployed).
    ``fail_deploy`` names functions whose deploy fails, as a broken build would.
    """

    config: ReleaseConfig
    environment: Environment
    version: str
    existing: dict[str, str] = field(default_factory=dict)
    fail_deploy: set[str] = field(default_factory=set)
    commands: list[Argv] = field(default_factory=list)
    services: dict[str, ServiceState] = field(default_factory=dict)
    revisions: dict[str, list[str]] = field(default_factory=dict)
    revision_name: Callable[[str, int], str] = field(
        default=lambda name, number: f"{name}-{number:05d}"
    )

    def __post_init__(self) -> None:
        for name, revision in self.existing.items():
            self.revisions[name] = [revision]
            self.services[name] = ServiceState(
                name, self._url(name), revision, (TrafficTarget(revision, 100),)
            )

    def _url(self, name: str) -> str:
        return f"https://{name}-<hash>.a.run.app"  # Cloud Run picks the hash

    def describe(self, name: str) -> ServiceState | None:
        self.commands.append(commands.describe_service(self.environment, name))
        return self.services.get(name)

    def deploy(self, spec: FunctionSpec) -> None:
        self.commands.append(
            commands.deploy_function(self.config, self.environment, spec, self.version)
        )
        if spec.name in self.fail_deploy:
            raise CommandFailed(["gcloud", "functions", "deploy", spec.name], 1, "Build failed")
        current = self.services.get(spec.name)
        known = self.revisions.setdefault(spec.name, [])
        revision = self.revision_name(spec.name, len(known) + 1)
        known.append(revision)
        if current is None:
            self.services[spec.name] = ServiceState(
                spec.name, self._url(spec.name), revision, (TrafficTarget(revision, 100),)
            )
        else:
            # Pinned traffic stays where it is; a service that follows LATEST would move.
            self.services[spec.name] = replace(current, latest_ready=revision)

    def update_traffic(
        self,
        name: str,
        *,
        to_revisions: dict[str, int] | None = None,
        update_tags: dict[str, str] | None = None,
        remove_tags: list[str] | None = None,
    ) -> None:
        self.commands.append(
            commands.update_traffic(
                self.environment,
                name,
                to_revisions=to_revisions,
                update_tags=update_tags,
                remove_tags=remove_tags,
            )
        )
        state = self.services[name]
        shares = state.serving()
        tags = {t.tag: t.revision for t in state.traffic if t.tag}
        for tag in remove_tags or []:
            tags.pop(tag, None)
        for tag, revision in (update_tags or {}).items():
            tags[tag] = revision
        if to_revisions:
            if sum(to_revisions.values()) != 100:
                raise ValueError("the rollout always assigns all traffic explicitly")
            shares = {rev: pct for rev, pct in to_revisions.items() if pct}
        known = set(self.revisions.get(name, []))
        for revision in [*shares, *tags.values()]:
            if revision not in known:
                raise CommandFailed(["gcloud"], 1, f"Revision {revision} not found")
        traffic = [TrafficTarget(rev, pct) for rev, pct in shares.items()]
        traffic += [
            TrafficTarget(rev, 0, tag, tag_url(state.url, tag)) for tag, rev in tags.items()
        ]
        self.services[name] = replace(state, traffic=tuple(traffic))
