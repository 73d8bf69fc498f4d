"""Firebase custom tokens for the mobile SDK (it signs in to Firebase with them).

The token carries the PMI user id as ``uid`` and, as developer claims, the ``role`` (and
``service_center_id`` for center staff), which firestore.rules reads as
``request.auth.token.role``, and ``minted_at``: when the token was made (epoch seconds).
A custom token can be exchanged for up to an hour, so one minted just before an admin
changed the user could otherwise start a sign-in *after* the change with the old claims;
the rules refuse a token whose ``minted_at`` is not later than the user's last revocation
(shared/auth/sdk_revocation.py, docs/firestore-rules.md).

firebase-admin mints every token, so the real library's code path runs everywhere:
- Production: it signs with the runtime service account (which needs
  ``iam.serviceAccounts.signBlob`` on itself).
- Local runs and tests: ``FIREBASE_AUTH_EMULATOR_HOST`` is set (``make dev``, the test
  harness), and firebase-admin then produces an unsigned token (``alg: none``) that the
  Firebase emulators accept, with no credentials and no network call.

firebase-admin is imported lazily (≈0.15 s); its app is the instance's one app
(``shared.auth.sdk_revocation.firebase_app``), which the revocation uses too.
"""

from __future__ import annotations

from typing import Any

from shared import clock
from shared.auth.sdk_revocation import firebase_app
from shared.config import Settings

# The fixed values firebase-admin uses for custom tokens (firebase_admin/_token_gen.py).
FIREBASE_AUDIENCE = (
    "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit"
)
# Firebase refuses custom tokens valid for longer than one hour; firebase-admin uses that.
TOKEN_LIFETIME_SECONDS = 3600


def developer_claims(role: str, service_center_id: str | None, minted_at: int) -> dict[str, Any]:
    claims: dict[str, Any] = {"role": role, "minted_at": minted_at}
    if service_center_id:
        claims["service_center_id"] = service_center_id
    return claims


def create_custom_token(
    uid: str, *, role: str, service_center_id: str | None, settings: Settings
) -> str:
    """A Firebase custom token for ``uid`` with the role claims, stamped ``minted_at``."""
    from firebase_admin import auth

    # The machine's clock, as the revocation's cut-off (never a pinned test clock).
    minted_at = int(clock.system_clock().timestamp())
    claims = developer_claims(role, service_center_id, minted_at)
    token = auth.create_custom_token(uid, claims, app=firebase_app(settings))
    return token.decode("ascii") if isinstance(token, bytes) else str(token)
