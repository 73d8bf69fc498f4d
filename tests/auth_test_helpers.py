"""Helpers shared by the tests/test_auth_*.py files (plain functions, no fixtures)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
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


def register_at_once(make_client: Callable[[], Any], email: str, attempts: int) -> list[int]:
    """Register ``email`` from ``attempts`` threads released together; their statuses.

    Each thread uses its own client from ``make_client`` (conftest's ``call("auth")``).
    """
    statuses: list[int] = []
    barrier = threading.Barrier(attempts)
    lock = threading.Lock()

    def attempt() -> None:
        client = make_client()
        barrier.wait()
        status = register(client, email).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def login(client: Any, email: str, password: str = GOOD_PASSWORD, **kwargs: Any) -> Any:
    return client.post("/api/auth/login", json={"email": email, "password": password}, **kwargs)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def confirmation_code(email: str) -> str:
    """The newest confirmation code queued for ``email`` (what the owner finds in the mail)."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    from shared.firestore import get_client

    to_this_address = FieldFilter("to", "==", email.lower())
    outbox = get_client().collection("outbox").where(filter=to_this_address)
    messages = [s.to_dict() or {} for s in outbox.stream()]
    codes = sorted(
        (m["created_at"], m["confirmation_code"]) for m in messages if "confirmation_code" in m
    )
    assert codes, f"no confirmation code was sent to {email}"
    return str(codes[-1][1])


def confirm(client: Any, email: str, **kwargs: Any) -> Any:
    """Confirm ``email`` with the code it was sent: the sign-in reply."""
    code = confirmation_code(email)
    return client.post("/api/auth/verify-email", json={"code": code}, **kwargs)


def registered(client: Any, password: str = GOOD_PASSWORD) -> dict[str, Any]:
    """Register and confirm a fresh customer; returns the sign-in body plus the email used."""
    email = new_email()
    response = register(client, email, password)
    assert response.status_code == 202, response.get_json()
    confirmed = confirm(client, email)
    assert confirmed.status_code == 200, confirmed.get_json()
    return {**confirmed.get_json(), "email": email, "password": password}


def error_code(response: Any) -> str:
    body = response.get_json()
    assert isinstance(body, dict) and "error" in body, body
    return str(body["error"]["code"])


def make_admin(db: Any, user_id: str) -> None:
    db.collection("users").document(user_id).update({"role": "admin"})
