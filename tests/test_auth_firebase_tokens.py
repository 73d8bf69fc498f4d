"""Firebase custom tokens: firebase-admin's own path under the Auth emulator, and the local one."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

import pytest

from identity import firebase_tokens
from shared.auth.sdk_revocation import FIREBASE_APP_NAME
from shared.config import get_settings


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")

    def decode(part: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        return data

    return decode(header), decode(payload), signature


def test_firebase_admin_makes_an_unsigned_token_under_the_auth_emulator() -> None:
    # The harness sets FIREBASE_AUTH_EMULATOR_HOST, as make dev does.
    settings = get_settings()
    token = firebase_tokens.create_custom_token(
        "user-1", role="service_center", service_center_id="c1", settings=settings
    )
    header, payload, signature = _parts(token)
    assert header["alg"] == "none" and signature == ""
    assert payload["uid"] == "user-1"
    claims = payload["claims"]
    assert {k: v for k, v in claims.items() if k != "minted_at"} == {
        "role": "service_center",
        "service_center_id": "c1",
    }
    # Dated by the machine's clock, as the revocation cut-off the rules compare it with.
    assert abs(claims["minted_at"] - payload["iat"]) <= 1
    assert payload["aud"] == firebase_tokens.FIREBASE_AUDIENCE
    assert payload["exp"] - payload["iat"] == firebase_tokens.TOKEN_LIFETIME_SECONDS


def test_customer_token_carries_only_the_role_claim_and_its_minting_time() -> None:
    token = firebase_tokens.create_custom_token(
        "u", role="customer", service_center_id=None, settings=get_settings()
    )
    assert set(_parts(token)[1]["claims"]) == {"role", "minted_at"}


def test_without_emulator_or_credentials_firebase_admin_refuses_to_sign(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Outside the emulator firebase-admin must sign for real; with no service account here
    # it fails instead of minting an unsigned token, so production can never emit one.
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/credentials.json")
    _forget_firebase_app()  # firebase-admin fixes emulator mode when its app is created
    try:
        with pytest.raises(Exception):  # noqa: B017 - google-auth's error type varies
            firebase_tokens.create_custom_token(
                "u", role="customer", service_center_id=None, settings=get_settings()
            )
    finally:
        _forget_firebase_app()


def _forget_firebase_app() -> None:
    import firebase_admin

    with contextlib.suppress(ValueError):
        firebase_admin.delete_app(firebase_admin.get_app(FIREBASE_APP_NAME))
