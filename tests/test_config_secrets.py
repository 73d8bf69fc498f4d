"""Settings from the environment and the signing key from Secret Manager or a local variable.

Secret Manager cannot run here, so a small local HTTP server stands in for its REST API
and the *real* ``SecretManagerServiceClient`` (REST transport) talks to it: the client's
own code path — request building, auth plumbing, response parsing — runs up to the network.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from typing import Any

import google_crc32c
import pytest
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from shared.config import Settings
from shared.errors import ConfigurationError
from shared.secrets import MIN_SIGNING_KEY_BYTES, SecretManagerSource, SigningKeyProvider

SECRET_NAME = "projects/demo-pmi/secrets/jwt-signing-key/versions/3"


class FakeSecretManager:
    """Serves ``GET /v1/{name}:access`` like Secret Manager's REST API."""

    def __init__(self) -> None:
        self.secrets: dict[str, bytes] = {}
        self.corrupt_checksum = False
        self.requests: list[str] = []

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append(request.path)
        name = request.path.removeprefix("/v1/").removesuffix(":access")
        body: dict[str, Any]
        if name not in self.secrets:
            body = {
                "error": {
                    "code": 404,
                    "message": f"Secret [{name}] not found",
                    "status": "NOT_FOUND",
                }
            }
            return Response(json.dumps(body), 404, mimetype="application/json")(
                environ, start_response
            )
        data = self.secrets[name]
        checksum = google_crc32c.value(data) + (1 if self.corrupt_checksum else 0)
        body = {
            "name": name,
            "payload": {"data": base64.b64encode(data).decode(), "dataCrc32c": str(checksum)},
        }
        return Response(json.dumps(body), mimetype="application/json")(environ, start_response)


@pytest.fixture
def secret_manager() -> Iterator[tuple[FakeSecretManager, BaseWSGIServer]]:
    fake = FakeSecretManager()
    server = make_server("127.0.0.1", 0, fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake, server
    server.shutdown()


def real_client_factory(server: BaseWSGIServer) -> Any:
    def factory() -> Any:
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import secretmanager

        return secretmanager.SecretManagerServiceClient(
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            transport="rest",
            client_options=ClientOptions(api_endpoint=f"http://127.0.0.1:{server.server_port}"),
        )

    return factory


def settings(**values: Any) -> Settings:
    return Settings.model_validate(values)


def test_signing_key_is_read_through_the_real_secret_manager_client(
    secret_manager: tuple[FakeSecretManager, BaseWSGIServer],
) -> None:
    fake, server = secret_manager
    fake.secrets[SECRET_NAME] = b"s" * 48
    provider = SigningKeyProvider(SecretManagerSource(real_client_factory(server)))
    assert provider.get(settings(jwt_secret_name=SECRET_NAME)) == b"s" * 48
    assert fake.requests == [f"/v1/{SECRET_NAME}:access"]


def test_signing_key_is_fetched_once_per_instance(
    secret_manager: tuple[FakeSecretManager, BaseWSGIServer],
) -> None:
    fake, server = secret_manager
    fake.secrets[SECRET_NAME] = b"s" * 48
    provider = SigningKeyProvider(SecretManagerSource(real_client_factory(server)))
    for _ in range(5):
        provider.get(settings(jwt_secret_name=SECRET_NAME))
    assert len(fake.requests) == 1


def test_secret_manager_name_wins_over_local_variable(
    secret_manager: tuple[FakeSecretManager, BaseWSGIServer],
) -> None:
    fake, server = secret_manager
    fake.secrets[SECRET_NAME] = b"m" * 40
    provider = SigningKeyProvider(SecretManagerSource(real_client_factory(server)))
    chosen = provider.get(settings(jwt_secret_name=SECRET_NAME, jwt_secret="l" * 40))
    assert chosen == b"m" * 40


def test_missing_secret_fails_start_up_with_its_name(
    secret_manager: tuple[FakeSecretManager, BaseWSGIServer],
) -> None:
    _, server = secret_manager
    provider = SigningKeyProvider(SecretManagerSource(real_client_factory(server)))
    with pytest.raises(ConfigurationError, match="jwt-signing-key"):
        provider.get(settings(jwt_secret_name=SECRET_NAME))


def test_corrupted_secret_payload_is_refused(
    secret_manager: tuple[FakeSecretManager, BaseWSGIServer],
) -> None:
    fake, server = secret_manager
    fake.secrets[SECRET_NAME] = b"s" * 48
    fake.corrupt_checksum = True
    provider = SigningKeyProvider(SecretManagerSource(real_client_factory(server)))
    with pytest.raises(ConfigurationError, match="checksum"):
        provider.get(settings(jwt_secret_name=SECRET_NAME))


def test_short_signing_key_fails_with_a_clear_message() -> None:
    provider = SigningKeyProvider()
    with pytest.raises(ConfigurationError, match=f"at least {MIN_SIGNING_KEY_BYTES} bytes"):
        provider.get(settings(jwt_secret="too-short-key"))


def test_key_of_exactly_32_bytes_is_accepted() -> None:
    assert SigningKeyProvider().get(settings(jwt_secret="k" * 32)) == b"k" * 32


def test_no_key_configured_names_both_variables() -> None:
    with pytest.raises(ConfigurationError, match=r"PMI_JWT_SECRET_NAME.*PMI_JWT_SECRET"):
        SigningKeyProvider().get(settings())


def test_invalid_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="PMI_BCRYPT_COST"):
        Settings.from_environ({"PMI_BCRYPT_COST": "three"})


