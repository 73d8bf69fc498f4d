"""The token attack set: every forged, mismatched or stale token is a 401.

Tokens are crafted by hand or with pyjwt against a real signed-in user, so the only thing
wrong with each is the attack itself.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from auth_test_helpers import bearer, error_code, registered
from conftest import TEST_SIGNING_KEY

from shared.auth import tokens
from shared.config import get_settings

KEY = TEST_SIGNING_KEY.encode()
WRONG_KEY = b"another-key-of-enough-length-0123456789abcdef"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _claims(account: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """Valid access-token claims for the account's session."""
    settings = get_settings()
    real = jwt.decode(account["access_token"], options={"verify_signature": False})
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": real["sub"],
        "role": real["role"],
        "sid": real["sid"],
        "jti": "forged-" + str(now),
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(claims: dict[str, Any], key: bytes = KEY, alg: str = "HS256", typ: str = "at+jwt") -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"typ": typ})


@pytest.fixture
def account(call: Any) -> dict[str, Any]:
    return registered(call("auth"))


def _me(call: Any, token: str) -> Any:
    return call("auth").get("/api/auth/me", headers=bearer(token))


def test_control_a_correctly_forged_token_with_the_real_key_is_accepted(
    call: Any, account: dict[str, Any]
) -> None:
    # Proves the attack tests below fail for the attack, not for a broken recipe.
    assert _me(call, _sign(_claims(account))).status_code == 200


def test_alg_none_is_rejected(call: Any, account: dict[str, Any]) -> None:
    header = _b64({"alg": "none", "typ": "at+jwt"})
    token = f"{header}.{_b64(_claims(account))}."
    response = _me(call, token)
    assert response.status_code == 401 and error_code(response) == "invalid_token"


def test_hs384_is_rejected(call: Any, account: dict[str, Any]) -> None:
    assert _me(call, _sign(_claims(account), alg="HS384")).status_code == 401


def test_rs256_is_rejected(call: Any, account: dict[str, Any]) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(_claims(account), private_key, algorithm="RS256", headers={"typ": "at+jwt"})
    assert _me(call, token).status_code == 401


def test_wrong_key_is_rejected(call: Any, account: dict[str, Any]) -> None:
    assert _me(call, _sign(_claims(account), key=WRONG_KEY)).status_code == 401


def test_expired_token_is_rejected(call: Any, account: dict[str, Any]) -> None:
    now = int(time.time())
    expired = _claims(account, iat=now - 4000, exp=now - 120)  # past the 30 s leeway
    assert _me(call, _sign(expired)).status_code == 401


def test_token_issued_in_the_future_is_rejected(call: Any, account: dict[str, Any]) -> None:
    now = int(time.time())
    future = _claims(account, iat=now + 3600, exp=now + 7200)
    assert _me(call, _sign(future)).status_code == 401


@pytest.mark.parametrize("missing", ["iss", "aud", "sub", "role", "jti", "iat", "exp", "sid"])
def test_each_missing_claim_is_rejected(call: Any, account: dict[str, Any], missing: str) -> None:
    claims = _claims(account)
    del claims[missing]
    assert _me(call, _sign(claims)).status_code == 401


def test_wrong_issuer_or_audience_is_rejected(call: Any, account: dict[str, Any]) -> None:
    assert _me(call, _sign(_claims(account, iss="someone-else"))).status_code == 401
    assert _me(call, _sign(_claims(account, aud="other-api"))).status_code == 401


def test_refresh_token_cannot_be_used_as_an_access_token(
    call: Any, account: dict[str, Any]
) -> None:
    response = _me(call, account["refresh_token"])
    assert response.status_code == 401
    # Even with the access audience, the refresh typ header alone is refused.
    assert _me(call, _sign(_claims(account), typ="rt+jwt")).status_code == 401


def test_access_token_cannot_be_used_at_refresh(call: Any, account: dict[str, Any]) -> None:
    response = call("auth").post(
        "/api/auth/refresh", json={"refresh_token": account["access_token"]}
    )
    assert response.status_code == 401
    settings = get_settings()
    as_refresh_aud = _claims(account, aud=tokens.audience_for(tokens.TokenKind.REFRESH, settings))
    response = call("auth").post(
        "/api/auth/refresh", json={"refresh_token": _sign(as_refresh_aud, typ="at+jwt")}
    )
    assert response.status_code == 401


def test_tampered_role_is_rejected(call: Any, account: dict[str, Any]) -> None:
    # Payload edited without re-signing: the signature no longer matches.
    header, _payload, signature = account["access_token"].split(".")
    forged = f"{header}.{_b64(_claims(account, role='admin'))}.{signature}"
    assert _me(call, forged).status_code == 401
    # Re-signed with a key the attacker made up.
    assert _me(call, _sign(_claims(account, role="admin"), key=WRONG_KEY)).status_code == 401
    # And the admin list stays closed to the real token.
    users = call("auth").get("/api/auth/users", headers=bearer(account["access_token"]))
    assert users.status_code == 403


def test_garbage_and_wrong_scheme_are_rejected(call: Any, account: dict[str, Any]) -> None:
    client = call("auth")
    for header in ("Bearer not.a.jwt", "Bearer ", "Basic abc", f"Token {account['access_token']}"):
        assert client.get("/api/auth/me", headers={"Authorization": header}).status_code == 401
