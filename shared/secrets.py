"""Secrets: Secret Manager in the cloud, a plain environment variable locally.

The signing key is read once per instance and cached: Secret Manager bills and rate-limits
per access, and an instance lives for many requests. The client library is imported lazily
because it costs ~0.2 s of cold start and local runs never need it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from shared.config import Settings, get_settings
from shared.errors import ConfigurationError

# HS256 needs a key at least as long as its output (RFC 7518 §3.2): 256 bits.
MIN_SIGNING_KEY_BYTES = 32


class SecretSource(Protocol):
    """Where secret bytes come from."""

    def read(self, name: str) -> bytes:
        """Return the secret's payload for a Secret Manager version name."""
        ...


class SecretManagerSource:
    """Reads secret versions through Google's Secret Manager client.

    ``client_factory`` exists so tests can point the *real* client at a local endpoint
    (see tests/test_secrets.py); production uses the default factory.
    """

    def __init__(self, client_factory: Callable[[], Any] | None = None) -> None:
        self._client_factory = client_factory or _default_secret_manager_client
        self._client: Any = None
        self._lock = threading.Lock()

    def _get_client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._client_factory()
        return self._client

    def read(self, name: str) -> bytes:
        response = self._get_client().access_secret_version(request={"name": name})
        payload: bytes = response.payload.data
        expected = response.payload.data_crc32c
        # Google's guidance: verify the checksum so a corrupted payload never becomes a key.
        if expected and _crc32c(payload) != expected:
            raise ValueError(f"checksum mismatch reading {name}")
        return payload


def _crc32c(data: bytes) -> int:
    import google_crc32c

    value: int = google_crc32c.value(data)
    return value


def _default_secret_manager_client() -> Any:
    from google.cloud import secretmanager

    return secretmanager.SecretManagerServiceClient()


class SigningKeyProvider:
    """Resolves and caches the JWT signing key for this instance."""

    def __init__(self, source: SecretSource | None = None) -> None:
        self._source = source
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def get(self, settings: Settings | None = None) -> bytes:
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = self._resolve(settings or get_settings())
        return self._key

    def _resolve(self, settings: Settings) -> bytes:
        if settings.jwt_secret_name:
            source = self._source or SecretManagerSource()
            try:
                key = source.read(settings.jwt_secret_name)
            except Exception as exc:  # any client failure is a start-up problem
                raise ConfigurationError(
                    f"could not read secret {settings.jwt_secret_name!r}: {exc}"
                ) from exc
        elif settings.jwt_secret:
            key = settings.jwt_secret.encode("utf-8")
        else:
            raise ConfigurationError(
                "no JWT signing key: set PMI_JWT_SECRET_NAME (Secret Manager version) "
                "or PMI_JWT_SECRET (local runs)"
            )
        if len(key) < MIN_SIGNING_KEY_BYTES:
            raise ConfigurationError(
                f"the JWT signing key is {len(key)} bytes; at least "
                f"{MIN_SIGNING_KEY_BYTES} bytes are required for HS256"
            )
        return key

    def reset(self) -> None:
        with self._lock:
            self._key = None


signing_keys = SigningKeyProvider()
