"""Writes in a transaction, encoded straight to protobuf.

The Firestore library encodes every field through proto-plus wrappers: measured here, a
booking document of twenty fields took ~0.3 ms of CPU to encode, a slot cell ~0.1 ms, while
the same messages built with the protobuf runtime directly take a tenth of that. A booking
writes four documents, so this is a visible share of its CPU (docs/benchmarks.md,
"Bookings").

:func:`create`, :func:`set_document` and :func:`update` stage exactly the ``Write`` the
library's ``Transaction.create``, ``Transaction.set`` (no merge) and ``Transaction.update``
would: tests/test_fast_writes.py compares the two message by message. Only plain data is
encoded here (None, bool, int, float, str, datetimes, lists and dicts of them, and
``DELETE_FIELD`` as an update's value); anything else — sentinels such as
``SERVER_TIMESTAMP``, references, GeoPoints, bytes, tuples — goes through the library
unchanged, so nothing the library supports is lost.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.cloud.firestore import DocumentReference, Transaction

    from shared.staged_writes import Writer


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Unsupported(Exception):
    """A value this module leaves to the library."""


def _protobuf_types() -> tuple[Any, Any, Any, Any]:
    from google.cloud.firestore_v1.types import common, document, write

    return document.Value.pb(), document.Document.pb(), write.Write.pb(), common.Precondition.pb()


_TYPES: tuple[Any, Any, Any, Any] | None = None


def _types() -> tuple[Any, Any, Any, Any]:
    global _TYPES
    if _TYPES is None:
        _TYPES = _protobuf_types()
    return _TYPES


def _fill(target: Any, value: Any) -> None:
    """Set the raw ``Value`` message ``target`` to ``value`` (as _helpers.encode_value)."""
    if value is None:
        target.null_value = 0
    elif value is True or value is False:
        target.boolean_value = value
    elif type(value) is int:
        target.integer_value = value
    elif type(value) is float:
        target.double_value = value
    elif type(value) is str:
        target.string_value = value
    elif type(value) is datetime:
        if value.tzinfo is None:
            raise _Unsupported  # the library's naive-datetime rule, not repeated here
        since_epoch = value - _EPOCH
        timestamp = target.timestamp_value
        timestamp.seconds = since_epoch.days * 86_400 + since_epoch.seconds
        timestamp.nanos = since_epoch.microseconds * 1000
    elif isinstance(value, datetime) and hasattr(value, "timestamp_pb"):
        # A timestamp read from Firestore (DatetimeWithNanoseconds): its own encoding.
        target.timestamp_value.CopyFrom(value.timestamp_pb())
    elif type(value) is list:
        array = target.array_value
        array.SetInParent()
        for element in value:
            _fill(array.values.add(), element)
    elif type(value) is dict:
        _fill_map(target.map_value, value)
    else:
        raise _Unsupported


def _fill_map(target: Any, data: Mapping[str, Any]) -> None:
    target.SetInParent()
    fields = target.fields
    for key, value in data.items():
        if type(key) is not str:
            raise _Unsupported
        _fill(fields[key], value)


def _update_write(path: str, field_updates: Mapping[str, Any]) -> Any:
    """The proto-plus ``Write`` of ``transaction.update(path, field_updates)``: the given
    field paths set (``DELETE_FIELD``: removed), the rest of the document kept, and the
    commit refused when the document does not exist."""
    from google.cloud.firestore_v1 import DELETE_FIELD
    from google.cloud.firestore_v1.field_path import FieldPath
    from google.cloud.firestore_v1.types import write

    if not field_updates:
        raise _Unsupported  # the library's own error for an empty update
    _, document_type, write_type, precondition_type = _types()
    raw = write_type(update=document_type(name=path))
    paths = sorted(FieldPath.from_string(key) for key in field_updates)
    for earlier, later in itertools.pairwise(paths):
        if later.parts[: len(earlier.parts)] == earlier.parts:
            raise _Unsupported  # conflicting paths: the library says which
    for key, value in field_updates.items():
        if value is DELETE_FIELD:
            continue  # in the mask, absent from the fields: removed
        parts = FieldPath.from_string(key).parts
        fields = raw.update.fields
        for part in parts[:-1]:
            container = fields[part].map_value
            container.SetInParent()
            fields = container.fields
        _fill(fields[parts[-1]], value)
    raw.update_mask.field_paths.extend(p.to_api_repr() for p in paths)
    raw.current_document.CopyFrom(precondition_type(exists=True))
    return write.Write.wrap(raw)


def _write(path: str, data: Mapping[str, Any], *, must_not_exist: bool) -> Any:
    """The proto-plus ``Write`` replacing the document at ``path`` with ``data``."""
    from google.cloud.firestore_v1.types import write

    _, document_type, write_type, precondition_type = _types()
    raw = write_type(update=document_type(name=path))
    _fill_map(raw.update, data)
    if must_not_exist:
        raw.current_document.CopyFrom(precondition_type(exists=False))
    return write.Write.wrap(raw)


class Unconditional:
    """No condition on the stored document (the default of :func:`merge_write`)."""


UNCONDITIONAL = Unconditional()


def _leaf_paths(data: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The field paths a merge of ``data`` writes: every leaf, nested maps walked."""
    paths: list[tuple[str, ...]] = []
    for key, value in data.items():
        if type(key) is not str:
            raise _Unsupported
        if type(value) is dict:
            if not value:
                raise _Unsupported  # an empty map's merge: the library's own rule
            paths.extend(_leaf_paths(value, (*prefix, key)))
        else:
            paths.append((*prefix, key))
    return paths


