"""Helpers shared by the tests/test_auth_*.py files (plain functions, no fixtures)."""

from __future__ import annotations

import uuid
from typing import Any

# Passes the policy: 12+ characters, not common, no sequence, no email name.
GOOD_PASSWORD = "violet-harbour-lantern-42"
OTHER_PASSWORD = "copper-meadow-sextant-77"


def new_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.test"


def register(
    client: Any, email: str | None = None, password: str = GOOD_PASSWORD, **extra: Any
) -> Any:
    body = {"email": email or new_email(), "password": password, "full_name": "Ada Driver"}
    body.update(extra)
    return client.post("/api/auth/register", json=body)


def login(client: Any, email: str, password: str = GOOD_PASSWORD, **kwargs: Any) -> Any:
    return client.post("/api/auth/login", json={"email": email, "password": password}, **kwargs)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def registered(client: Any, password: str = GOOD_PASSWORD) -> dict[str, Any]:
    """Register a fresh customer; returns the 201 body plus the email used."""
    email = new_email()
    response = register(client, email, password)
    assert response.status_code == 201, response.get_json()
    return {**response.get_json(), "email": email, "password": password}


def error_code(response: Any) -> str:
    body = response.get_json()
    assert isinstance(body, dict) and "error" in body, body
    return str(body["error"]["code"])


def make_admin(db: Any, user_id: str) -> None:
    db.collection("users").document(user_id).update({"role": "admin"})
