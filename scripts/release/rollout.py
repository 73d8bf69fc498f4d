"""Gradual traffic with automatic rollback: split, check, advance or roll back.

Revision tags on each function's Cloud Run service carry the release's state between the
pipeline's steps (separate containers in Cloud Build, separate jobs on GitHub), so nothing
has to be handed over in files and an operator sees it in the console:

- ``stable``      the revision that served before this release (after: the new one)
- ``candidate``   the new revision, deployed with no traffic; its tagged URL is probed
- ``previous``    after a release, the revision it replaced: the manual rollback target
- ``rolled-back`` a revision traffic was taken away from, kept addressable for diagnosis

Phases: ``prepare`` (pin, deploy, tag) → ``smoke`` → ``advance`` (e.g. 10 → 50 → 100 %,
a health reading after each step; any unhealthy reading sends all traffic back to the
``stable`` revisions and fails) → ``finalize``. ``roll_back_to_previous`` is the manual
way back after a release completed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .config import FunctionSpec
from .signals import HealthSignal, Http, Reading
from .traffic import CloudRun, ServiceState, tag_url

STABLE, CANDIDATE, PREVIOUS, ROLLED_BACK = "stable", "candidate", "previous", "rolled-back"
Log = Callable[[str], None]


class RolloutError(RuntimeError):
    """The services are not in a state this step can start from; nothing was changed."""


class RolloutFailed(RuntimeError):
    """A check failed; traffic was sent back to the stable revisions."""

    def __init__(self, stage: str, reading: Reading | None, details: Sequence[str] = ()) -> None:
        lines = list(reading.details if reading else ()) + list(details)
        super().__init__(f"{stage}: " + ("; ".join(lines) or "unhealthy"))
        self.stage, self.reading = stage, reading


@dataclass(frozen=True)
class Release:
    """One function's release: the revision it replaces (None on a first deploy) and the new one."""

    function: str
    stable: str | None
    candidate: str
    candidate_url: str


def _state(cloud: CloudRun, name: str) -> ServiceState:
    state = cloud.describe(name)
    if state is None:
        raise RolloutError(f"{name}: no Cloud Run service (deploy the functions first)")
    return state


def prepare(cloud: CloudRun, specs: Sequence[FunctionSpec], log: Log) -> None:
    """Deploy every function as a new revision that takes no traffic, tagged ``candidate``."""
    states = {spec.name: cloud.describe(spec.name) for spec in specs}
    for name, state in states.items():  # refuse before changing anything
        if state is not None and len(state.serving()) != 1:
            raise RolloutError(
                f"{name}: traffic is split {state.serving()}; an earlier rollout did not finish. "
                "Roll it back (rollback workflow) or move all traffic to one revision first."
            )
    for spec in specs:
        state = states[spec.name]
        if state is None:
            log(f"{spec.name}: first deploy; its first revision takes all traffic at once")
            cloud.deploy(spec)
            first = _state(cloud, spec.name).latest_ready
            cloud.update_traffic(spec.name, update_tags={CANDIDATE: first})
            continue
        (stable,) = state.serving()
        # Pinning makes the deploy keep today's traffic: the new revision starts at 0 %.
        cloud.update_traffic(spec.name, to_revisions={stable: 100}, update_tags={STABLE: stable})
        cloud.deploy(spec)
        candidate = _state(cloud, spec.name).latest_ready
        if candidate == stable:
            raise RolloutError(f"{spec.name}: the deploy created no new revision")
        cloud.update_traffic(spec.name, update_tags={CANDIDATE: candidate})
        log(f"{spec.name}: {candidate} deployed with no traffic; {stable} keeps 100 %")


def releases(cloud: CloudRun, specs: Sequence[FunctionSpec]) -> list[Release]:
    """The release in progress, read back from the services' tags."""
    found = []
    for spec in specs:
        state = _state(cloud, spec.name)
        candidate = state.tagged(CANDIDATE)
        if candidate is None:
            raise RolloutError(f"{spec.name}: no revision tagged {CANDIDATE!r} (run prepare first)")
        stable = state.tagged(STABLE)
        found.append(
            Release(
                function=spec.name,
                stable=stable.revision
                if stable and stable.revision != candidate.revision
                else None,
                candidate=candidate.revision,
                candidate_url=candidate.url or tag_url(state.url, CANDIDATE),
            )
        )
    return found


