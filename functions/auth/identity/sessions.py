"""Sessions: what a sign-in creates, refresh rotates, and logout or an attack ends.

A session is ``sessions/{sid}`` plus the sid's entry in ``users/{uid}.session_ids``; every
access and refresh token names its sid, and shared.auth.principal refuses a token whose sid
is not listed. Ending a session is therefore one array update, effective on the next request.

Refresh-token rotation (as Auth0 and Supabase do it): each refresh token works once. The
session stores the jti of its current refresh token; presenting it rotates to a new one.
Presenting an older one means two parties hold the session's tokens (one of them stolen),
so the whole session is revoked. One exception, the grace window: a client that sent the
same refresh twice at once (two tabs, a retry after a lost response) may present the
*just-rotated* token for ``REUSE_GRACE_SECONDS`` and receives the session's current refresh
token again (re-minted bit-for-bit from the stored jti and iat) — no fork, no revocation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.auth import tokens
from shared.auth.principal import USERS_COLLECTION, forget_user
from shared.config import Settings
from shared.errors import Unauthorized
from shared.firestore import get_client
from shared.query_shapes import QueryShape, register
from shared.transactions import run_transaction

if TYPE_CHECKING:
    from google.cloud.firestore import Transaction
    from google.cloud.firestore_v1.base_query import FieldFilter

COLLECTION = "sessions"
# Twenty live sessions covers a person's phones, tablets and browsers; past that the
# oldest is evicted, so session_ids (read on every request) stays small.
MAX_SESSIONS_PER_USER = 20
# Long enough for a concurrent duplicate or a retry after a dropped response; short
# enough that a thief replaying an old token is caught, not served.
REUSE_GRACE_SECONDS = 10
# A burst of sign-ins or refreshes of one user contends on the user document; the
# client's default of 5 attempts runs out under load (seen in bench/bench_auth.py).
MAX_TRANSACTION_ATTEMPTS = 12

(LIVE_SESSIONS_OF_USER,) = register(
    QueryShape(
        COLLECTION,
        equality=("user_id", "revoked"),
        description="a user's live sessions (logout-all, password change)",
    )
)


@dataclass(frozen=True)
class SessionTokens:
    session_id: str
    access: tokens.IssuedToken
    refresh: tokens.IssuedToken
    user: dict[str, Any]


def _timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _session_revoked() -> Unauthorized:
    return Unauthorized("The session has ended; sign in again.", code="session_revoked")


def _issue_refresh(
    user_id: str,
    role: str,
    session_id: str,
    *,
    now: int,
    settings: Settings,
    token_id: str | None = None,
) -> tokens.IssuedToken:
    """A refresh token for the session; a stored ``token_id`` and ``now`` re-mint one."""
    return tokens.issue(
        tokens.TokenKind.REFRESH,
        user_id=user_id,
        role=role,
        session_id=session_id,
        token_id=token_id,
        now=now,
        settings=settings,
    )


def _with_access_token(
    session_id: str,
    user_id: str,
    refresh: tokens.IssuedToken,
    user: dict[str, Any],
    settings: Settings,
) -> SessionTokens:
    """The session's token pair: ``refresh`` plus a new access token for the user's role."""
    access = tokens.issue(
        tokens.TokenKind.ACCESS,
        user_id=user_id,
        role=user["role"],
        session_id=session_id,
        settings=settings,
    )
    return SessionTokens(session_id, access, refresh, {"id": user_id, **user})


def open_session(
    user_id: str,
    *,
    settings: Settings,
    ip: str,
    user_agent: str,
    user_updates: dict[str, Any] | None = None,
) -> SessionTokens:
    """Start a session for an existing user; returns its first token pair."""
    user_ref = get_client().collection(USERS_COLLECTION).document(user_id)

    def start(transaction: Transaction) -> tuple[str, tokens.IssuedToken, dict[str, Any]]:
        snapshot = user_ref.get(transaction=transaction)
        if not snapshot.exists:
            raise Unauthorized("The account no longer exists.", code="invalid_token")
        user = snapshot.to_dict() or {}
        session_id = uuid.uuid4().hex
        now = tokens.current_time()
        refresh = _issue_refresh(user_id, user["role"], session_id, now=now, settings=settings)
        live = [*(user.get("session_ids") or []), session_id]
        evicted, live = live[:-MAX_SESSIONS_PER_USER], live[-MAX_SESSIONS_PER_USER:]
        transaction.create(
            get_client().collection(COLLECTION).document(session_id),
            {
                "user_id": user_id,
                "refresh_jti": refresh.token_id,
                "refresh_iat": now,
                "refresh_role": user["role"],
                "previous_jti": None,
                "rotated_at": None,
                "created_at": _timestamp(now),
                "expires_at": _timestamp(refresh.expires_at),
                "user_agent": user_agent[:256],
                "ip": ip,
                "revoked": False,
            },
        )
        updates = {"session_ids": live, **(user_updates or {})}
        transaction.update(user_ref, updates)
        for old in evicted:
            transaction.set(
                get_client().collection(COLLECTION).document(old),
                {"revoked": True, "revoked_reason": "evicted"},
                merge=True,
            )
        return session_id, refresh, {**user, **updates}

    session_id, refresh, user = run_transaction(
        start, what="open session", lock_keys=[user_ref.path], attempts=MAX_TRANSACTION_ATTEMPTS
    )
    forget_user(user_id)  # a session evicted here ends at once on this instance
    return _with_access_token(session_id, user_id, refresh, user, settings)


@dataclass(frozen=True)
class RefreshOutcome:
    """What a refresh attempt came to: new tokens, or the reason it failed."""

    result: str  # "rotated" | "grace" | "reused" | "revoked" | "disabled"
    user_id: str
    session: SessionTokens | None = None


def refresh(raw_token: str, *, settings: Settings, ip: str, user_agent: str) -> RefreshOutcome:
    """Rotate a refresh token (see the module docstring for the reuse rules)."""
    from google.cloud import firestore

    claims = tokens.verify(raw_token, tokens.TokenKind.REFRESH, settings=settings)
    session_ref = get_client().collection(COLLECTION).document(claims.session_id)
    user_ref = get_client().collection(USERS_COLLECTION).document(claims.user_id)

    def rotate(transaction: Transaction) -> tuple[str, tokens.IssuedToken | None, dict[str, Any]]:
        session_snap, user_snap = (
            session_ref.get(transaction=transaction),
            user_ref.get(transaction=transaction),
        )
        session = session_snap.to_dict() if session_snap.exists else None
        user = user_snap.to_dict() if user_snap.exists else None
        if (
            session is None
            or user is None
            or session.get("revoked")
            or session.get("user_id") != claims.user_id
            or claims.session_id not in (user.get("session_ids") or [])
        ):
            return "revoked", None, {}
        if not user.get("is_active", False):
            return "disabled", None, {}
        now = tokens.current_time()
        if claims.token_id == session.get("refresh_jti"):
            issued = _issue_refresh(
                claims.user_id, user["role"], claims.session_id, now=now, settings=settings
            )
            transaction.update(
                session_ref,
                {
                    "previous_jti": claims.token_id,
                    "refresh_jti": issued.token_id,
                    "refresh_iat": now,
                    "refresh_role": user["role"],
                    "rotated_at": now,
                    "expires_at": _timestamp(issued.expires_at),
                    "last_ip": ip,
                    "last_user_agent": user_agent[:256],
                },
            )
            return "rotated", issued, user
        rotated_at = session.get("rotated_at")
        if (
            claims.token_id == session.get("previous_jti")
            and rotated_at is not None
            and now - int(rotated_at) <= REUSE_GRACE_SECONDS
        ):
            # The same token as the winner already holds: HS256 is deterministic.
            current = _issue_refresh(
                claims.user_id,
                session["refresh_role"],
                claims.session_id,
                token_id=session["refresh_jti"],
                now=int(session["refresh_iat"]),
                settings=settings,
            )
            return "grace", current, user
        transaction.update(session_ref, {"revoked": True, "revoked_reason": "refresh_reused"})
        transaction.update(user_ref, {"session_ids": firestore.ArrayRemove([claims.session_id])})
        return "reused", None, user

    result, issued, user = run_transaction(
        rotate,
        what="rotate refresh token",
        lock_keys=[session_ref.path, user_ref.path],
        attempts=MAX_TRANSACTION_ATTEMPTS,
    )
    if result == "reused":
        forget_user(claims.user_id)  # the revoked session ends at once on this instance
    if issued is None:
        return RefreshOutcome(result, claims.user_id)
    session = _with_access_token(claims.session_id, claims.user_id, issued, user, settings)
    return RefreshOutcome(result, claims.user_id, session)


def close_session(raw_token: str, *, settings: Settings) -> None:
    """End the session a refresh token belongs to (any of its tokens will do)."""
    from google.api_core.exceptions import NotFound
    from google.cloud import firestore

    claims = tokens.verify(raw_token, tokens.TokenKind.REFRESH, settings=settings)
    session_ref = get_client().collection(COLLECTION).document(claims.session_id)
    snapshot = session_ref.get()
    if not snapshot.exists or snapshot.get("user_id") != claims.user_id:
        return  # already gone: logging out twice is not an error
    batch = get_client().batch()
    batch.set(session_ref, {"revoked": True, "revoked_reason": "logout"}, merge=True)
    batch.update(
        get_client().collection(USERS_COLLECTION).document(claims.user_id),
        {"session_ids": firestore.ArrayRemove([claims.session_id])},
    )
    try:
        batch.commit()
    except NotFound:  # the user was deleted meanwhile: nothing left to end
        return
    finally:
        forget_user(claims.user_id)  # the logout takes effect at once on this instance


def close_all_sessions(user_id: str, *, keep: str | None = None, reason: str) -> None:
    """End every session of a user except ``keep`` (password change keeps the caller's)."""
    user_ref = get_client().collection(USERS_COLLECTION).document(user_id)
    # The user document is what every request checks: clearing it first revokes at once.
    user_ref.update({"session_ids": [keep] if keep else []})
    forget_user(user_id)  # effective at once on this instance (principal cache)
    live = (
        get_client()
        .collection(COLLECTION)
        .where(filter=_field_filter("user_id", user_id))
        .where(filter=_field_filter("revoked", False))
        .stream()
    )
    batch, pending = get_client().batch(), 0
    for snapshot in live:
        if snapshot.id == keep:
            continue
        batch.set(snapshot.reference, {"revoked": True, "revoked_reason": reason}, merge=True)
        pending += 1
        if pending == 400:  # a batch holds at most 500 writes
            batch.commit()
            batch, pending = get_client().batch(), 0
    if pending:
        batch.commit()


def _field_filter(field: str, value: Any) -> FieldFilter:
    from google.cloud.firestore_v1.base_query import FieldFilter

    return FieldFilter(field, "==", value)
