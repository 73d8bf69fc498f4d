"""001 — users: the account fields the current code expects, on accounts made before them.

What breaks on an old account without this (functions/auth, shared/auth/principal.py):
- no ``is_active``: read as False, so the account cannot sign in ("deactivated");
- no ``role``: sign-in fails reading it, and every token is refused;
- no ``created_at``: the admin list (``GET /api/auth/users``, ordered by ``created_at``)
  never shows the account, because Firestore leaves documents without the order field out;
- no ``session_ids``, ``email_verified``, ``phone``, ``service_center_id``, ``last_login``,
  ``updated_at``, ``password_changed_at``: read with defaults today, but filters such as
  ``GET /api/auth/users?active=true`` skip documents without the field.

Values: accounts predating ``is_active`` were active; ``role`` falls back to ``customer``,
the only role anyone could give themselves (least privilege; an admin can promote);
``created_at`` is the document's own creation time as Firestore recorded it.
"""

from __future__ import annotations

from typing import Any

from migrations.base import DocumentMigration, Page, missing_fields


class BackfillUserFields(DocumentMigration):
    collection = "users"
    description = "users: backfill is_active, role, created_at and the other current fields"

    def changes(self, snapshot: Any, page: Page) -> dict[str, Any]:
        data = snapshot.to_dict() or {}
        created_at = data.get("created_at", snapshot.create_time)
        return missing_fields(
            data,
            {
                "is_active": True,
                "role": "customer",
                "email_verified": False,
                "session_ids": [],
                "phone": None,
                "service_center_id": None,
                "last_login": None,
                "created_at": created_at,
                "updated_at": snapshot.update_time,
                "password_changed_at": created_at,
            },
        )


MIGRATION = BackfillUserFields()
