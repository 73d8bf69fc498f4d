"""VIN claims: what happens when someone registers a VIN that is already on the platform.

Refusing with 409 ``vin_taken`` left the real owner of a car stuck when someone else had
registered its VIN first — a previous owner who never removed it, or a squatter — and told
anyone who asked whether a VIN is on the platform. Instead the registration becomes a
**claim** (``vin_claims/{id}``) that an admin resolves:

* the caller gets **202** with the claim (its id, the VIN, ``pending``) — never whose the
  current registration is, its vehicle id or how old it is;
* **approve**: the claimant gets the VIN — the current registration is removed like a
  DELETE would remove it (telemetry, service records and alerts of the former owner are
  theirs, not the car's next owner's, so they are deleted, not handed over) and the
  claimant's vehicle is registered from the claim, in one transaction with the VIN guard;
* **reject**: the current registration stays and the claim is closed.

Both decisions need a reason and write an ``audit_log`` entry in the same transaction.

Probing VINs this way is bounded and visible: one claim per (VIN, account), at most
:data:`MAX_PENDING_CLAIMS` pending per account, each an audit-visible document an admin
reviews. The claim's id is derived from the VIN and the claimant, so a repeated request
answers with the same claim.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from google.cloud import firestore

from shared import audit, clock, locks
from shared.auth.principal import Principal
from shared.errors import Conflict, NotFound
from shared.firestore import get_client
from shared.pagination import page_of
from shared.query_shapes import Direction, QueryShape, register
from shared.transactions import run_transaction
from shared.vehicle_documents import vehicle_ref
from vehicle import store

# Request models appear here only in annotations: a cold start whose first request validates
# no body does not import them (shared/model_refs.py).
if TYPE_CHECKING:
    from vehicle.models import VehicleCreate, VinClaimListQuery

if TYPE_CHECKING:
    from google.cloud.firestore import CollectionReference, DocumentReference, Query, Transaction

VIN_CLAIMS: Final = "vin_claims"
PENDING: Final = "pending"
APPROVED: Final = "approved"
REJECTED: Final = "rejected"

# Enough for a real owner with a few cars bought second-hand at once; few enough that using
# claims to test which VINs are registered stops after a handful of tries per account.
MAX_PENDING_CLAIMS: Final = 3

# Ids are hex digests: refusing anything else keeps a hostile id out of a document path.
CLAIM_ID_CHARS: Final = 32

_ORDER: tuple[tuple[str, Direction], ...] = (("created_at", "DESCENDING"),)
register(
    QueryShape(VIN_CLAIMS, equality=("claimant_id", "status"), description="pending claims cap"),
    *(
        QueryShape(VIN_CLAIMS, equality=eq, order=_ORDER, description="GET /vin-claims")
        for eq in (("claimant_id",), ("claimant_id", "status"), (), ("status",))
    ),
)


def claim_id(vin: str, claimant_id: str) -> str:
    return hashlib.sha256(f"{vin}\n{claimant_id}".encode()).hexdigest()[:CLAIM_ID_CHARS]


def _ref(claim: str) -> DocumentReference:
    if len(claim) != CLAIM_ID_CHARS or not all(c in "0123456789abcdef" for c in claim):
        raise NotFound("The claim does not exist.")
    return get_client().collection(VIN_CLAIMS).document(claim)


@dataclass(frozen=True)
class Claimed:
    """A claim as the claimant sees it; ``created`` is False when it already existed."""

    claim: dict[str, Any]
    created: bool


def open_claim(claimant: Principal, body: VehicleCreate, *, ip: str | None) -> Claimed:
    """Record (or find again) the caller's claim to ``body.vin``; 409 past the pending cap."""
    ref = _ref(claim_id(body.vin, claimant.user_id))
    pending_of_claimant = (
        get_client()
        .collection(VIN_CLAIMS)
        .where(filter=firestore.FieldFilter("claimant_id", "==", claimant.user_id))
        .where(filter=firestore.FieldFilter("status", "==", PENDING))
        .limit(MAX_PENDING_CLAIMS)
    )

    def work(transaction: Transaction) -> tuple[Claimed, dict[str, Any] | None]:
        snapshot = ref.get(transaction=transaction)
        stored = snapshot.to_dict() if snapshot.exists else None
        if stored is not None and stored.get("status") == PENDING:
            return Claimed({"id": ref.id, **stored}, created=False), None
        # The cap is read inside the transaction: serial requests of one account cannot pass
        # it; a burst of parallel ones can by at most the number in flight (rate limited).
        pending = list(transaction.get(pending_of_claimant))
        if len(pending) >= MAX_PENDING_CLAIMS:
            raise Conflict(
                f"You have {MAX_PENDING_CLAIMS} VIN claims waiting for review; "
                "wait for an administrator to resolve them.",
                code="too_many_vin_claims",
            )
        now = clock.now()
        claim = {
            "vin": body.vin,
            "claimant_id": claimant.user_id,
            "status": PENDING,
            "requested": body.model_dump(mode="json"),
            "created_at": now,
            "updated_at": now,
            "resolved_at": None,
            "resolved_by": None,
            "resolution_reason": None,
            "vehicle_id": None,
        }
        transaction.set(ref, claim)  # a rejected claim to the same VIN opens again
        entry = audit.stage(
            transaction,
            "vin_claim_opened",
            actor_id=claimant.user_id,
            subject_id=claimant.user_id,
            ip=ip,
            details={"claim_id": ref.id, "vin": body.vin},
        )
        return Claimed({"id": ref.id, **claim}, created=True), entry

    # The claimant's pending claims are queried in the transaction: against the emulator
    # that locks every claim (shared.locks.query_keys).
    claimed, entry = run_transaction(
        work, what="open VIN claim", lock_keys=[ref.path, *locks.query_keys(VIN_CLAIMS)]
    )
    if entry is not None:
        audit.announce(entry)
    return claimed