def merge_write(
    reference: DocumentReference,
    data: Mapping[str, Any],
    *,
    as_read: datetime | Unconditional | None = UNCONDITIONAL,
) -> Any:
    """The proto-plus ``Write`` of ``set(reference, data, merge=True)``: every leaf of
    ``data`` written, the rest of the stored document kept.

    ``as_read`` makes it conditional on the document being as it was read: its update time
    then (a timestamp read from Firestore, nanosecond exact), or None when it did not exist
    (it must still not exist). The library's ``set`` takes no condition; this one does, so
    a read-then-write can be optimistic instead of a transaction. Raises ``ValueError``
    for data this module does not encode (sentinels, empty maps, non-string keys).
    """
    from google.cloud.firestore_v1.field_path import FieldPath
    from google.cloud.firestore_v1.types import write

    _, document_type, write_type, precondition_type = _types()
    raw = write_type(update=document_type(name=reference._document_path))
    try:
        _fill_map(raw.update, data)
        # The library's order: field paths compared part by part.
        paths = sorted(_leaf_paths(data))
    except _Unsupported:
        raise ValueError("merge_write encodes plain data only") from None
    raw.update_mask.field_paths.extend(FieldPath(*parts).to_api_repr() for parts in paths)
    if as_read is None:
        raw.current_document.CopyFrom(precondition_type(exists=False))
    elif not isinstance(as_read, Unconditional):
        read_time_pb: Any = getattr(as_read, "timestamp_pb", None)
        if read_time_pb is None:
            raise ValueError("as_read must be an update time read from Firestore")
        raw.current_document.update_time.CopyFrom(read_time_pb())
    return write.Write.wrap(raw)


def stage(writer: Any, staged: Any) -> None:
    """Queue a ``Write`` built here on a write batch or transaction, as the library's own
    ``set``/``update`` queue theirs."""
    writer._add_write_pbs([staged])


def _replace(
    transaction: Transaction,
    reference: DocumentReference,
    data: dict[str, Any],
    *,
    must_not_exist: bool,
) -> None:
    try:
        staged = _write(reference._document_path, data, must_not_exist=must_not_exist)
    except _Unsupported:
        library = transaction.create if must_not_exist else transaction.set
        library(reference, data)
        return
    transaction._add_write_pbs([staged])


def create(transaction: Transaction, reference: DocumentReference, data: dict[str, Any]) -> None:
    """``transaction.create(reference, data)``: fails the commit if the document exists."""
    _replace(transaction, reference, data, must_not_exist=True)


def set_document(
    transaction: Transaction, reference: DocumentReference, data: dict[str, Any]
) -> None:
    """``transaction.set(reference, data)``: the document becomes exactly ``data``."""
    _replace(transaction, reference, data, must_not_exist=False)


def update(writer: Writer, reference: DocumentReference, field_updates: dict[str, Any]) -> None:
    """``writer.update(reference, field_updates)``: keys are field paths.

    ``writer`` is a transaction, or anything else that writes (shared.staged_writes), which
    then gets the plain call.
    """
    add = getattr(writer, "_add_write_pbs", None)
    try:
        if add is None:
            raise _Unsupported
        staged = _update_write(reference._document_path, field_updates)
    except _Unsupported:
        writer.update(reference, field_updates)
        return
    add([staged])
