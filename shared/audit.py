"""The security audit trail: one ``audit_log`` document and one structured log line per event.

Shared because more than one function records events: the auth function (sign-ins, role
changes; its vocabulary is ``identity.audit.AuditEvent``) and the vehicles function (mileage
corrections, VIN claim decisions). Every entry has the same shape — ``event``, ``actor_id``
(who did it; None for anonymous), ``subject_id`` (whose account it concerns), ``request_id``
(leads to the request's other log lines), ``client_request_id`` (the id the client sent,
if any), ``ip``, ``at``, ``details`` — and details never
hold a password, a hash or a token. The log line is the fast, searchable copy; the document
is the durable one an admin pages through.

:func:`record` writes at once; :func:`stage` puts the document in the caller's transaction,
so the entry exists exactly when the change it describes does, and :func:`announce` then
writes the log line after the commit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from shared import clock, logs, request_context
from shared.firestore import get_client

if TYPE_CHECKING:
    from google.cloud.firestore import Transaction

COLLECTION: Final = "audit_log"


def entry(
    event: str,
    *,
    actor_id: str | None,
    subject_id: str | None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``audit_log`` document for one event of this request."""
    identity = request_context.current()
    return {
        "event": event,
        "actor_id": actor_id,
        "subject_id": subject_id,
        "request_id": identity.request_id if identity else None,
        # The X-Request-ID the client sent, if any: kept for correlation beside our own id.
        "client_request_id": identity.client_request_id if identity else None,
        "ip": ip,
        "at": clock.now(),
        "details": details or {},
    }


def announce(document: dict[str, Any], *, severity: str = "NOTICE") -> None:
    """The structured log line of an entry (Cloud Logging alerts can key on severity)."""
    logs.log(
        severity,
        f"audit: {document['event']}",
        audit=True,
        event=document["event"],
        actor_id=document["actor_id"],
        subject_id=document["subject_id"],
        ip=document["ip"],
        details=document["details"],
    )


def record(event: str, *, severity: str = "NOTICE", **fields: Any) -> None:
    """Write the event to ``audit_log`` and to the structured log."""
    document = entry(event, **fields)
    get_client().collection(COLLECTION).add(document)
    announce(document, severity=severity)


def stage(transaction: Transaction, event: str, **fields: Any) -> dict[str, Any]:
    """Add the event's document to ``transaction``; announce it after the commit."""
    document = entry(event, **fields)
    transaction.create(get_client().collection(COLLECTION).document(), document)
    return document
