"""Queries the mobile app runs directly against Firestore (under firestore.rules).

They are part of the platform's contract like the functions' own queries, so they are
registered here and their composite indexes are checked against firestore.indexes.json.
docs/firestore-rules.md lists which caller may run which.

Center staff list what their center may see *now* with one range filter on their own
center's access entry, ``center_access.<center_id> > <now + a few minutes>`` — the only
form that proves the rules' ``center_access[center] > request.time`` — and nothing else:
a single-field range is served by Firestore's automatic index, where adding an equality
(``status``) or ``array_contains`` would need a composite index per center id. The app
filters the status of alerts it got back.
"""

from __future__ import annotations

from shared.query_shapes import QueryShape, register

# Stands for the caller's center id in a field path (one map entry per center).
CENTER_PLACEHOLDER = "{service_center_id}"

OWN_OPEN_ALERTS, CENTER_VEHICLES_NOW, CENTER_ALERTS_NOW = register(
    QueryShape(
        "alerts",
        equality=("owner_id", "status"),
        description="a customer's open alerts (mobile SDK)",
    ),
    QueryShape(
        "vehicles",
        order=((f"center_access.{CENTER_PLACEHOLDER}", "ASCENDING"),),
        description="vehicles a center's staff may see now (mobile SDK, range on its access)",
    ),
    QueryShape(
        "alerts",
        order=((f"center_access.{CENTER_PLACEHOLDER}", "ASCENDING"),),
        description="alerts a center's staff may see now (mobile SDK; the app filters status)",
    ),
)
