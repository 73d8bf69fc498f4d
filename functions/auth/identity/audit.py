"""Security audit trail: one ``audit_log`` document and one structured log line per event.

Both carry the request id (so an entry leads to the request's other log lines), the actor
(who did it; None for anonymous) and the subject (whose account it concerns). The log line
is the fast, searchable copy; the document is the durable one an admin can page through.
Details never hold a password, a hash or a token.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from shared import clock, logs, request_context
from shared.firestore import get_client

COLLECTION = "audit_log"


class AuditEvent(StrEnum):
    REGISTERED = "registered"
    # Someone registered an address that already has an account (its owner was told).
    REGISTRATION_FOR_EXISTING_ACCOUNT = "registration_for_existing_account"
    EMAIL_CONFIRMED = "email_confirmed"
    LOGIN_SUCCEEDED = "login_succeeded"
    LOGIN_FAILED = "login_failed"
    LOCKOUT = "lockout"
    REFRESH_REUSED = "refresh_reused"
    LOGOUT_ALL = "logout_all"
    PASSWORD_CHANGED = "password_changed"
    ROLE_CHANGED = "role_changed"
    ACCOUNT_DEACTIVATED = "account_deactivated"
    ACCOUNT_REACTIVATED = "account_reactivated"


# Failures and attacks are warnings in Cloud Logging so alerts can key on severity.
_WARNING_EVENTS = frozenset(
    {
        AuditEvent.LOGIN_FAILED,
        AuditEvent.LOCKOUT,
        AuditEvent.REFRESH_REUSED,
        AuditEvent.REGISTRATION_FOR_EXISTING_ACCOUNT,
    }
)


def record(
    event: AuditEvent,
    *,
    actor_id: str | None,
    subject_id: str | None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Write the event to ``audit_log`` and to the structured log."""
    identity = request_context.current()
    entry: dict[str, Any] = {
        "event": event.value,
        "actor_id": actor_id,
        "subject_id": subject_id,
        "request_id": identity.request_id if identity else None,
        "client_request_id": identity.client_request_id if identity else None,
        "ip": ip,
        "at": clock.now(),
        "details": details or {},
    }
    get_client().collection(COLLECTION).add(entry)
    severity = "WARNING" if event in _WARNING_EVENTS else "NOTICE"
    logs.log(
        severity,
        f"audit: {event.value}",
        audit=True,
        event=event.value,
        actor_id=actor_id,
        subject_id=subject_id,
        ip=ip,
        details=details or {},
    )
