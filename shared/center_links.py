"""Linking a service center to a vehicle: the one rule, in the caller's transaction.

Center staff see a vehicle — and its alerts — when their center is in the document's
``center_ids`` (shared.auth.scoping). A booking at a center links that center: the bookings
function runs this inside the transaction that creates the booking, so the vehicle and
every one of its alerts gain the center together, and the center's staff see the vehicle's
open alerts the moment the booking exists (not at the vehicle's next health evaluation).
The vehicles function's own alert writes copy ``center_ids`` from the vehicle inside a
transaction that reads the vehicle, so the two never undo each other.

As with shared.service_completion, :func:`read_link` only reads and
:meth:`PendingLink.write` only writes (Firestore: every read before the first write).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.alerts import of_vehicle
from shared.vehicle_documents import vehicle_ref

if TYPE_CHECKING:
    from google.cloud.firestore import Transaction

    from shared.firestore import Snapshot


@dataclass(frozen=True)
class PendingLink:
    """The alerts to link, read in the transaction."""

    vehicle_id: str
    center_id: str
    alerts: list[Snapshot]

    def write(self, transaction: Transaction) -> None:
        """Add the center to the vehicle and to each of its alerts (no-op where present)."""
        from google.cloud import firestore

        linked = {"center_ids": firestore.ArrayUnion([self.center_id])}
        transaction.update(vehicle_ref(self.vehicle_id), linked)
        for alert in self.alerts:
            if self.center_id not in ((alert.to_dict() or {}).get("center_ids") or []):
                transaction.update(alert.reference, linked)


def read_link(transaction: Transaction, vehicle_id: str, center_id: str) -> PendingLink:
    """Phase one: the vehicle's alerts (the caller has read the vehicle itself)."""
    return PendingLink(vehicle_id, center_id, list(transaction.get(of_vehicle(vehicle_id))))
