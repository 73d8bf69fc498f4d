"""Firebase custom tokens: firebase-admin's own path under the Auth emulator, and the local one."""

from __future__ import annotations

import base64
import json
from typing import Any

import firebase_tokens
import pytest

from shared.config import get_settings


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")

    def decode(part: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        return data

    return decode(header), decode(payload), signature


def test_firebase_admin_makes_an_unsigned_token_under_the_auth_emulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    settings = get_settings()
    assert firebase_tokens.uses_firebase_admin(settings)
    token = firebase_tokens.create_custom_token(
        "user-1", role="service_center", service_center_id="c1", settings=settings
    )
    header, payload, signature = _parts(token)
    assert header["alg"] == "none" and signature == ""
    assert payload["uid"] == "user-1"
    assert payload["claims"] == {"role": "service_center", "service_center_id": "c1"}
    assert payload["aud"] == firebase_tokens.FIREBASE_AUDIENCE


def test_local_token_has_the_same_shape_as_the_emulator_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = get_settings()
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    emulated = _parts(
        firebase_tokens.create_custom_token(
            "u", role="customer", service_center_id=None, settings=settings
        )
    )
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST")
    assert not firebase_tokens.uses_firebase_admin(settings)
    local = _parts(
        firebase_tokens.create_custom_token(
            "u", role="customer", service_center_id=None, settings=settings
        )
    )
    assert local[0]["alg"] == emulated[0]["alg"] == "none"
    assert set(local[1]) == set(emulated[1])
    assert local[1]["claims"] == emulated[1]["claims"] == {"role": "customer"}
    assert local[1]["exp"] - local[1]["iat"] == 3600


def test_production_always_uses_firebase_admin() -> None:
    production = get_settings().model_copy(update={"environment": "production"})
    assert firebase_tokens.uses_firebase_admin(production)
