"""The platform's JWTs: short-lived access tokens and rotating refresh tokens.

Both are HS256 with the key from :mod:`shared.secrets`, and only HS256 is accepted (the
algorithm is pinned, never read from the token). The two kinds are told apart twice — by
the ``typ`` header and by the audience — so neither can stand in for the other.

Claims, all required: ``iss``, ``aud``, ``sub`` (user id), ``role``, ``jti``, ``iat``,
``exp``, plus ``sid`` (the session the token belongs to).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from enum import StrEnum

import jwt

from shared.config import Settings, get_settings
from shared.errors import Unauthorized
from shared.ids import is_document_id
from shared.secrets import signing_keys

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("iss", "aud", "sub", "role", "jti", "iat", "exp", "sid")


class TokenKind(StrEnum):
    # RFC 9068 names access-token JWTs "at+jwt"; refresh tokens get a sibling type.
    ACCESS = "at+jwt"
    REFRESH = "rt+jwt"


@dataclass(frozen=True)
class TokenClaims:
    kind: TokenKind
    user_id: str
    role: str
    session_id: str
    token_id: str
    issued_at: int
    expires_at: int


@dataclass(frozen=True)
class IssuedToken:
    token: str
    token_id: str
    expires_at: int
    expires_in: int


def audience_for(kind: TokenKind, settings: Settings) -> str:
    if kind is TokenKind.ACCESS:
        return settings.jwt_audience
    return f"{settings.jwt_audience}:refresh"


def current_time() -> int:
    """Now, in whole seconds since the epoch, as tokens count time.

    Token times follow the system clock, not shared.clock: PyJWT checks ``exp`` against the
    system clock, so a token minted at a pinned instant would be judged at the real one.
    """
    return int(time.time())


def issue(
    kind: TokenKind,
    *,
    user_id: str,
    role: str,
    session_id: str,
    token_id: str | None = None,
    now: float | None = None,
    settings: Settings | None = None,
    key: bytes | None = None,
) -> IssuedToken:
    """Sign a token of ``kind`` for a user's session."""
    settings = settings or get_settings()
    issued_at = int(time.time() if now is None else now)
    ttl = (
        settings.access_token_ttl_seconds
        if kind is TokenKind.ACCESS
        else settings.refresh_token_ttl_seconds
    )
    jti = token_id or uuid.uuid4().hex
    claims = {
        "iss": settings.jwt_issuer,
        "aud": audience_for(kind, settings),
        "sub": user_id,
        "role": role,
        "sid": session_id,
        "jti": jti,
        "iat": issued_at,
        "exp": issued_at + ttl,
    }
    token = jwt.encode(
        claims,
        key or signing_keys.get(settings),
        algorithm=ALGORITHM,
        headers={"typ": kind.value},
    )
    return IssuedToken(token=token, token_id=jti, expires_at=issued_at + ttl, expires_in=ttl)


def verify(
    token: str,
    kind: TokenKind,
    *,
    now: float | None = None,
    settings: Settings | None = None,
    key: bytes | None = None,
) -> TokenClaims:
    """Verify signature, algorithm, type, issuer, audience and times; or raise 401."""
    settings = settings or get_settings()
    current = time.time() if now is None else now
    leeway = settings.jwt_leeway_seconds
    try:
        decoded = jwt.api_jwt.decode_complete(
            token,
            key or signing_keys.get(settings),
            algorithms=[ALGORITHM],
            audience=audience_for(kind, settings),
            issuer=settings.jwt_issuer,
            leeway=leeway,
            options={"require": list(REQUIRED_CLAIMS), "verify_iat": True},
        )
    except jwt.PyJWTError:
        # One message for every failure: the reason helps attackers more than clients.
        raise Unauthorized("The token is invalid or expired.", code="invalid_token") from None
    header, claims = decoded["header"], decoded["payload"]
    if header.get("typ") != kind.value or header.get("alg") != ALGORITHM:
        raise Unauthorized("The token is invalid or expired.", code="invalid_token")
    if not all(
        isinstance(claims[name], str) and claims[name] for name in ("sub", "role", "sid", "jti")
    ):
        raise Unauthorized("The token is invalid or expired.", code="invalid_token")
    if not (is_document_id(claims["sub"]) and is_document_id(claims["sid"])):
        # Both become document paths (users/{sub}, sessions/{sid}): the one id rule.
        raise Unauthorized("The token is invalid or expired.", code="invalid_token")
    issued_at, expires_at = claims["iat"], claims["exp"]
    if not isinstance(issued_at, int) or not isinstance(expires_at, int):
        raise Unauthorized("The token is invalid or expired.", code="invalid_token")
    if issued_at > current + leeway:  # minted in the future: a forged or broken clock
        raise Unauthorized("The token is invalid or expired.", code="invalid_token")
    return TokenClaims(
        kind=kind,
        user_id=claims["sub"],
        role=claims["role"],
        session_id=claims["sid"],
        token_id=claims["jti"],
        issued_at=issued_at,
        expires_at=expires_at,
    )


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
