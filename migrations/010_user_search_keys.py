"""010 — users: the search keys the admin search finds an account by.

What breaks on an account without them: ``GET /api/auth/users?q=…`` (the Users page's
search box) asks Firestore for users whose ``search_prefixes`` hold the search text, so an
account made before the keys existed is never found by email or name — it only shows up in
the unfiltered list.

Values: ``shared.user_search.search_prefixes(email, full_name)``, the same rule the auth
function applies whenever it stores an email or a name. Unlike the other backfills this
one also rewrites keys that are present but stale (a name changed by a path that did not
know about the keys, say): the keys are derived data, so the document's own email and name
decide, and a second run finds them equal and changes nothing.

Numbered 010 to leave 006-009 to migrations written in parallel.
"""

from __future__ import annotations

from typing import Any

from migrations.base import DocumentMigration, Page
from shared.user_search import SEARCH_FIELD, search_prefixes


class UserSearchKeys(DocumentMigration):
    collection = "users"
    description = "users: search_prefixes (admin search by email or name) from email and name"

    def changes(self, snapshot: Any, page: Page) -> dict[str, Any]:
        data = snapshot.to_dict() or {}
        wanted = search_prefixes(data.get("email"), data.get("full_name"))
        if data.get(SEARCH_FIELD) == wanted:
            return {}
        return {SEARCH_FIELD: wanted}


MIGRATION = UserSearchKeys()
