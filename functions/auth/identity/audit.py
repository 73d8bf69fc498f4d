"""The auth function's security events, written to the shared audit trail (shared.audit).

Each entry carries the request id (so it leads to the request's other log lines), the actor
(who did it; None for anonymous) and the subject (whose account it concerns); the shape and
the writing are shared.audit's, the vocabulary of account events is this module's.
Details never hold a password, a hash or a token.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from shared import audit

COLLECTION = audit.COLLECTION


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
    audit.record(
        event.value,
        severity="WARNING" if event in _WARNING_EVENTS else "NOTICE",
        actor_id=actor_id,
        subject_id=subject_id,
        ip=ip,
        details=details,
    )
