"""One Firestore client per instance, created on first use and emulator-aware.

The client is thread-safe and holds a gRPC channel pool, so creating one per request would
waste the cold start it costs (~0.25 s import plus channel set-up). With
``FIRESTORE_EMULATOR_HOST`` set, the library talks to the emulator with anonymous
credentials on its own. Every call the client makes keeps to the current request's time
budget (shared/deadline.py), so a slow Firestore answers 503 instead of holding threads.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Final

import grpc

from shared import deadline
from shared.config import get_settings

if TYPE_CHECKING:
    from google.cloud.firestore import Client, DocumentReference
    from google.cloud.firestore_v1.base_document import DocumentSnapshot

    # What a read returns: the client types its snapshots by the reference class.
    Snapshot = DocumentSnapshot[DocumentReference]

_lock = threading.Lock()
_client: Client | None = None

# While its server is unreachable, gRPC waits longer and longer between attempts to connect
# again (1 s, growing 1.6 times per failure, up to 120 s), and a call made meanwhile fails
# at once. After a Firestore outage an instance would go on answering 503 for up to that
# long although Firestore is back (tests/test_faults.py saw it after a few seconds' cut).
# At most a second between attempts keeps recovery within one request's deadline, for the
# price of one connection attempt a second while Firestore is down. (Not
# grpc.min_reconnect_backoff_ms: gRPC reads it as the time a connection attempt may take,
# 20 s by default, and a slow network needs that.)
RECONNECT_OPTIONS: Final = (
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 1000),
)


def get_client() -> Client:
    """The instance's Firestore client (its calls keep to the request's deadline)."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = _deadline_aware_client(get_settings().project_id)
    return _client


def _deadline_aware_client(project_id: str) -> Client:
    """A Firestore client whose every call keeps to the current request's time budget.

    The library builds its gRPC channel and transport lazily; this subclass hands it a
    transport that puts shared.deadline's interceptor on that channel and cuts the default
    retries to the budget (shared/deadline.py says why), and makes the channel with
    :data:`RECONNECT_OPTIONS` (the emulator's as the library makes it, plus those).
    """
    from google.cloud import firestore
    from google.cloud.firestore_v1.base_client import _GRPC_MSG_SIZE_OPTIONS
    from google.cloud.firestore_v1.services.firestore import client as firestore_client
    from google.cloud.firestore_v1.services.firestore.transports import grpc as grpc_transport

    class DeadlineTransport(grpc_transport.FirestoreGrpcTransport):
        def __init__(self, *, channel: Any = None, **kwargs: Any) -> None:
            if channel is not None:
                channel = grpc.intercept_channel(channel, deadline.interceptor())
            super().__init__(channel=channel, **kwargs)

        def _prep_wrapped_messages(self, client_info: Any) -> None:
            super()._prep_wrapped_messages(client_info)  # type: ignore[no-untyped-call]
            deadline.budget_retries(self._wrapped_methods)

        @classmethod
        def create_channel(
            cls, host: str = "firestore.googleapis.com", *args: Any, **kwargs: Any
        ) -> Any:
            options = [*(kwargs.pop("options", None) or []), *RECONNECT_OPTIONS]
            return super().create_channel(host, *args, options=options, **kwargs)

    class DeadlineClient(firestore.Client):
        @property
        def _firestore_api(self) -> Any:
            return self._firestore_api_helper(
                DeadlineTransport, firestore_client.FirestoreClient, firestore_client
            )

        def _emulator_channel(self, transport: Any) -> Any:
            token = getattr(self._credentials, "id_token", None) or "owner"
            options = [
                ("Authorization", f"Bearer {token}"),
                *_GRPC_MSG_SIZE_OPTIONS,
                *RECONNECT_OPTIONS,
            ]
            return grpc.insecure_channel(self._emulator_host, options=options)

    return DeadlineClient(project=project_id)


def reset_client() -> None:
    """Forget the client (tests switch emulators between sessions)."""
    global _client
    with _lock:
        _client = None