def smoke(
    cloud: CloudRun, specs: Sequence[FunctionSpec], http: Http, log: Log, attempts: int = 3
) -> None:
    """Each new revision answers its health route by its tagged URL, before any traffic."""
    failures = []
    for release, spec in zip(releases(cloud, specs), specs, strict=True):
        url = release.candidate_url + spec.health_path
        statuses = [http.get(url).status for _ in range(attempts)]
        log(f"{spec.name}: GET {url} → {statuses}")
        if any(status != 200 for status in statuses):
            failures.append(f"{spec.name}: {release.candidate} answered {statuses}")
    if failures:
        roll_back(cloud, releases(cloud, specs), log)
        raise RolloutFailed("smoke test", None, failures)


def advance(
    cloud: CloudRun,
    specs: Sequence[FunctionSpec],
    signal: HealthSignal,
    steps: Sequence[int],
    observe_seconds: float,
    sleep: Callable[[float], None],
    log: Log,
) -> None:
    """Move traffic step by step, reading health after each; roll back on the first bad one."""
    current = releases(cloud, specs)
    gradual = [release for release in current if release.stable]
    candidates = {release.function: release.candidate_url for release in current}
    for percent in steps:
        for release in gradual:
            cloud.update_traffic(release.function, to_revisions=split(release, percent))
        log(f"new revisions at {percent} %; observing for {observe_seconds:g} s")
        sleep(observe_seconds)
        reading = signal.read(candidates)
        rate = "n/a" if reading.error_rate is None else f"{reading.error_rate:.2%}"
        log(
            f"check at {percent} % ({reading.source}): error rate {rate}, "
            f"{'healthy' if reading.healthy else 'UNHEALTHY'}"
        )
        if not reading.healthy:
            roll_back(cloud, current, log)
            raise RolloutFailed(f"check at {percent} %", reading)
    finalize(cloud, current, log)


def split(release: Release, percent: int) -> dict[str, int]:
    if percent >= 100 or release.stable is None:
        return {release.candidate: 100}
    return {release.candidate: percent, release.stable: 100 - percent}


def roll_back(cloud: CloudRun, current: Sequence[Release], log: Log) -> None:
    """All traffic back to the revisions that served before this release."""
    for release in current:
        if release.stable is None:
            log(f"{release.function}: first deploy, no earlier revision to return to")
            continue
        cloud.update_traffic(
            release.function,
            to_revisions={release.stable: 100},
            update_tags={ROLLED_BACK: release.candidate},
            remove_tags=[CANDIDATE],
        )
        log(f"{release.function}: rolled back to {release.stable}")


def finalize(cloud: CloudRun, current: Sequence[Release], log: Log) -> None:
    """The new revisions become ``stable``; the ones they replaced become ``previous``."""
    for release in current:
        tags = {STABLE: release.candidate}
        if release.stable:
            tags[PREVIOUS] = release.stable
        cloud.update_traffic(release.function, update_tags=tags, remove_tags=[CANDIDATE])
        log(f"{release.function}: {release.candidate} serves 100 %")


def roll_back_to_previous(cloud: CloudRun, specs: Sequence[FunctionSpec], log: Log) -> None:
    """After a release: every function back to the revision tagged ``previous``."""
    targets = {}
    for spec in specs:  # check every function before moving any
        state = _state(cloud, spec.name)
        previous, stable = state.tagged(PREVIOUS), state.tagged(STABLE)
        if previous is None or stable is None:
            raise RolloutError(f"{spec.name}: no revision tagged {PREVIOUS!r} to roll back to")
        targets[spec.name] = (previous.revision, stable.revision)
    for name, (back_to, leaving) in targets.items():
        cloud.update_traffic(
            name,
            to_revisions={back_to: 100},
            update_tags={STABLE: back_to, ROLLED_BACK: leaving},
            remove_tags=[PREVIOUS],
        )
        log(f"{name}: rolled back from {leaving} to {back_to}")
