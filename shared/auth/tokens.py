"""The platform's JWTs: short-lived access tokens and rotating refresh tokens.

Both are HS256 with the key from :mod:`shared.secrets`, and only HS256 is accepted (the
algorithm is pinned, never read from the token). The two kinds are told apart twice — by
the ``typ`` header and by the audience — so neither can stand in for the other.

Claims, all required: ``iss``, ``aud``, ``sub`` (user id), ``role``, ``jti``, ``iat``,
``exp``, plus ``sid`` (the session the token belongs to).
"""

from __future__ import annotations

import functools
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
    """Verify signature, algorithm, type, issuer, audience and times; or raise 401.

    What does not change with time (the signature, the header and the claims' presence and
    shape) is judged once per token and key and remembered (:func:`_signed_claims`); the
    times (``exp``, ``iat``, ``nbf``) are judged on every call, against ``now``.
    """
    settings = settings or get_settings()
    current = time.time() if now is None else now
    leeway = settings.jwt_leeway_seconds
    signed = _signed_claims(
        token,
        kind,
        key or signing_keys.get(settings),
        audience_for(kind, settings),
        settings.jwt_issuer,
    )
    claims = signed.claims
    # PyJWT's own rules: expired at exp - leeway, too early before iat/nbf + leeway.
    if claims.expires_at <= current - leeway or claims.issued_at > current + leeway:
        raise _invalid()
    if signed.not_before is not None and signed.not_before > current + leeway:
        raise _invalid()
    return claims


@dataclass(frozen=True)
class _Signed:
    claims: TokenClaims
    not_before: int | None  # our tokens carry none; honoured if a signed one ever does


def _invalid() -> Unauthorized:
    # One message for every failure: the reason helps attackers more than clients.
    return Unauthorized("The token is invalid or expired.", code="invalid_token")


# Verifying a token's HMAC and claims costs ~60 µs of CPU; a client sends the same access
# token with every request until it expires, so each instance remembers the tokens it has
# verified (bounded: ~1 KB each). Only a token that passed is remembered, keyed by the exact
# token, key, audience and issuer: a rotated key or another kind never hits an entry.
@functools.lru_cache(maxsize=2048)
def _signed_claims(token: str, kind: TokenKind, key: bytes, audience: str, issuer: str) -> _Signed:
    """The claims of a token whose signature, header and claims hold, times aside; or 401.

    A failure raises, and lru_cache keeps no raised call: junk tokens cannot crowd out the
    good ones.
    """
    try:
        decoded = jwt.api_jwt.decode_complete(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            options={
                "require": list(REQUIRED_CLAIMS),
                # Judged by verify() on every call, not once here.
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.PyJWTError:
        raise _invalid() from None
    header, claims = decoded["header"], decoded["payload"]
    if header.get("typ") != kind.value or header.get("alg") != ALGORITHM:
        raise _invalid()
    if not all(
        isinstance(claims[name], str) and claims[name] for name in ("sub", "role", "sid", "jti")
    ):
        raise _invalid()
    if not (is_document_id(claims["sub"]) and is_document_id(claims["sid"])):
        # Both become document paths (users/{sub}, sessions/{sid}): the one id rule.
        raise _invalid()
    issued_at, expires_at, not_before = claims["iat"], claims["exp"], claims.get("nbf")
    if not isinstance(issued_at, int) or not isinstance(expires_at, int):
        raise _invalid()
    if not_before is not None and not isinstance(not_before, int):
        raise _invalid()
    claimed = TokenClaims(
        kind=kind,
        user_id=claims["sub"],
        role=claims["role"],
        session_id=claims["sid"],
        token_id=claims["jti"],
        issued_at=issued_at,
        expires_at=expires_at,
    )
    return _Signed(claims=claimed, not_before=not_before)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
