"""Idempotency-Key handling for booking-creating requests.

A client that retries ``POST /`` (or an accept) after a lost response must not book twice.
Each key is recorded in ``booking_idempotency/{sha256(user_id + key)}``:

1. :func:`begin` creates the record *if absent* (a transactional create on a deterministic
   id, so two concurrent requests with one key cannot both proceed) with the request's
   fingerprint and state ``in_progress``.
2. The booking transaction itself writes the record's final state (``completed`` with the
   response status and body) — see :func:`completion_fields` — so a committed booking and
   its replayable answer appear together or not at all.
3. If the request fails before committing, :func:`abandon` deletes the record so the client
   may retry with the same key.

A second request with the key then gets: the stored response replayed (same fingerprint,
completed), 422 (different fingerprint), or 409 (the first is still in progress). Records
expire after ``RETENTION`` through a Firestore TTL policy on ``expires_at``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from google.api_core import exceptions as google_exceptions

from shared import clock
from shared.config import get_settings
from shared.errors import BadRequest, Conflict, ValidationFailed
from shared.firestore import get_client
from shared.transactions import Contended, run_transaction

if TYPE_CHECKING:
    from google.cloud.firestore import DocumentReference, Transaction

COLLECTION = "booking_idempotency"
HEADER = "Idempotency-Key"
# The spec promises at least 24 h; a little more covers clients retrying across a day
# boundary and the TTL sweeper's own delay (it deletes within ~24 h after expiry anyway).
RETENTION = timedelta(hours=25)
# A request that crashed mid-way leaves an in_progress record; a retry may take it over once
# nobody can still be working on it: every Firestore call of a request ends within its
# deadline (PMI_REQUEST_DEADLINE_SECONDS, shared/deadline.py), plus this margin for a commit
# already on its way. Correctness does not rest on the lease: the booking transaction
# re-reads the record and commits only while the claim's token is still there.
LEASE_MARGIN_SECONDS = 5.0
# Printable ASCII, as the IETF draft for the header recommends; UUIDs fit easily.
_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")

STATE_IN_PROGRESS = "in_progress"
STATE_COMPLETED = "completed"


@dataclass(frozen=True)
class Replay:
    """A completed request's stored answer."""

    status: int
    body: Any


@dataclass(frozen=True)
class Claim:
    """This request owns the key; the booking transaction completes the record."""

    doc_id: str
    # Which request holds the key: a retry that takes over an expired claim writes its own.
    token: str = ""

    def ref(self) -> DocumentReference:
        return get_client().collection(COLLECTION).document(self.doc_id)


def parse_key(raw: str | None) -> str | None:
    """The header's key, None when absent; 400 when it is not 1..255 printable characters."""
    if raw is None:
        return None
    if not _KEY_PATTERN.fullmatch(raw):
        raise BadRequest(
            f"{HEADER} must be 1..255 printable ASCII characters.",
            code="invalid_idempotency_key",
        )
    return raw


def fingerprint(operation: str, payload: Any) -> str:
    """sha256 of the operation and its canonical JSON body (key order and spacing ignored)."""
    canonical = json.dumps(
        {"operation": operation, "payload": payload},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_id(user_id: str, key: str) -> str:
    """The record's document id for one user's key."""
    # The user id is part of the hash: two users choosing the same key never collide.
    return hashlib.sha256(f"{user_id}\n{key}".encode()).hexdigest()


def begin(user_id: str, key: str, request_fingerprint: str) -> Claim | Replay:
    """Claim ``key`` for this request, or return the replay, or raise 409/422."""
    doc_id = record_id(user_id, key)
    ref = get_client().collection(COLLECTION).document(doc_id)

    def claim(transaction: Transaction) -> Claim | Replay:
        now = clock.now()
        snapshot = ref.get(transaction=transaction)
        record = snapshot.to_dict() if snapshot.exists else None
        if record is not None and _expired(record, now):
            record = None
        if record is not None:
            if record.get("fingerprint") != request_fingerprint:
                raise ValidationFailed(
                    f"This {HEADER} was used with a different request body.",
                    code="idempotency_key_reused",
                )
            if record.get("state") == STATE_COMPLETED:
                return Replay(int(record["status"]), json.loads(record["response"]))
            if record.get("lease_until") and record["lease_until"] > now:
                raise _in_progress(record["lease_until"] - now)
        token = uuid.uuid4().hex
        transaction.set(
            ref,
            {
                "user_id": user_id,
                "fingerprint": request_fingerprint,
                "state": STATE_IN_PROGRESS,
                "created_at": now,
                "lease_until": now + lease(),
                "expires_at": now + RETENTION,
                "token": token,
            },
        )
        return Claim(doc_id, token)

    try:
        # Few attempts and no back-off: requests contending for one key *are* duplicates.
        return run_transaction(
            claim, what="claim idempotency key", lock_keys=[ref.path], attempts=5, outer_attempts=1
        )
    except Contended:
        # Contention on one key means a concurrent duplicate holds it: a business
        # conflict (409), not an overloaded database.
        raise _in_progress() from None


def lease() -> timedelta:
    """How long a claim keeps a key from retries (see LEASE_MARGIN_SECONDS)."""
    return timedelta(seconds=get_settings().request_deadline_seconds + LEASE_MARGIN_SECONDS)


def _in_progress(left: timedelta | None = None) -> Conflict:
    wait = lease() if left is None else left
    return Conflict(
        "A request with this Idempotency-Key is still being processed; send it again after "
        "Retry-After seconds.",
        code="idempotency_in_progress",
        headers={"Retry-After": str(max(1, math.ceil(wait.total_seconds())))},
    )


def check_claim(record: dict[str, Any] | None, claim: Claim) -> None:
    """In the booking transaction: go on only while ``claim`` still holds its key.

    A retry takes over a claim whose lease ran out; the request it took over from (slow, not
    dead) then refuses to commit instead of booking a second time.
    """
    if record is None or record.get("token", "") != claim.token:
        raise _in_progress()


def _expired(record: dict[str, Any], now: datetime) -> bool:
    expires = record.get("expires_at")
    return isinstance(expires, datetime) and expires <= now


def completion_fields(status: int, body: Any) -> dict[str, Any]:
    """The record's final fields, written by the transaction that did the work."""
    from shared.http import to_jsonable

    now = clock.now()
    return {
        "state": STATE_COMPLETED,
        "status": status,
        # Stored as text: the body has nested lists Firestore could not hold as values.
        "response": json.dumps(to_jsonable(body), separators=(",", ":")),
        "completed_at": now,
        "lease_until": None,
        "expires_at": now + RETENTION,
    }


def abandon(claim: Claim) -> None:
    """Forget an in-progress claim whose request failed, so the key may be retried.

    Deleted only while still ``in_progress`` and unchanged since read (a precondition on
    its update time): if the booking did commit after all, its completed record stays.
    """
    ref = claim.ref()
    try:
        snapshot = ref.get()
        if snapshot.exists and (snapshot.to_dict() or {}).get("state") == STATE_IN_PROGRESS:
            ref.delete(option=get_client().write_option(last_update_time=snapshot.update_time))
    except google_exceptions.GoogleAPICallError:
        # The lease expires on its own; a failed clean-up must not mask the real error.
        pass
