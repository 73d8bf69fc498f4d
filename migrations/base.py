"""What a migration is: a collection to page through and a per-document change.

A migration never writes by itself. For each page of documents (ordered by id) the runner
calls :meth:`DocumentMigration.prepare` once, for lookups the page needs (one batched read
of related documents, say), then :meth:`DocumentMigration.changes` per document, and
writes what comes back. So a migration is a pure description that the dry run and the
real run share, and ``changes`` returning ``{}`` for a current document is what makes
running it twice a no-op.

Rules every migration keeps (docs/operations.md, "Data migrations"):
- **Expand only.** Add or fill fields the code reads; never remove or rename a field the
  deployed code (or the previous release) still reads. Dropping old fields is a later
  migration, once no deployed release reads them.
- **Idempotent.** Decide from the document itself; a second run finds nothing to change.
- **Backfill only what is missing.** A field that exists, even as ``None``, was written by
  the code and is left alone.
- **Delete only what no release reads.** :data:`DELETE` removes a document of a superseded
  shape that the current code would remove itself (007: per-code fault alerts); the
  previous release must not need it either (it recreates what it wants).

A migration may use a function's own domain code (006 summarises telemetry days with the
vehicles function's ``vehicle.telemetry_store``, so a rollup is computed one way): the runner
puts the function folders on the import path, as the tests do.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

# Stands for "the field is absent" in change previews (distinct from a stored None).
MISSING = "(missing)"
# A Firestore batch holds at most 500 writes: a page of updates plus the checkpoint.
MAX_PAGE_SIZE = 499


class Deletion:
    """What :meth:`DocumentMigration.changes` returns to delete the document (:data:`DELETE`)."""

    def __repr__(self) -> str:
        return "DELETE"


# Only for documents no release reads any more (a superseded shape, 007), never for data.
DELETE: Final = Deletion()


@dataclass
class Page:
    """One page of documents being migrated, and what the migration looked up for it."""

    snapshots: list[Any]
    # Filled by prepare(): related documents by id (None when the document does not exist).
    related: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    # Things worth telling the operator, counted across the run ("orphan alert", ...).
    notes: Counter[str] = field(default_factory=Counter)


class DocumentMigration(ABC):
    """Subclass it in ``migrations/NNN_name.py`` and assign an instance to ``MIGRATION``."""

    # The top-level collection the migration pages through.
    collection: ClassVar[str]
    # One line saying what the migration does and why (printed by the runner).
    description: ClassVar[str]
    # True: every collection of that name at any depth (``vehicles/{id}/telemetry_days``), in
    # one pass ordered by document path.
    collection_group: ClassVar[bool] = False
    # The fields pages are read with (None: whole documents). Keeps a pass over large
    # documents light; prepare() reads the few it needs whole (006).
    fields: ClassVar[tuple[str, ...] | None] = None
    # The most documents per page, whatever --page-size asks (large documents, 006).
    max_page_size: ClassVar[int] = MAX_PAGE_SIZE

    def prepare(self, db: Any, page: Page) -> None:  # noqa: B027 - optional hook
        """Look up what :meth:`changes` needs for this page (default: nothing)."""

    @abstractmethod
    def changes(self, snapshot: Any, page: Page) -> dict[str, Any] | Deletion:
        """The field updates for one document (``{}`` when it is already current), or
        :data:`DELETE`."""


def missing_fields(data: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` restricted to the fields ``data`` does not have at all."""
    return {name: value for name, value in defaults.items() if name not in data}
