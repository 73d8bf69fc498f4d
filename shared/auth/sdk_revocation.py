"""Ending a user's mobile-SDK sessions at once: two effects, one place.

The mobile app reads Firestore with a Firebase ID token whose claims (``role``,
``service_center_id``) were fixed when it signed in with the custom token from
``POST /api/auth/login``. The API re-reads the user on every request; Firestore cannot. So
when a user is deactivated, changes role or center, signs out everywhere or changes their
password, the auth function:

1. **cuts the rules off** (:func:`stage_cut_off`): raises
   ``token_revocations/{user_id}.revoke_time`` (epoch seconds) to the current second, in the
   **same batch** as the change it follows (the user document), so no state exists in which
   the change is stored and the old claims still read. firestore.rules refuses every ID
   token whose ``auth_time`` — or ``minted_at``, the login route's own stamp on the custom
   token — is not later than that. This is what stops the ID token the app already holds
   (valid for up to an hour) and every token refreshed from its sign-in;
2. **revokes the Firebase refresh tokens** (:func:`complete_revocation`, firebase-admin
   ``revoke_refresh_tokens``), so the app cannot mint new ID tokens from its old sign-in at
   all (enforced by Firebase Auth in production; the Auth emulator records the revocation
   but still refreshes). This is a call to another service, made after the batch: when it
   fails, the cut-off above already holds (the rules refuse those tokens whatever Firebase
   says), the failure is logged at ERROR, and the revocation document shows it as pending
   (``revoked_at_ms > firebase_revoked_at_ms``); the next revocation of the user, or any
   admin change of the user (retrying the same PATCH will do), completes it.

This is the pattern Firebase documents for detecting revocation in security rules
(a per-user revocation time compared with ``auth.token.auth_time``). Signing in again
gives a token with a later ``auth_time`` and the current claims.

The comparison is strict and in whole seconds, so a sign-in within the revocation's own
second is refused too; the app simply signs in again a moment later.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from shared import clock, logs
from shared.config import Settings, get_settings

if TYPE_CHECKING:
    from google.cloud.firestore import DocumentReference

REVOCATIONS_COLLECTION = "token_revocations"
# One firebase-admin app per instance, shared with the login route's custom tokens
# (functions/auth/identity/firebase_tokens.py calls firebase_app()).
FIREBASE_APP_NAME = "pmi-auth"
# firebase-admin waits 120 s for Firebase by default; Hosting gives a request 60 s. A call
# still unanswered after this long fails, and the revocation stays pending (module docstring).
FIREBASE_HTTP_TIMEOUT_SECONDS = 10

RevocationReason = Literal[
    "deactivated", "role_changed", "center_changed", "logout_all", "password_changed"
]

_lock = threading.Lock()


@dataclass(frozen=True)
class Revocation:
    """What :func:`revoke_sdk_sessions` (or a caller's batch and :func:`complete_revocation`)
    did."""

    user_id: str
    # Tokens whose auth_time (and minted_at) is at or before this second are refused.
    revoke_time: int
    # False when the user never signed in to Firebase (no refresh token existed).
    had_firebase_account: bool
    # False when the Firebase call failed: the rules' cut-off holds; Firebase's is pending.
    firebase_revoked: bool = True


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
                options={"projectId": project_id, "httpTimeout": FIREBASE_HTTP_TIMEOUT_SECONDS},
                name=FIREBASE_APP_NAME,
            )


def _ref(db: Any, user_id: str) -> DocumentReference:
    ref: DocumentReference = db.collection(REVOCATIONS_COLLECTION).document(user_id)
    return ref


def stage_cut_off(writer: Any, db: Any, user_id: str, *, reason: RevocationReason) -> int:
    """Stage the rules' cut-off for ``user_id`` in ``writer`` (a batch or a transaction, so
    it commits with the change it follows); the ``revoke_time`` it sets.

    The machine's clock, never a pinned test clock: the cut-off is compared with the
    ``auth_time`` Firebase stamps from its own real clock and the ``minted_at`` the login
    route stamps from the same kind of clock as this one.
    """
    from google.cloud import firestore

    real_now = clock.system_clock()
    revoke_time = int(real_now.timestamp())
    writer.set(
        _ref(db, user_id),
        {
            "user_id": user_id,
            # Maximum: concurrent revocations (or an instance with a slower clock) never move
            # the cut-off back.
            "revoke_time": firestore.Maximum(revoke_time),
            "revoked_at": real_now,
            "revoked_at_ms": firestore.Maximum(int(real_now.timestamp() * 1000)),
            "reason": reason,
        },
        merge=True,
    )
    return revoke_time


def complete_revocation(
    db: Any, user_id: str, *, revoke_time: int, settings: Settings | None = None
) -> Revocation:
    """Revoke ``user_id``'s Firebase refresh tokens and record that it was done, after a
    cut-off at ``revoke_time`` was committed.

    Never raises for Firebase's sake: a failure is logged and leaves the revocation pending
    (the rules' cut-off committed before already holds). Firestore errors still raise.
    """
    from firebase_admin import auth
    from firebase_admin.exceptions import FirebaseError
    from google.auth.exceptions import GoogleAuthError
    from google.cloud import firestore

    # Taken before the call: Firebase revokes every refresh token issued before it answers,
    # so this instant is covered; a cut-off staged later is not, and stays pending.
    started = clock.system_clock()
    had_account = True
    try:
        app = firebase_app(settings)
        auth.revoke_refresh_tokens(user_id, app=app)
        # Firebase's own cut-off, in ms; used so that its clock and ours cannot disagree for
        # tokens without minted_at.
        valid_after_ms = auth.get_user(user_id, app=app).tokens_valid_after_timestamp or 0
    except auth.UserNotFoundError:
        # Never signed in to Firebase: no refresh token to revoke (a custom token minted at
        # a login moments ago is refused by its minted_at).
        had_account, valid_after_ms = False, 0
    except (FirebaseError, GoogleAuthError) as error:
        logs.log(
            "ERROR",
            "Firebase refresh-token revocation failed; the rules' cut-off holds, Firebase's "
            "is pending until the user's next revocation or admin change",
            user_id=user_id,
            error=type(error).__name__,
        )
        return Revocation(user_id, revoke_time, True, firebase_revoked=False)
    valid_after = int(valid_after_ms) // 1000
    _ref(db, user_id).set(
        {
            "revoke_time": firestore.Maximum(valid_after),
            "firebase_revoked_at_ms": firestore.Maximum(int(started.timestamp() * 1000)),
        },
        merge=True,
    )
    return Revocation(user_id, max(revoke_time, valid_after), had_account)


def is_pending(revocation: dict[str, Any] | None) -> bool:
    """A stored revocation whose Firebase step has not caught up with its last cut-off."""
    if not revocation:
        return False
    return int(revocation.get("firebase_revoked_at_ms") or 0) < int(
        revocation.get("revoked_at_ms") or 0
    )


def complete_if_pending(db: Any, user_id: str, *, settings: Settings | None = None) -> bool:
    """Finish a revocation whose Firebase step failed earlier; True when one was pending.

    One document read when nothing is pending.
    """
    snapshot = _ref(db, user_id).get()
    stored = snapshot.to_dict() if snapshot.exists else None
    if stored is None or not is_pending(stored):
        return False
    complete_revocation(db, user_id, revoke_time=int(stored["revoke_time"]), settings=settings)
    return True


def revoke_sdk_sessions(
    db: Any, user_id: str, *, reason: RevocationReason, settings: Settings | None = None
) -> Revocation:
    """Cut ``user_id``'s SDK sessions off (one write) and revoke their Firebase sessions.

    For a caller with no change of its own to commit with the cut-off (sign-out
    everywhere); a caller that changes the user stages :func:`stage_cut_off` in its own
    batch and then calls :func:`complete_revocation`.
    """
    batch = db.batch()
    revoke_time = stage_cut_off(batch, db, user_id, reason=reason)
    batch.commit()
    return complete_revocation(db, user_id, revoke_time=revoke_time, settings=settings)
