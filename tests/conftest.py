"""Test harness: one Firestore emulator per session, wiped between tests.

- ``emulator`` starts Google's emulator once on a free port and points the Firestore
  client at it.
- ``db`` wipes every document (the emulator's reset endpoint) and hands out the client.
- ``call`` serves requests through ``functions_framework.create_app(...).test_client()``:
  the same Flask app and entry point the cloud runs, in process.
- ``users`` creates signed-in users of any role directly in Firestore, with real tokens.
- ``stack`` (end-to-end tests) starts every function under functions-framework and the
  Hosting gateway as separate processes against the same emulator.
- ``auth_emulator`` is the Firebase Auth emulator (firebase-tools, pure Node), one per
  session on a port chosen here, so ``FIREBASE_AUTH_EMULATOR_HOST`` names it from the
  start. It takes several seconds to start, so it is launched in the background as soon
  as collection shows a test needs it, and waited for only when that test runs.
"""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from auth_emulator import AuthEmulator  # noqa: E402
from emulator import FirestoreEmulator  # noqa: E402
from stack import Stack, free_port  # noqa: E402

# The session's Auth emulator port, fixed before anything reads the environment.
AUTH_EMULATOR_PORT = free_port()

# Test settings, applied before any function module reads them.
TEST_SIGNING_KEY = "test-signing-key-0123456789abcdef-not-for-production"
TEST_ENV = {
    "PMI_ENVIRONMENT": "test",
    "GOOGLE_CLOUD_PROJECT": "demo-pmi",
    "PMI_JWT_SECRET": TEST_SIGNING_KEY,
    # bcrypt's minimum cost keeps account tests fast; the cost is a setting, not a constant.
    "PMI_BCRYPT_COST": "4",
    # In-process tests use the per-process bucket; rate-limit tests choose their backend.
    "PMI_RATE_LIMIT_BACKEND": "memory",
    "PMI_RATE_LIMIT_PER_MINUTE": "100000",
    "PMI_RATE_LIMIT_BURST": "100000",
    "PMI_LOG_LEVEL": "WARNING",
    # Requests are recorded in memory and never flushed; the metrics tests choose their own
    # store and flush when they mean to (tests/test_monitoring_*.py).
    "PMI_METRICS": "memory",
    # Tests change users straight in Firestore (as another instance would) and expect the
    # next request to see it; the principal cache has its own tests (test_principal_cache.py).
    "PMI_PRINCIPAL_CACHE_SECONDS": "0",
    # The suite shares one emulator on a shared 2-core machine, where the emulator's lock
    # waits under concurrency tests can outlast production's 10 s; the deadline's own tests
    # set theirs (tests/test_faults.py, tests/test_request_deadline.py).
    "PMI_REQUEST_DEADLINE_SECONDS": "30",
    # firebase-admin mints unsigned custom tokens under the Auth emulator (no call is made)
    # and revokes refresh tokens through it (the ``auth_emulator`` fixture starts it).
    "FIREBASE_AUTH_EMULATOR_HOST": f"127.0.0.1:{AUTH_EMULATOR_PORT}",
}
os.environ.update(TEST_ENV)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirestoreEmulator]:
    log_dir = tmp_path_factory.mktemp("emulator")
    instance = FirestoreEmulator(
        free_port(),
        project_id="demo-pmi",
        rules=ROOT / "firestore.rules",
        log_path=log_dir / "firestore-emulator.log",
    )
    instance.start()
    os.environ["FIRESTORE_EMULATOR_HOST"] = instance.address
    from shared.firestore import reset_client

    reset_client()
    yield instance
    instance.stop()


@pytest.fixture
def db(emulator: FirestoreEmulator) -> Any:
    """A wiped emulator and the Firestore client pointed at it."""
    emulator.reset()
    from shared.firestore import get_client

    return get_client()


_APPS: dict[str, Any] = {}


PROBE_SOURCE = ROOT / "tests" / "fixtures" / "probe_function" / "main.py"


def function_app(name: str) -> Any:
    """The Flask app functions-framework builds for ``functions/<name>/main.py``.

    ``probe`` is the test-only function of tests/fixtures that exercises the pipeline.
    """
    if name not in _APPS:
        import functions_framework

        source = PROBE_SOURCE if name == "probe" else ROOT / "functions" / name / "main.py"
        _APPS[name] = functions_framework.create_app(  # type: ignore[no-untyped-call]
            target=name, source=str(source)
        )
    return _APPS[name]


@pytest.fixture
def call(db: Any, request: pytest.FixtureRequest) -> Any:
    """``call(function).get(path, ...)``: an in-process client for a function.

    Every answer is checked against the OpenAPI document (tests/api_contract.py): a status
    the operation does not list, or a body that does not match its schema, fails the test
    (except in tests marked ``legacy_data``, which store shapes the API never writes).
    """
    checked = request.node.get_closest_marker("legacy_data") is None

    def client_for(name: str) -> Any:
        client = function_app(name).test_client()
        return ContractCheckingClient(client, name) if checked else client

    return client_for


