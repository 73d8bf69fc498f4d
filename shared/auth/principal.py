"""The authenticated caller, loaded from the user's document on every request.

The token proves who the caller is; the user document says what they are *now*. Reading
it per request (one Firestore read) is what makes a role change, a deactivation or a
revoked session take effect on the very next request instead of when the token expires.

User documents (collection ``users``, written by the auth function) carry, among others:
``role``, ``is_active``, ``service_center_id`` and ``session_ids`` — the ids of the user's
live sessions. An access token whose ``sid`` is not listed has been revoked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.auth.rbac import Role
from shared.auth.tokens import TokenClaims
from shared.errors import Unauthorized

USERS_COLLECTION = "users"


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


def load_principal(claims: TokenClaims) -> Principal:
    """Read ``users/{sub}`` and build the principal."""
    from shared.firestore import get_client

    snapshot = get_client().collection(USERS_COLLECTION).document(claims.user_id).get()
    return principal_from_user(claims, snapshot.to_dict() if snapshot.exists else None)
