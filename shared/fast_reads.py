"""Documents read in a transaction as plain dicts, without the library's snapshot objects.

``Transaction.get_all`` wraps every answer in a ``DocumentSnapshot``: it reads the read,
create and update times through proto-plus wrappers and deep-copies the decoded fields, and
``to_dict`` deep-copies them again. A booking reads its slot cells, holder and vehicle this
way and wants only their fields: profiled here, the snapshots were about a tenth of the
bookings function's CPU (docs/benchmarks.md, "Bookings").

:func:`read_in` makes the same request the library makes (its own request builder, the same
RPC, retry and timeout defaults) and decodes each found document with the library's own
``decode_dict`` from the raw protobuf, so every value comes back exactly as ``to_dict``
would give it (tests/test_fast_reads.py compares them).

:func:`read_raw` is the same read outside a transaction, answering the stored protobuf
documents themselves, for a caller that needs only part of what they hold: telemetry
ingest needs the keys of a day document's ``readings`` map, not its ~500-800 values
(:func:`map_keys`), and each document's update time (:func:`update_time_of`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.cloud.firestore import Client, DocumentReference, Transaction


def read_in(
    transaction: Transaction, refs: Iterable[DocumentReference]
) -> dict[str, dict[str, Any] | None]:
    """Read documents in ``transaction``, keyed by path (``ref.path``); missing ones are None."""
    from google.cloud.firestore_v1 import _helpers

    refs = list(refs)
    found: dict[str, dict[str, Any] | None] = {ref.path: None for ref in refs}
    client = transaction._client
    for path, document in _batch_get(client, refs, transaction):
        fields: dict[str, Any] = _helpers.decode_dict(document.fields, client)  # type: ignore[assignment]
        found[path] = fields
    return found


def read_raw(client: Client, refs: Iterable[DocumentReference]) -> dict[str, Any | None]:
    """Read documents now (one batched read, no transaction), keyed by path: each the stored
    protobuf ``Document`` (its ``fields`` still encoded; :func:`decode` for all of them),
    or None when missing."""
    refs = list(refs)
    found: dict[str, Any | None] = {ref.path: None for ref in refs}
    for path, document in _batch_get(client, refs, None):
        found[path] = document
    return found


def decode(client: Client, document: Any) -> dict[str, Any]:
    """All of a raw document's fields, exactly as the library's ``to_dict`` gives them."""
    from google.cloud.firestore_v1 import _helpers

    fields: dict[str, Any] = _helpers.decode_dict(document.fields, client)  # type: ignore[assignment]
    return fields


def map_keys(document: Any, name: str) -> set[str]:
    """The keys of the map field ``name`` of a raw document (none when it is absent or not a
    map), without decoding its values."""
    value = document.fields.get(name)
    if value is None or value.WhichOneof("value_type") != "map_value":
        return set()
    return set(value.map_value.fields.keys())


def update_time_of(document: Any) -> datetime:
    """A raw document's update time, as the library's snapshots carry it (usable as a write
    precondition: ``last_update_time`` / shared.fast_writes' ``as_read``)."""
    from google.api_core.datetime_helpers import DatetimeWithNanoseconds

    when: datetime = DatetimeWithNanoseconds.from_timestamp_pb(  # type: ignore[no-untyped-call]
        document.update_time
    )
    return when


def _batch_get(
    client: Any, refs: list[DocumentReference], transaction: Transaction | None
) -> Iterator[tuple[str, Any]]:
    """(path, raw Document) of each found document: the library's own request builder, RPC,
    retry and timeout defaults, without its snapshot wrappers."""
    from google.api_core import gapic_v1

    if not refs:
        return
    request, reference_map, kwargs = client._prep_get_all(
        refs, None, transaction, gapic_v1.method.DEFAULT, None
    )
    responses = client._firestore_api.batch_get_documents(
        request=request, metadata=client._rpc_metadata, **kwargs
    )
    for response in responses:
        raw = type(response).pb(response)
        if raw.WhichOneof("result") == "found":
            yield reference_map[raw.found.name].path, raw.found
