"""Queries the mobile app runs directly against Firestore (under firestore.rules).

They are part of the platform's contract like the functions' own queries, so they are
registered here and their composite indexes are checked against firestore.indexes.json.
docs/firestore-rules.md lists which caller may run which.
"""

from __future__ import annotations

from shared.query_shapes import QueryShape, register

OWN_OPEN_ALERTS, CENTER_OPEN_ALERTS = register(
    QueryShape(
        "alerts",
        equality=("owner_id", "status"),
        description="a customer's open alerts (mobile SDK)",
    ),
    QueryShape(
        "alerts",
        equality=("status",),
        array_contains="center_ids",
        description="open alerts of a center's vehicles, for its staff (mobile SDK)",
    ),
)
