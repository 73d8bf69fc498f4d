"""Writes staged for one transaction, merged into one write per document.

Two shared rules may change the same documents in one transaction: completing a booking
records the work on the vehicle (shared.service_completion: mileage, services, alerts
resolved) and re-grants its center access (shared.center_links: the vehicle's and its
alerts' link fields). Each rule stages its writes here instead of on the transaction, and
:meth:`StagedWrites.commit_to` then writes each document **once**, with the union of the
fields. The rules own disjoint fields, so the order does not matter; a field staged twice
with different values would mean two rules disagree, and raises instead of picking one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class Writer(Protocol):
    """What a shared rule writes with: a Firestore transaction, or :class:`StagedWrites`."""

    def create(self, reference: Any, document_data: dict[str, Any], /) -> Any: ...

    def update(self, reference: Any, field_updates: dict[str, Any], /) -> Any: ...


@dataclass
class _Staged:
    kind: str  # "create" or "update"
    reference: Any
    fields: dict[str, Any]


class StagedWrites:
    """A :class:`Writer` that keeps one write per document until :meth:`commit_to`."""

    def __init__(self) -> None:
        self._by_path: dict[str, _Staged] = {}

    def create(self, reference: Any, document_data: dict[str, Any], /) -> None:
        if reference.path in self._by_path:
            raise ValueError(f"{reference.path} is created and also written otherwise")
        self._by_path[reference.path] = _Staged("create", reference, dict(document_data))

    def update(self, reference: Any, field_updates: dict[str, Any], /) -> None:
        staged = self._by_path.get(reference.path)
        if staged is None:
            self._by_path[reference.path] = _Staged("update", reference, dict(field_updates))
            return
        if staged.kind != "update":
            raise ValueError(f"{reference.path} is created and also updated")
        for name, value in field_updates.items():
            if name in staged.fields and staged.fields[name] != value:
                raise ValueError(f"{reference.path}: two rules set {name} differently")
            staged.fields[name] = value

    def __len__(self) -> int:
        return len(self._by_path)

    def commit_to(self, transaction: Writer) -> int:
        """Stage every merged write on ``transaction``; the number of documents written."""
        for staged in self._by_path.values():
            if staged.kind == "create":
                transaction.create(staged.reference, staged.fields)
            else:
                transaction.update(staged.reference, staged.fields)
        return len(self._by_path)
