"""Declared Firestore query shapes, checked against ``firestore.indexes.json``.

The emulator runs any query; production refuses one that needs a composite index nobody
declared. So each collection's store module declares every query it runs as a
:class:`QueryShape` and registers it here, and tests/test_indexes.py proves each shape
that needs a composite index has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["ASCENDING", "DESCENDING"]


@dataclass(frozen=True)
class QueryShape:
    """One query: equality filters, array-contains, then range/order fields in order."""

    collection: str
    equality: tuple[str, ...] = ()
    array_contains: str | None = None
    order: tuple[tuple[str, Direction], ...] = ()
    collection_group: bool = False
    description: str = ""

    def fields(self) -> list[str]:
        names = list(self.equality)
        if self.array_contains:
            names.append(self.array_contains)
        names.extend(name for name, _ in self.order)
        return names

    def needs_composite_index(self) -> bool:
        """Single-field indexes serve a query on one field, or equality-only filters."""
        distinct = set(self.fields())
        if len(distinct) <= 1:
            return False
        # Equality filters alone are merged from single-field indexes (index merging).
        return bool(self.order) or self.array_contains is not None


_REGISTRY: list[QueryShape] = []


def register(*shapes: QueryShape) -> tuple[QueryShape, ...]:
    """Record shapes (called at import time by each store module); returns them."""
    for shape in shapes:
        if shape not in _REGISTRY:
            _REGISTRY.append(shape)
    return shapes


def registered() -> list[QueryShape]:
    return list(_REGISTRY)