def present(principal: Principal, claim: Mapping[str, Any]) -> dict[str, Any]:
    """The claimant's view: what they asked for and where it stands, nothing about the
    current registration; admins also get who claims it and the decision's reason."""
    view = {
        "id": claim["id"],
        "vin": claim.get("vin"),
        "status": claim.get("status"),
        "created_at": claim.get("created_at"),
        "resolved_at": claim.get("resolved_at"),
        "vehicle_id": claim.get("vehicle_id"),
    }
    if principal.is_admin:
        view.update(
            {
                "claimant_id": claim.get("claimant_id"),
                "requested": claim.get("requested"),
                "resolved_by": claim.get("resolved_by"),
                "resolution_reason": claim.get("resolution_reason"),
            }
        )
    return view


def current_registration(vin: str) -> dict[str, Any] | None:
    """For an admin deciding: the vehicle that holds the VIN now (id, owner, since when)."""
    guard = store.vin_ref(vin).get()
    vehicle_id = (guard.to_dict() or {}).get("vehicle_id") if guard.exists else None
    vehicle = store.read_vehicle(str(vehicle_id)) if vehicle_id else None
    if vehicle is None:
        return None
    return {
        "vehicle_id": vehicle["id"],
        "owner_id": vehicle.get("owner_id"),
        "created_at": vehicle.get("created_at"),
        "last_reading_at": vehicle.get("last_reading_at"),
    }


def list_claims(
    principal: Principal, query: VinClaimListQuery
) -> tuple[list[dict[str, Any]], str | None]:
    """The caller's claims (admins: everyone's, with the current registration), newest first."""
    collection = get_client().collection(VIN_CLAIMS)
    q: CollectionReference | Query = collection
    if not principal.is_admin:
        q = q.where(filter=firestore.FieldFilter("claimant_id", "==", principal.user_id))
    if query.status is not None:
        q = q.where(filter=firestore.FieldFilter("status", "==", query.status))
    q = q.order_by("created_at", direction=firestore.Query.DESCENDING).order_by(
        "__name__", direction=firestore.Query.DESCENDING
    )
    snapshots, cursor = page_of(collection, q, ["created_at"], query)
    items = []
    for snapshot in snapshots:
        view = present(principal, {"id": snapshot.id, **(snapshot.to_dict() or {})})
        if principal.is_admin and view["status"] == PENDING:
            view["current_registration"] = current_registration(str(view["vin"]))
        items.append(view)
    return items, cursor


@dataclass(frozen=True)
class Resolved:
    claim: dict[str, Any]
    removed_vehicle_id: str | None


def resolve(
    claim: str, *, approve: bool, reason: str, admin: Principal, ip: str | None
) -> Resolved:
    """Approve or reject a pending claim (see the module docstring); 409 if not pending."""
    ref = _ref(claim)

    def work(transaction: Transaction) -> tuple[Resolved, dict[str, Any]]:
        snapshot = ref.get(transaction=transaction)
        if not snapshot.exists:
            raise NotFound("The claim does not exist.")
        stored = snapshot.to_dict() or {}
        if stored.get("status") != PENDING:
            raise Conflict(
                f"This claim was {stored.get('status')} already.", code="claim_not_pending"
            )
        vin = str(stored["vin"])
        guard = store.vin_ref(vin)
        held = guard.get(transaction=transaction)
        current_id = (held.to_dict() or {}).get("vehicle_id") if held.exists else None
        current = vehicle_ref(str(current_id)).get(transaction=transaction) if current_id else None
        now = clock.now()
        removed: str | None = None
        removed_owner: str | None = None
        changes: dict[str, Any] = {
            "status": APPROVED if approve else REJECTED,
            "resolved_at": now,
            "resolved_by": admin.user_id,
            "resolution_reason": reason,
            "updated_at": now,
        }
        if approve:
            if current is not None and current.exists:
                removed = current.id
                removed_owner = (current.to_dict() or {}).get("owner_id")
                transaction.delete(current.reference)
            new_id = store.new_vehicle_id()
            transaction.set(guard, {"vehicle_id": new_id, "created_at": now})
            transaction.create(
                vehicle_ref(new_id),
                store.new_vehicle_document(str(stored["claimant_id"]), stored["requested"], now),
            )
            changes["vehicle_id"] = new_id
        transaction.update(ref, changes)
        entry = audit.stage(
            transaction,
            "vin_claim_approved" if approve else "vin_claim_rejected",
            actor_id=admin.user_id,
            subject_id=stored.get("claimant_id"),
            ip=ip,
            details={
                "claim_id": ref.id,
                "vin": vin,
                "reason": reason,
                "removed_vehicle_id": removed,
                "removed_owner_id": removed_owner,
                "vehicle_id": changes.get("vehicle_id"),
            },
        )
        return Resolved({"id": ref.id, **stored, **changes}, removed), entry

    resolved, entry = run_transaction(work, what="resolve VIN claim", lock_keys=[ref.path])
    audit.announce(entry)
    if resolved.removed_vehicle_id is not None:
        store.purge_vehicle_data(resolved.removed_vehicle_id)
    return resolved
