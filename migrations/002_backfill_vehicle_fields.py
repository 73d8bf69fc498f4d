"""002 — vehicles: the fields the vehicles function and the rules expect, on old vehicles.

What breaks on an old vehicle without this (functions/vehicles, firestore.rules):
- no ``created_at``: ``GET /api/vehicles`` orders by it, so the vehicle is missing from
  its owner's list (Firestore leaves documents without the order field out);
- no ``initial_mileage_km``: maintenance forecasts start from the *current* mileage, so
  every mileage update moves the start and a service never comes due; the migration fixes
  the start at today's mileage, the best value still known;
- no ``center_ids``, ``maintenance_overrides``, ``due_services`` and the telemetry and
  health fields: staff scoping and the health summary read them.
"""

from __future__ import annotations

from typing import Any

from migrations.base import DocumentMigration, Page, missing_fields


class BackfillVehicleFields(DocumentMigration):
    collection = "vehicles"
    description = "vehicles: backfill created_at, initial_mileage_km, center_ids and the rest"

    def changes(self, snapshot: Any, page: Page) -> dict[str, Any]:
        data = snapshot.to_dict() or {}
        return missing_fields(
            data,
            {
                "created_at": snapshot.create_time,
                "updated_at": snapshot.update_time,
                "initial_mileage_km": data.get("mileage_km"),
                "center_ids": [],
                "maintenance_overrides": {},
                "due_services": [],
                "odometer_km": None,
                "last_reading_at": None,
                "health_score": None,
                "health_evaluated_at": None,
                "plate": None,
                "nickname": None,
                "fuel_type": None,
            },
        )


MIGRATION = BackfillVehicleFields()