class ContractCheckingClient:
    """A Flask test client whose every answer must match the API contract."""

    def __init__(self, client: Any, function: str) -> None:
        self._client = client
        self._function = function

    def open(self, *args: Any, **kwargs: Any) -> Any:
        import gzip

        from api_contract import check_response
        from werkzeug.test import EnvironBuilder

        response = self._client.open(*args, **kwargs)
        if args and isinstance(args[0], str):
            builder = EnvironBuilder(args[0], method=kwargs.get("method", "GET"))
            path, method = builder.path, builder.method
        else:
            return response
        body = response.get_data()
        if response.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        check_response(
            method, path, response.status_code, body, response.content_type or "", self._function
        )
        return response

    def get(self, *args: Any, **kw: Any) -> Any:
        return self.open(*args, method="GET", **kw)

    def post(self, *args: Any, **kw: Any) -> Any:
        return self.open(*args, method="POST", **kw)

    def patch(self, *args: Any, **kw: Any) -> Any:
        return self.open(*args, method="PATCH", **kw)

    def put(self, *args: Any, **kw: Any) -> Any:
        return self.open(*args, method="PUT", **kw)

    def delete(self, *args: Any, **kw: Any) -> Any:
        return self.open(*args, method="DELETE", **kw)

    def options(self, *args: Any, **kw: Any) -> Any:
        return self.open(*args, method="OPTIONS", **kw)

    def head(self, *args: Any, **kw: Any) -> Any:
        return self.open(*args, method="HEAD", **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@dataclass
class TestUser:
    id: str
    role: str
    email: str
    token: str
    session_id: str
    service_center_id: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def users(db: Any) -> Any:
    """Factory: ``users.create("customer")`` → a stored, signed-in user with a token."""
    from shared.auth import tokens

    class Factory:
        def create(
            self, role: str = "customer", *, service_center_id: str | None = None
        ) -> TestUser:
            user_id = uuid.uuid4().hex
            session_id = uuid.uuid4().hex
            email = f"{role}-{user_id[:8]}@example.test"
            db.collection("users").document(user_id).set(
                {
                    "email": email,
                    "full_name": f"Test {role.title()}",
                    "phone": None,
                    "role": role,
                    "is_active": True,
                    "email_verified": False,
                    "service_center_id": service_center_id,
                    "session_ids": [session_id],
                    "password_hash": "!",
                }
            )
            issued = tokens.issue(
                tokens.TokenKind.ACCESS, user_id=user_id, role=role, session_id=session_id
            )
            return TestUser(user_id, role, email, issued.token, session_id, service_center_id)

    return Factory()


@pytest.fixture(scope="session")
def stack(emulator: FirestoreEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Every function and the gateway as real processes, sharing the session emulator."""
    instance = Stack(
        emulator_port=emulator.port,
        gateway_port=free_port(),
        reuse_emulator=emulator,
        log_dir=tmp_path_factory.mktemp("stack-logs"),
        env={
            **TEST_ENV,
            "PMI_RATE_LIMIT_BACKEND": "local-first",
            "THREADS": "4",
            # The processes record and flush their request figures as deployed (every second
            # here), and /stats/* read them fresh: the dashboard's Analytics page is tested
            # against real figures (tests/test_dashboard_browser.py).
            "PMI_METRICS": "firestore",
            "PMI_METRICS_FLUSH_SECONDS": "1",
            "PMI_STATS_CACHE_SECONDS": "0",
        },
    )
    instance.start(progress=lambda message: None)
    yield instance
    instance.stop()


@pytest.fixture
def pin_clock() -> Iterator[Any]:
    """``pin_clock(moment)``: the platform's clock (shared.clock) reads ``moment`` until the
    test ends."""
    from datetime import datetime

    from shared import clock

    def pin(moment: datetime) -> None:
        clock.set_clock(lambda: moment)

    yield pin
    clock.set_clock(None)


_AUTH_EMULATOR: AuthEmulator | None = None


def _launch_auth_emulator() -> AuthEmulator:
    """The session's Auth emulator, launched once (without waiting for it)."""
    global _AUTH_EMULATOR
    if _AUTH_EMULATOR is None:
        import tempfile

        state_dir = Path(tempfile.mkdtemp(prefix="pmi-auth-emulator-"))
        instance = AuthEmulator(AUTH_EMULATOR_PORT, state_dir=state_dir)
        instance.launch()  # raises when the Firebase CLI is missing ('make deps' installs it)
        _AUTH_EMULATOR = instance
    return _AUTH_EMULATOR


@pytest.hookimpl(trylast=True)  # after -k / -m deselection: only tests that will run count
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if any("auth_emulator" in getattr(item, "fixturenames", ()) for item in items):
        # A failure here would stop the whole session; the fixture reports it to the tests
        # that need the emulator instead.
        with contextlib.suppress(RuntimeError):
            _launch_auth_emulator()


def pytest_sessionfinish() -> None:
    global _AUTH_EMULATOR
    if _AUTH_EMULATOR is not None:
        import shutil

        _AUTH_EMULATOR.stop()
        shutil.rmtree(_AUTH_EMULATOR.state_dir, ignore_errors=True)
        _AUTH_EMULATOR = None


@pytest.fixture(scope="session")
def auth_emulator() -> AuthEmulator:
    """The Firebase Auth emulator that ``FIREBASE_AUTH_EMULATOR_HOST`` points at."""
    instance = _launch_auth_emulator()
    instance.wait_ready()
    return instance


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Operations fuzzed, cases tried and faults injected (tests/run_summary.py)."""
    import run_summary

    run_summary.write(terminalreporter)