def test_unknown_fail_mode_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="PMI_RATE_LIMIT_FAIL_MODE"):
        Settings.from_environ({"PMI_RATE_LIMIT_FAIL_MODE": "sometimes"})


def test_cors_origins_are_read_as_a_comma_list() -> None:
    parsed = Settings.from_environ({"PMI_CORS_ORIGINS": "https://a.example, https://b.example"})
    assert parsed.cors_origins == ("https://a.example", "https://b.example")


def test_project_comes_from_google_cloud_project() -> None:
    assert Settings.from_environ({"GOOGLE_CLOUD_PROJECT": "pmi-prod"}).project_id == "pmi-prod"


def test_missing_signing_key_makes_protected_routes_503_not_500(call: Any, users: Any) -> None:
    from shared.config import reset_settings
    from shared.secrets import signing_keys

    user = users.create("customer")
    broken = Settings.from_environ(
        {k: v for k, v in __import__("os").environ.items() if k != "PMI_JWT_SECRET"}
    )
    reset_settings(broken)
    signing_keys.reset()
    try:
        response = call("probe").get("/api/probe/me", headers=user.headers)
    finally:
        reset_settings(None)
        signing_keys.reset()
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"


def test_broken_configuration_is_a_503_envelope_not_a_crash(
    call: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.config import reset_settings

    monkeypatch.setenv("PMI_RATE_LIMIT_BURST", "not-a-number")
    reset_settings(None)
    try:
        response = call("probe").get("/api/probe/items/1")
    finally:
        monkeypatch.undo()
        reset_settings(None)
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PMI_JWT_SECRET", "short-key", "at least 32 bytes"),
        ("PMI_ACCESS_TOKEN_TTL_SECONDS", "ten", "PMI_ACCESS_TOKEN_TTL_SECONDS"),
    ],
)
def test_function_refuses_to_start_with_bad_configuration(
    variable: str, value: str, message: str
) -> None:
    import os
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    from stack import free_port, function_command

    source = root / "functions" / "monitoring" / "main.py"
    completed = subprocess.run(
        function_command("monitoring", source, free_port()),
        env={**os.environ, "PYTHONPATH": str(root), variable: value},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode != 0
    assert message in completed.stderr + completed.stdout
