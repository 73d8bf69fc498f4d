"""Firebase custom tokens for the mobile SDK (it signs in to Firebase with them).

The token carries the PMI user id as ``uid`` and the ``role`` (and ``service_center_id``
for center staff) as developer claims, which firestore.rules reads as
``request.auth.token.role``.

Three situations:
- Production: firebase-admin signs the token with the runtime service account (it needs
  ``iam.serviceAccounts.signBlob`` on itself).
- Auth emulator (``FIREBASE_AUTH_EMULATOR_HOST`` set): firebase-admin itself produces an
  unsigned token (``alg: none``) and needs no credentials.
- Local and test runs without the emulator: there are no credentials to sign with, so this
  module builds the same unsigned token firebase-admin builds for the emulator, without
  importing it. Production never takes this path.

firebase-admin is imported lazily (≈0.15 s) and its app is initialised once per instance.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from typing import Any

from shared.config import Settings

# The fixed values firebase-admin uses for custom tokens (firebase_admin/_token_gen.py).
FIREBASE_AUDIENCE = (
    "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit"
)
EMULATOR_SIGNER = "firebase-auth-emulator@example.com"
# Firebase refuses custom tokens valid for longer than one hour.
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


def uses_firebase_admin(settings: Settings) -> bool:
    """True when firebase-admin mints the token (production, or the Auth emulator)."""
    return settings.environment == "production" or bool(
        os.environ.get("FIREBASE_AUTH_EMULATOR_HOST")
    )


def create_custom_token(
    uid: str, *, role: str, service_center_id: str | None, settings: Settings
) -> str:
    """A Firebase custom token for ``uid`` with the role claims."""
    claims = developer_claims(role, service_center_id)
    if uses_firebase_admin(settings):
        from firebase_admin import auth

        token = auth.create_custom_token(uid, claims, app=_firebase_app(settings))
        return token.decode("ascii") if isinstance(token, bytes) else str(token)
    return _unsigned_token(uid, claims)


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unsigned_token(uid: str, claims: dict[str, Any]) -> str:
    """What firebase-admin makes under the Auth emulator: same header, payload, no signature."""
    now = int(time.time())
    payload = {
        "iss": EMULATOR_SIGNER,
        "sub": EMULATOR_SIGNER,
        "aud": FIREBASE_AUDIENCE,
        "uid": uid,
        "iat": now,
        "exp": now + TOKEN_LIFETIME_SECONDS,
        "claims": claims,
    }
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."
