"""The instance's rate limiter, as ``PMI_RATE_LIMIT_BACKEND`` chooses it.

It puts together shared.ratelimit (the interface, the exact backends and the limiter) and
shared.ratelimit_local (the local-first backend, built on that interface), so that those two
import in one direction only: this module alone knows every backend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.ratelimit import FirestoreBackend, MemoryBackend, RateLimiter
from shared.ratelimit_local import LocalFirstBackend

if TYPE_CHECKING:
    from shared.config import Settings


def build_limiter(settings: Settings) -> RateLimiter | None:
    """The instance's limiter for ``PMI_RATE_LIMIT_BACKEND`` (None when it is ``off``)."""
    choice = settings.rate_limit_backend
    if choice == "off":
        return None
    if choice == "memory":
        return RateLimiter(MemoryBackend(), settings.rate_limit_fail_mode)
    if choice == "firestore":
        return RateLimiter(FirestoreBackend(), settings.rate_limit_fail_mode)
    return RateLimiter(
        LocalFirstBackend(settings.rate_limit_sync_seconds),
        settings.rate_limit_fail_mode,
        exact_backend=FirestoreBackend(),
    )
