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
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.cloud.firestore import DocumentReference, Transaction


def read_in(
    transaction: Transaction, refs: Iterable[DocumentReference]
) -> dict[str, dict[str, Any] | None]:
    """Read documents in ``transaction``, keyed by path (``ref.path``); missing ones are None."""
    from google.api_core import gapic_v1
    from google.cloud.firestore_v1 import _helpers

    refs = list(refs)
    found: dict[str, dict[str, Any] | None] = {ref.path: None for ref in refs}
    if not refs:
        return found
    client = transaction._client
    request, reference_map, kwargs = client._prep_get_all(
        refs, None, transaction, gapic_v1.method.DEFAULT, None
    )
    responses = client._firestore_api.batch_get_documents(
        request=request, metadata=client._rpc_metadata, **kwargs
    )
    for response in responses:
        raw = type(response).pb(response)
        if raw.WhichOneof("result") == "found":
            path = reference_map[raw.found.name].path
            fields: dict[str, Any] = _helpers.decode_dict(raw.found.fields, client)  # type: ignore[assignment]
            found[path] = fields
    return found
