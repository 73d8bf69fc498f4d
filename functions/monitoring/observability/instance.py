"""This instance's own figures (psutil) and the configuration it runs with: GET /metrics.

An instance is one process of one function; these figures say nothing about the others
(that is /stats/performance). They help when one instance misbehaves: memory creeping up,
threads piling, connections left open, a limit different from the one meant to be deployed.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from observability.models import (
    Configuration,
    InstanceMetrics,
    Limits,
    ProcessFigures,
    SystemFigures,
)
from shared import clock
from shared.config import Settings

# Uptime is elapsed time, not a date: the monotonic clock, which no clock change can move.
STARTED_AT = time.monotonic()
_PROCESS = psutil.Process(os.getpid())
# psutil's CPU percentages compare with the previous call: take the first reading now, so the
# first /metrics answer covers the time since start instead of saying 0.
_PROCESS.cpu_percent(None)
psutil.cpu_percent(None)
CGROUP = Path("/sys/fs/cgroup")


def process_facts() -> dict[str, float | int]:
    """The few facts /health/detailed shows: pid, memory, threads, uptime."""
    process = psutil.Process(os.getpid())
    return {
        "pid": process.pid,
        "rss_bytes": process.memory_info().rss,
        "threads": process.num_threads(),
        "uptime_seconds": uptime_seconds(),
    }


def uptime_seconds() -> float:
    return round(time.monotonic() - STARTED_AT, 3)


def instance_metrics(
    settings: Settings, function: str, version: str, recording: dict[str, Any]
) -> InstanceMetrics:
    process = psutil.Process(os.getpid())
    with process.oneshot():
        times = process.cpu_times()
        figures = ProcessFigures(
            pid=process.pid,
            cpu_percent=_PROCESS.cpu_percent(None),
            cpu_seconds=round(times.user + times.system, 3),
            rss_bytes=process.memory_info().rss,
            memory_percent=round(process.memory_percent(), 3),
            threads=process.num_threads(),
            open_connections=_count(lambda: process.net_connections(kind="inet")),
            open_files=_count(process.open_files),
            uptime_seconds=uptime_seconds(),
        )
    memory = psutil.virtual_memory()
    disk_path = tempfile.gettempdir()  # Cloud Run's writable file system is in memory
    disk = psutil.disk_usage(disk_path)
    threads = os.environ.get("THREADS", "")
    return InstanceMetrics(
        read_at=clock.now(),
        process=figures,
        system=SystemFigures(
            cpu_count=psutil.cpu_count() or 1,
            cpu_percent=psutil.cpu_percent(None),
            memory_total_bytes=memory.total,
            memory_available_bytes=memory.available,
            disk_path=disk_path,
            disk_total_bytes=disk.total,
            disk_used_bytes=disk.used,
            disk_free_bytes=disk.free,
        ),
        configuration=Configuration(
            function=function,
            version=version,
            environment=settings.environment,
            region=settings.region,
            service=os.environ.get("K_SERVICE"),
            revision=os.environ.get("K_REVISION"),
            concurrency=int(threads) if threads.isdigit() else None,
            limits=Limits(
                memory_bytes=memory_limit_bytes(),
                cpus=cpu_quota(),
                max_body_bytes=settings.max_body_bytes,
                rate_limit_per_minute=settings.rate_limit_per_minute,
                rate_limit_burst=settings.rate_limit_burst,
                rate_limit_backend=settings.rate_limit_backend,
            ),
        ),
        recording=recording,
    )


def memory_limit_bytes(root: Path = CGROUP) -> int | None:
    """The container's memory limit (cgroup v2, else v1); None when unlimited or unknown."""
    for path in (root / "memory.max", root / "memory" / "memory.limit_in_bytes"):
        text = _read(path)
        if text is None:
            continue
        if text == "max" or not text.isdigit() or int(text) >= 1 << 60:
            return None  # v1 writes a huge number for "unlimited"
        return int(text)
    return None


def cpu_quota(root: Path = CGROUP) -> float | None:
    """CPUs the container may use (cgroup v2 ``cpu.max``, else v1 CFS quota); None: no quota."""
    text = _read(root / "cpu.max")
    if text is not None:
        quota, _, period = text.partition(" ")
        if quota == "max" or not quota.isdigit() or not period.isdigit():
            return None
        return round(int(quota) / int(period), 3)
    quota_text = _read(root / "cpu" / "cpu.cfs_quota_us")
    period_text = _read(root / "cpu" / "cpu.cfs_period_us")
    if quota_text is None or period_text is None or quota_text.startswith("-"):
        return None
    if not quota_text.isdigit() or not period_text.isdigit():
        return None
    return round(int(quota_text) / int(period_text), 3)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _count(listing: Any) -> int | None:
    try:
        return len(listing())
    except (psutil.Error, OSError):
        return None  # not permitted here (some sandboxes hide /proc entries)
