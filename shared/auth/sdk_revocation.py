"""Ending a user's mobile-SDK sessions at once: one call, two effects, one place.

The mobile app reads Firestore with a Firebase ID token whose claims (``role``,
``service_center_id``) were fixed when it signed in with the custom token from
``POST /api/auth/login``. The API re-reads the user on every request; Firestore cannot. So
when a user is deactivated, changes role or changes center, :func:`revoke_sdk_sessions`:

1. revokes the user's Firebase refresh tokens (firebase-admin ``revoke_refresh_tokens``):
   the app cannot mint new ID tokens from its old sign-in (enforced by Firebase Auth in
   production; the Auth emulator records the revocation but still refreshes);
2. raises ``token_revocations/{user_id}.revoke_time`` (epoch seconds) to the revocation
   second. firestore.rules refuses every ID token whose ``auth_time`` — or, once the login
   route adds it, the ``minted_at`` developer claim — is not later than that. This is what
   stops the ID token the app already holds (valid for up to an hour).

This is the pattern Firebase documents for detecting revocation in security rules
(a per-user revocation time compared with ``auth.token.auth_time``). Signing in again
gives a token with a later ``auth_time`` and the current claims.

The comparison is strict and in whole seconds, so a sign-in within the revocation's own
second is refused too; the app simply signs in again a moment later.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Literal

from shared import clock
from shared.config import Settings, get_settings

REVOCATIONS_COLLECTION = "token_revocations"
# One firebase-admin app per instance, shared with the login route's custom tokens
# (functions/auth/firebase_tokens.py uses the same name).
FIREBASE_APP_NAME = "pmi-auth"

RevocationReason = Literal[
    "deactivated", "role_changed", "center_changed", "logout_all", "password_changed"
]

_lock = threading.Lock()


@dataclass(frozen=True)
class Revocation:
    """What :func:`revoke_sdk_sessions` did."""

    user_id: str
    # Tokens whose auth_time (and minted_at) is at or before this second are refused.
    revoke_time: int
    # False when the user never signed in to Firebase (no refresh token existed).
    had_firebase_account: bool


def firebase_app(settings: Settings | None = None) -> Any:
    """The instance's firebase-admin app, created on first use.

    Looked up by name on every call (a dict lookup) instead of cached here, so an app
    deleted and re-created elsewhere is never used stale.
    """
    import firebase_admin

    try:
        return firebase_admin.get_app(FIREBASE_APP_NAME)
    except ValueError:
        pass
    project_id = (settings or get_settings()).project_id
    with _lock:
        try:
            return firebase_admin.get_app(FIREBASE_APP_NAME)
        except ValueError:
            return firebase_admin.initialize_app(
                options={"projectId": project_id}, name=FIREBASE_APP_NAME
            )


def revoke_sdk_sessions(
    db: Any, user_id: str, *, reason: RevocationReason, settings: Settings | None = None
) -> Revocation:
    """Revoke ``user_id``'s Firebase refresh tokens and record the rules' revocation time.

    Raises what firebase-admin or Firestore raise on failure (the caller's request fails
    and can be retried; both steps are idempotent).
    """
    from firebase_admin import auth
    from google.cloud import firestore

    app = firebase_app(settings)
    had_account = True
    try:
        auth.revoke_refresh_tokens(user_id, app=app)
        # Firebase's own cut-off, in ms; used so our clock and Firebase's cannot disagree.
        valid_after_ms = auth.get_user(user_id, app=app).tokens_valid_after_timestamp or 0
    except auth.UserNotFoundError:
        # Never signed in to Firebase: no refresh token to revoke, but a custom token minted
        # at a login moments ago could still be exchanged, so the rules' cut-off is written.
        had_account, valid_after_ms = False, 0
    # The machine's clock, never a pinned test clock: the cut-off is compared with the
    # auth_time Firebase stamps from its own real clock.
    real_now = clock.system_clock()
    revoke_time = max(int(real_now.timestamp()), int(valid_after_ms) // 1000)
    db.collection(REVOCATIONS_COLLECTION).document(user_id).set(
        {
            "user_id": user_id,
            # Maximum: concurrent revocations (or an instance with a slower clock) never move
            # the cut-off back.
            "revoke_time": firestore.Maximum(revoke_time),
            "revoked_at": real_now,
            "reason": reason,
        },
        merge=True,
    )
    return Revocation(user_id, revoke_time, had_account)
