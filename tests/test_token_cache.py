"""Each instance remembers the access tokens it has verified (shared.auth.tokens).

Only what does not change with time is remembered; expiry is judged on every request, a
token is remembered under the exact key, kind, audience and issuer it passed with, and a
refused token is not remembered at all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from conftest import TEST_SIGNING_KEY

from shared.auth import tokens
from shared.auth.tokens import TokenKind
from shared.config import get_settings
from shared.errors import Unauthorized

KEY = TEST_SIGNING_KEY.encode()
ROTATED_KEY = b"the-next-signing-key-of-enough-length-0123456789"


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    tokens._signed_claims.cache_clear()
    yield
    tokens._signed_claims.cache_clear()


def _issue(kind: TokenKind = TokenKind.ACCESS, now: float | None = None) -> tokens.IssuedToken:
    return tokens.issue(
        kind, user_id="user-1", role="customer", session_id="session-1", now=now, key=KEY
    )


def _verify(token: str, kind: TokenKind = TokenKind.ACCESS, **options: Any) -> tokens.TokenClaims:
    return tokens.verify(token, kind, key=options.pop("key", KEY), **options)


def test_the_same_token_is_verified_cryptographically_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []
    real_decode = jwt.api_jwt.decode_complete

    def counting_decode(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(jwt.api_jwt, "decode_complete", counting_decode)
    issued = _issue()
    for _ in range(5):
        assert _verify(issued.token).user_id == "user-1"
    assert len(calls) == 1


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    issued = _issue()
    leeway = get_settings().jwt_leeway_seconds
    _verify(issued.token)  # remembered now
    assert _verify(issued.token, now=issued.expires_at + leeway - 1).token_id == issued.token_id
    with pytest.raises(Unauthorized):
        _verify(issued.token, now=issued.expires_at + leeway)


def test_a_remembered_token_issued_in_the_future_is_refused_until_then() -> None:
    later = time.time() + 3600
    issued = _issue(now=later)
    leeway = get_settings().jwt_leeway_seconds
    with pytest.raises(Unauthorized):
        _verify(issued.token)
    assert _verify(issued.token, now=later - leeway).token_id == issued.token_id
    with pytest.raises(Unauthorized):  # remembered, and still judged by the clock
        _verify(issued.token)


def test_a_signed_not_before_is_honoured_on_every_call() -> None:
    settings = get_settings()
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": "user-1",
        "role": "customer",
        "sid": "session-1",
        "jti": "with-nbf",
        "iat": now,
        "exp": now + 600,
        "nbf": now + 300,
    }
    token = jwt.encode(claims, KEY, algorithm="HS256", headers={"typ": TokenKind.ACCESS.value})
    with pytest.raises(Unauthorized):
        _verify(token)
    assert _verify(token, now=now + 300).token_id == "with-nbf"
    with pytest.raises(Unauthorized):
        _verify(token, now=now)


def test_a_token_remembered_under_one_key_is_refused_under_the_next() -> None:
    issued = _issue()
    _verify(issued.token)
    with pytest.raises(Unauthorized):
        _verify(issued.token, key=ROTATED_KEY)


def test_a_remembered_access_token_is_still_refused_as_a_refresh_token() -> None:
    issued = _issue()
    _verify(issued.token)
    with pytest.raises(Unauthorized):
        _verify(issued.token, TokenKind.REFRESH)


def test_a_refused_token_is_not_remembered() -> None:
    forged = jwt.encode(
        {"sub": "user-1"}, b"not-the-key-but-long-enough-0123456789", algorithm="HS256"
    )
    for junk in (forged, "not.a.token", _issue().token + "x"):
        with pytest.raises(Unauthorized):
            _verify(junk)
    assert tokens._signed_claims.cache_info().currsize == 0


def test_the_memory_is_bounded() -> None:
    maxsize = tokens._signed_claims.cache_info().maxsize
    assert maxsize is not None
    for _ in range(maxsize + 10):
        _verify(
            tokens.issue(
                TokenKind.ACCESS, user_id="user-1", role="customer", session_id="session-1", key=KEY
            ).token
        )
    assert tokens._signed_claims.cache_info().currsize == maxsize
