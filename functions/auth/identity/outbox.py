"""Messages to account owners, queued as ``outbox`` documents (nothing is sent from here).

Registration answers every caller the same way and tells the *owner of the address* what
happened instead — "confirm your new account" or "someone tried to register with your
address" — so the API never reveals which addresses have accounts. Those messages are
written here, one document each, in the shape Firebase's Trigger Email extension
(``firestore-send-email``) reads: top-level ``to`` and a ``message`` with ``subject`` and
``text``. Installing that extension on the ``outbox`` collection sends them; this project
sends no mail itself (docs/auth.md, "Registration"). A TTL policy on ``expires_at``
deletes messages after :data:`KEEP_DAYS` days, which also bounds how long a confirmation
link sits in the database. Clients can never read this collection (firestore.rules).
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from shared import clock
from shared.firestore import get_client

if TYPE_CHECKING:
    from google.cloud.firestore import WriteBatch

COLLECTION = "outbox"
# Long enough for a mail worker that was down for a while; short enough that confirmation
# links do not pile up.
KEEP_DAYS = 7


class Template(StrEnum):
    CONFIRM_ACCOUNT = "confirm_account"
    ACCOUNT_EXISTS = "account_exists"


def _render(template: Template, *, token: str | None) -> tuple[str, str]:
    if template is Template.CONFIRM_ACCOUNT:
        return (
            "Confirm your PMI account",
            "Welcome to PMI. Confirm this address to finish creating your account: send "
            f"this code to the app's confirmation screen (POST /api/auth/verify-email):\n\n"
            f"{token}\n\nIf you did not sign up, ignore this message: nothing happens "
            "without the code.",
        )
    return (
        "Someone tried to create a PMI account with your address",
        "Someone (maybe you) tried to register a new PMI account with this address, which "
        "already has one. Nothing was changed. If it was you, sign in with your existing "
        "password. If it was not, you can ignore this message; your account is unaffected.",
    )


def add_to(
    batch: WriteBatch, to: str, template: Template, *, user_id: str, token: str | None = None
) -> str:
    """Queue one message to ``to`` in ``batch`` (committed with the change it reports)."""
    subject, text = _render(template, token=token)
    now = clock.now()
    ref = get_client().collection(COLLECTION).document()
    extra = {"confirmation_code": token} if token is not None else {}
    batch.create(
        ref,
        {
            **extra,
            "to": to,
            "message": {"subject": subject, "text": text},
            # Not the extension's "template" field (that one names a Handlebars template).
            "kind": template.value,
            "user_id": user_id,
            "created_at": now,
            "expires_at": now + timedelta(days=KEEP_DAYS),
        },
    )
    return str(ref.id)
