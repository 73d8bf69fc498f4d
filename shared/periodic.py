"""Work done off the request path: a daemon thread per instance that runs one job periodically.

Two parts of every function keep figures in instance memory and reconcile them with
Firestore later, so that a request never waits for a bookkeeping write: the local-first rate
limiter (shared/ratelimit_local.py) and the request metrics (shared/metrics.py). Both need the
same machinery, which lives here once:

- a **daemon thread** that runs the job every ``interval`` seconds, or shortly after a
  request asks for it (:meth:`PeriodicPass.wake`). It holds only weak references to its owner,
  so an owner nobody uses can be freed, and it never keeps a process from exiting;
- **fork safety**: gunicorn may import a function and then fork workers. A child that finds
  the parent's thread (which does not survive a fork) starts its own and lets the owner
  forget the parent's state (``after_fork``);
- a **final pass at exit** (``atexit``; Cloud Run sends SIGTERM before it stops an instance,
  and functions-framework's gunicorn exits gracefully on it), so what an instance recorded in
  its last interval is not lost when it shuts down in an orderly way;
- failures are **logged and retried** at the next pass: the job must be idempotent or keep
  what it could not deliver.

When CPU is allocated only during requests (Cloud Run's default "request-based" billing), the
thread gets little or no CPU between requests. A request that finds a pass due calls
:meth:`PeriodicPass.wake`, so the pass runs alongside that request's own work; if the
response leaves first, it finishes during the next request. An idle instance has nothing new
to deliver, so the only work that can wait is what its last requests did.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from collections.abc import Callable

from shared import logs

# A woken thread waits this long before its pass: the request that woke it keeps the CPU
# (the GIL) for its own work, and requests arriving meanwhile share the pass.
COALESCE_SECONDS = 0.02

Job = Callable[[], object]


class PeriodicPass:
    """Runs ``job`` on a daemon thread every ``interval`` seconds or soon after :meth:`wake`.

    ``name`` names the thread (and the ``background`` field of a failure's log line);
    ``what`` says what the job does, in that line's message (``"rate limit sync failed"``).

    ``job``, ``final`` and ``after_fork`` are bound methods of the owner; they are held
    weakly, so the owner (which holds this object) can be freed and the thread then ends.
    ``final`` (default: ``job``) runs once more when the process exits. Nothing starts
    until :meth:`ensure_running`, which the owner calls on its request path: a cheap check.
    """

    def __init__(
        self,
        name: str,
        what: str,
        interval: float,
        job: Job,
        *,
        final: Job | None = None,
        after_fork: Job | None = None,
        coalesce_seconds: float = COALESCE_SECONDS,
    ) -> None:
        self.name = name
        self.what = what
        self.interval = interval
        self.coalesce_seconds = coalesce_seconds
        self._job = weakref.WeakMethod(job)
        self._final = weakref.WeakMethod(final or job)
        self._after_fork = weakref.WeakMethod(after_fork) if after_fork else None
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.failures = 0  # passes that raised, for tests and /metrics

    def ensure_running(self) -> None:
        """Start the thread in this process if it is not running yet (cheap when it is)."""
        pid = os.getpid()
        if self._thread is not None and self._pid == pid:
            return
        with self._start_lock:
            if self._thread is not None and self._pid == pid:
                return
            if self._pid and self._pid != pid:
                # A forked child: the parent's thread did not come along, and whatever the
                # owner recorded there belongs to the parent (it delivers it itself).
                self._wake = threading.Event()
                reset = self._after_fork() if self._after_fork else None
                if reset is not None:
                    reset()
            self._pid = pid
            thread = threading.Thread(
                target=_run, args=(weakref.ref(self),), name=self.name, daemon=True
            )
            self._thread = thread
            thread.start()
            atexit.register(_final_pass, weakref.ref(self))

    def wake(self) -> None:
        """Ask for a pass now (a request found one due); passes asked for together merge."""
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._pid == os.getpid()

    def run_once(self, *, final: bool = False) -> bool:
        """One pass in the calling thread; False when it failed (logged) or the owner is gone."""
        job = (self._final if final else self._job)()
        if job is None:
            return False
        try:
            job()
        except Exception as exc:  # Firestore down or slow: keep what we have, retry next pass
            self.failures += 1
            logs.warning(
                f"{self.what}{' (final pass)' if final else ''} failed",
                background=self.name,
                error=f"{type(exc).__name__}: {exc}",
            )
            return False
        return True


def _run(ref: weakref.ReferenceType[PeriodicPass]) -> None:
    """The thread: a pass per interval, or sooner when a request asks for one."""
    while True:
        periodic = ref()
        if periodic is None:
            return
        wake, interval, coalesce = periodic._wake, periodic.interval, periodic.coalesce_seconds
        del periodic  # hold no reference while waiting, so an unused owner can be freed
        if wake.wait(timeout=interval):
            time.sleep(coalesce)
        wake.clear()
        periodic = ref()
        if periodic is None or periodic._job() is None:
            return
        periodic.run_once()
        del periodic


def _final_pass(ref: weakref.ReferenceType[PeriodicPass]) -> None:
    """Best effort: an instance shutting down delivers what it recorded last."""
    periodic = ref()
    if periodic is not None:
        periodic.run_once(final=True)
