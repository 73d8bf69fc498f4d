"""The authenticated caller, checked against the user's document (cached for seconds).

The token proves who the caller is; the user document says what they are *now*: a role
change, a deactivation or a revoked session takes effect within seconds instead of when the
token expires (30 minutes; Firebase ID tokens and Auth0 access tokens stay valid until they
expire). Each instance keeps the facts it needs of a user's document for
``PMI_PRINCIPAL_CACHE_SECONDS`` (default 5 s; 0 reads the document on every request):

- a change made through this instance (the auth function calls :func:`forget_user` after
  it writes) takes effect here on the next request;
- a change made anywhere else takes effect everywhere within the bound;
- only grants are served from memory: a token the cached document would refuse (a session
  opened since, a reactivated account) makes the instance read the document again.

User documents (collection ``users``, written by the auth function) carry, among others:
``role``, ``is_active``, ``service_center_id`` and ``session_ids`` — the ids of the user's
live sessions. An access token whose ``sid`` is not listed has been revoked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from shared.auth.rbac import Role
from shared.auth.tokens import TokenClaims
from shared.config import get_settings
from shared.errors import Unauthorized
from shared.instance_cache import InstanceCache

USERS_COLLECTION = "users"
# Users remembered per instance (a few hundred bytes each); the least recently used go first.
PRINCIPAL_CACHE_ENTRIES = 10_000
# The only fields a principal is built from; the rest of the document is not kept.
_PRINCIPAL_FIELDS = ("role", "is_active", "session_ids", "email", "service_center_id")


@dataclass(frozen=True)
class Principal:
    """Who is calling, with the facts authorisation and scoping decisions need."""

    user_id: str
    role: Role
    session_id: str
    email: str = ""
    service_center_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_center_staff(self) -> bool:
        return self.role in (Role.SERVICE_CENTER, Role.MECHANIC)


def principal_from_user(claims: TokenClaims, user: dict[str, Any] | None) -> Principal:
    """Check a verified token against the user's current document; or raise 401."""
    if user is None:
        raise Unauthorized("The account no longer exists.", code="invalid_token")
    if not user.get("is_active", False):
        raise Unauthorized("The account is deactivated.", code="account_disabled")
    if claims.session_id not in (user.get("session_ids") or []):
        raise Unauthorized("The session has ended; sign in again.", code="session_revoked")
    try:
        role = Role(user.get("role", ""))
    except ValueError:
        raise Unauthorized("The account has no valid role.", code="invalid_token") from None
    return Principal(
        user_id=claims.user_id,
        role=role,
        session_id=claims.session_id,
        email=str(user.get("email", "")),
        service_center_id=user.get("service_center_id"),
    )


class UserCache(InstanceCache[dict[str, Any]]):
    """Users' documents (the principal's fields only) per instance, for a bounded time.

    Thread-safe, LRU-bounded. A read that started before an invalidation on this instance
    never stores its (possibly older) result, so :meth:`forget` cannot be undone by a
    request that was in flight (shared.instance_cache).
    """

    def __init__(self, max_entries: int = PRINCIPAL_CACHE_ENTRIES) -> None:
        super().__init__(max_entries)


user_cache = UserCache()


def forget_user(user_id: str) -> None:
    """Make this instance re-read ``user_id`` on its next request (call after changing it)."""
    user_cache.forget(user_id)


def read_user(user_id: str) -> dict[str, Any] | None:
    """One read of ``users/{user_id}``: the principal's fields, or None if it is missing."""
    from shared.firestore import get_client

    snapshot = get_client().collection(USERS_COLLECTION).document(user_id).get()
    if not snapshot.exists:
        return None
    data = snapshot.to_dict() or {}
    return {name: data[name] for name in _PRINCIPAL_FIELDS if name in data}


def load_principal(claims: TokenClaims) -> Principal:
    """The principal for a verified token, from the cache when it may grant, else a read."""
    max_age = get_settings().principal_cache_seconds
    if max_age > 0:
        cached = user_cache.get(claims.user_id, max_age)
        if cached is not None:
            try:
                return principal_from_user(claims, cached)
            except Unauthorized:
                pass  # never refuse from memory: the document may have changed since
    generation = user_cache.generation()
    # Stamped before the read: the entry's age then covers the read's own duration.
    read_at = time.monotonic()
    user = read_user(claims.user_id)
    if max_age > 0 and user is not None:
        user_cache.put(claims.user_id, user, read_at, generation)
    return principal_from_user(claims, user)
