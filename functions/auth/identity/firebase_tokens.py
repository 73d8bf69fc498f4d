"""Firebase custom tokens for the mobile SDK (it signs in to Firebase with them).

The token carries the PMI user id as ``uid`` and the ``role`` (and ``service_center_id``
for center staff) as developer claims, which firestore.rules reads as
``request.auth.token.role``.

firebase-admin mints every token, so the real library's code path runs everywhere:
- Production: it signs with the runtime service account (which needs
  ``iam.serviceAccounts.signBlob`` on itself).
- Local runs and tests: ``FIREBASE_AUTH_EMULATOR_HOST`` is set (``make dev``, the test
  harness), and firebase-admin then produces an unsigned token (``alg: none``) that the
  Firebase emulators accept, with no credentials and no network call.

firebase-admin is imported lazily (≈0.15 s) and its app is initialised once per instance.
"""

from __future__ import annotations

import threading
from typing import Any

from shared.config import Settings

# The fixed values firebase-admin uses for custom tokens (firebase_admin/_token_gen.py).
FIREBASE_AUDIENCE = (
    "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit"
)
# Firebase refuses custom tokens valid for longer than one hour; firebase-admin uses that.
TOKEN_LIFETIME_SECONDS = 3600
APP_NAME = "pmi-auth"

_lock = threading.Lock()
_app: Any = None


def _firebase_app(settings: Settings) -> Any:
    global _app
    if _app is None:
        with _lock:
            if _app is None:
                import firebase_admin

                try:
                    _app = firebase_admin.get_app(APP_NAME)
                except ValueError:
                    _app = firebase_admin.initialize_app(
                        options={"projectId": settings.project_id}, name=APP_NAME
                    )
    return _app


def developer_claims(role: str, service_center_id: str | None) -> dict[str, Any]:
    claims: dict[str, Any] = {"role": role}
    if service_center_id:
        claims["service_center_id"] = service_center_id
    return claims


def create_custom_token(
    uid: str, *, role: str, service_center_id: str | None, settings: Settings
) -> str:
    """A Firebase custom token for ``uid`` with the role claims."""
    from firebase_admin import auth

    claims = developer_claims(role, service_center_id)
    token = auth.create_custom_token(uid, claims, app=_firebase_app(settings))
    return token.decode("ascii") if isinstance(token, bytes) else str(token)
