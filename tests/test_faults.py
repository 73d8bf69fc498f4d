"""Faults, injected into a running platform: the database stops, slows down or contends,
and a function dies mid-request. Every answer stays in the contract (503 with Retry-After,
409, never a 500 or a hang), nothing is half-written, and everything recovers without
restarting the functions.

The functions run as real processes (functions-framework, as deployed) behind the dev
gateway, on an emulator of their own behind a fault proxy (tests/faultkit.py), with a
request deadline of DEADLINE seconds (PMI_REQUEST_DEADLINE_SECONDS; production: 10 s).
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import psutil
import pytest
import requests
import run_summary
from bookings_helpers import berlin_start, center_body, next_weekday
from faultkit import FaultStack, assert_nothing_half_written, start_fault_stack, stop_fault_stack
from vehicles_testkit import north_american_vin

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DEADLINE = 2.0
THREADS = 4
# A request's own work past its deadline: answering, logging; generous for a busy machine.
MARGIN = 3.0
CONTRACT_STATUSES = {200, 201, 202, 204, 207, 404, 409, 422, 503}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    instance = start_fault_stack(
        tmp_path_factory.mktemp("faults"), deadline_seconds=DEADLINE, threads=THREADS
    )
    try:
        yield instance
    finally:
        stop_fault_stack(instance)


@pytest.fixture(autouse=True)
def healed(world: FaultStack) -> Iterator[None]:
    """Each test starts and ends with a healthy database."""
    world.proxy.passthrough()
    world.wait_ready()
    yield
    world.proxy.passthrough()
    _resume(world)
    world.wait_ready()


def _resume(world: FaultStack) -> None:
    process = world.emulator.process
    if process is not None:
        os.killpg(process.pid, signal.SIGCONT)


def _function_threads(world: FaultStack, name: str) -> int:
    root = psutil.Process(world.stack.processes[name].pid)
    return sum(p.num_threads() for p in [root, *root.children(recursive=True)])


# --------------------------------------------------------------------------- set-up


class Shop:
    """A center, customers with vehicles, and fresh slots to book, made through the API."""

    def __init__(self, world: FaultStack) -> None:
        self.world = world
        self.admin = world.user("admin")
        reply = world.call("POST", "/api/bookings/centers", self.admin, json=center_body(bays=2))
        assert reply.status_code == 201, reply.text
        self.center_id = reply.json()["id"]
        self._slots = itertools.product(range(1, 40), range(8, 16))
        self._vins = itertools.count(int(uuid.uuid4().int % 90_000) * 10)
        self._lock = threading.Lock()

    def customer(self) -> tuple[dict[str, str], str]:
        found = self.customer_unless_down()
        assert found is not None, "the vehicles function answered 503 outside a fault"
        return found

    def customer_unless_down(self) -> tuple[dict[str, str], str] | None:
        """A customer with a vehicle, or None when the registration met an outage (503)."""
        headers = self.world.user("customer")
        with self._lock:
            vin = north_american_vin(next(self._vins))
        body = {"vin": vin, "make": "Honda", "model": "Accord", "year": 2019, "mileage_km": 1000}
        reply = self.world.call("POST", "/api/vehicles", headers, json=body)
        if reply.status_code == 503:
            return None
        assert reply.status_code == 201, reply.text
        return headers, reply.json()["id"]

    def next_start(self) -> str:
        with self._lock:
            weeks, hour = next(self._slots)
        return berlin_start(next_weekday(weeks % 5, weeks_ahead=1 + weeks // 5), hour)

    def booking(self, vehicle_id: str, start: str) -> dict[str, Any]:
        return {
            "vehicle_id": vehicle_id,
            "center_id": self.center_id,
            "service_type": "oil_change",
            "start": start,
        }


def _readings(start: datetime, count: int, odometer: float) -> list[dict[str, Any]]:
    return [
        {
            "timestamp": (start + timedelta(minutes=i)).isoformat(),
            "odometer_km": odometer + i,
            "battery_voltage": 12.6,
            "engine_running": False,
        }
        for i in range(count)
    ]


def _assert_in_contract(responses: list[requests.Response]) -> None:
    for response in responses:
        assert response.status_code in CONTRACT_STATUSES, (response.status_code, response.text)
        if response.status_code == 503:
            assert int(response.headers["Retry-After"]) >= 1, response.text
            assert response.json()["error"]["code"] in (
                "deadline_exceeded",
                "unavailable",
                "contention",
                "rate_limit_unavailable",
            ), response.text


# --------------------------------------------------------------------------- slow database


def test_slow_firestore_ends_requests_at_the_deadline_with_503_and_threads_stay_bounded(
    world: FaultStack,
) -> None:
    customer = world.user("customer")
    assert world.call("GET", "/api/vehicles", customer).status_code == 200
    baseline = {name: _function_threads(world, name) for name in ("vehicles", "bookings")}
    world.proxy.delay(DEADLINE * 3)  # every packet to and from Firestore waits 6 s

    paths = ["/api/vehicles", "/api/bookings/centers"] * (3 * THREADS)
    peak = dict(baseline)
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for name in peak:
                peak[name] = max(peak[name], _function_threads(world, name))
            time.sleep(0.1)

    def timed(path: str) -> tuple[requests.Response, float]:
        started = time.monotonic()
        response = world.call("GET", path, customer)
        return response, time.monotonic() - started

    watcher = threading.Thread(target=watch)
    watcher.start()
    with ThreadPoolExecutor(len(paths)) as pool:
        results = list(pool.map(timed, paths))
    stop.set()
    watcher.join()

    responses = [r for r, _ in results]
    assert {r.status_code for r in responses} == {503}, [r.text for r in responses[:3]]
    assert {r.json()["error"]["code"] for r in responses} == {"deadline_exceeded"}
    _assert_in_contract(responses)
    # Each function got 3 x THREADS requests at once: they queue for its THREADS threads, so
    # the last ones start after two rounds; none waits for the 60 s the gateway would allow.
    waves = 3
    assert max(elapsed for _, elapsed in results) < waves * DEADLINE + MARGIN, results
    for name, threads in peak.items():
        # gunicorn's fixed pool: no thread per stuck request, no thread left behind.
        assert threads <= baseline[name] + THREADS, (name, baseline[name], threads)

    world.proxy.passthrough()
    started = time.monotonic()
    assert world.call("GET", "/api/vehicles", customer).status_code == 200
    # The threads were free again: the first request after healing needs no queueing.
    assert time.monotonic() - started < DEADLINE + MARGIN


# --------------------------------------------------------------------------- outages


def _traffic(world: FaultStack, shop: Shop, seconds: float) -> list[tuple[str, Any, Any]]:
    """Mixed writes and reads from 6 clients for ``seconds``: what each sent and got back."""
    deadline = time.monotonic() + seconds
    sent: list[tuple[str, Any, Any]] = []
    lock = threading.Lock()
    kinds = itertools.cycle(["book", "telemetry", "register", "read", "book", "telemetry"])

    def client(kind: str) -> None:
        headers, vehicle_id = shop.customer()
        odometer, batches, booked = 1000.0, 0, 0
        base = datetime.now(UTC) - timedelta(hours=20)
        while time.monotonic() < deadline:
            if kind == "book" and booked == 3:  # a customer may hold 3 active bookings
                # Mid-traffic, so it may meet the outage: then try again on the next turn.
                fresh = shop.customer_unless_down()
                if fresh is None:
                    time.sleep(0.05)
                    continue
                (headers, vehicle_id), booked = fresh, 0
            if kind == "book":
                booked += 1
                request = ("POST", "/api/bookings", shop.booking(vehicle_id, shop.next_start()))
                key = str(uuid.uuid4())
                response = world.call(
                    request[0], request[1], {**headers, "Idempotency-Key": key}, json=request[2]
                )
                record: Any = (key, headers, request)
            elif kind == "telemetry":
                start = base + timedelta(minutes=5 * batches)
                body: dict[str, Any] = {"readings": _readings(start, 5, odometer)}
                path = f"/api/vehicles/{vehicle_id}/telemetry"
                response = world.call("POST", path, headers, json=body)
                odometer, batches = odometer + 10, batches + 1
                record = (headers, path, body)
            elif kind == "register":
                body = {
                    "email": f"new-{uuid.uuid4().hex[:10]}@example.test",
                    "password": "a long enough passphrase 42",
                    "full_name": "Fault Tester",
                }
                response = world.call("POST", "/api/auth/register", json=body)
                record = body
            else:
                response = world.call("GET", "/api/vehicles", headers)
                record = None
            with lock:
                sent.append((kind, record, response))
            time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(next(kinds),)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sent


def _retry_until_done(world: FaultStack, kind: str, record: Any) -> requests.Response:
    """Send a failed request again, as a client following Retry-After would."""
    for _ in range(30):
        if kind == "book":
            key, headers, (method, path, body) = record
            response = world.call(method, path, {**headers, "Idempotency-Key": key}, json=body)
        elif kind == "telemetry":
            headers, path, body = record
            response = world.call("POST", path, headers, json=body)
        else:
            response = world.call("POST", "/api/auth/register", json=record)
        busy = response.status_code == 409 and (
            response.json()["error"]["code"] == "idempotency_in_progress"
        )
        if response.status_code != 503 and not busy:
            return response
        time.sleep(float(response.headers.get("Retry-After", "1")))
    raise AssertionError(f"{kind} never completed: {response.text}")


def test_emulator_stopped_mid_traffic_answers_503_writes_nothing_partial_and_recovers(
    world: FaultStack,
) -> None:
    shop = Shop(world)
    emulator_group = world.emulator.process.pid
    outage: dict[str, Any] = {}

    def stop_then_resume() -> None:
        time.sleep(1.5)
        os.killpg(emulator_group, signal.SIGSTOP)  # the emulator process stops dead
        run_summary.fault("Firestore emulator stopped (SIGSTOP) mid-traffic")
        time.sleep(0.3)
        outage["ready"] = world.call("GET", "/api/monitoring/health/ready")
        time.sleep(DEADLINE + 1)
        os.killpg(emulator_group, signal.SIGCONT)

    injector = threading.Thread(target=stop_then_resume)
    injector.start()
    sent = _traffic(world, shop, seconds=7.0)
    injector.join()

    ready = outage["ready"]
    assert ready.status_code == 503 and ready.json()["error"]["code"] == "not_ready"
    responses = [response for _, _, response in sent]
    _assert_in_contract(responses)
    statuses = [r.status_code for r in responses]
    assert 503 in statuses, "the outage was not felt"
    assert any(s in (201, 202) for s in statuses), "nothing succeeded around the outage"
    world.wait_ready()

    counts = assert_nothing_half_written(world.db)
    # Every write a client saw fail is sent again: each lands exactly once.
    for kind, record, response in sent:
        if kind != "read" and response.status_code == 503:
            retried = _retry_until_done(world, kind, record)
            assert retried.status_code in (200, 201, 202, 207, 409), retried.text
    after = assert_nothing_half_written(world.db)
    assert after["bookings"] >= counts["bookings"]
    booked = [r for k, _, r in sent if k == "book" and r.status_code == 201]
    for response in booked:  # a 201 seen is a booking that exists
        booking_id = response.json()["id"]
        assert world.db.collection("bookings").document(booking_id).get().exists


def test_database_unreachable_is_503_then_serves_again_without_restarting_functions(
    world: FaultStack,
) -> None:
    customer = world.user("customer")
    pids = {name: p.pid for name, p in world.stack.processes.items()}
    world.proxy.cut()  # connections refused: the database is gone
    ready = world.call("GET", "/api/monitoring/health/ready")
    assert ready.status_code == 503 and ready.json()["error"]["code"] == "not_ready"
    started = time.monotonic()
    answers = [world.call("GET", path, customer) for path in ("/api/vehicles", "/api/auth/me")]
    assert time.monotonic() - started < 2 * (DEADLINE + MARGIN)
    _assert_in_contract(answers)
    assert {a.status_code for a in answers} == {503}

    world.proxy.passthrough()
    world.wait_ready()
    assert world.call("GET", "/api/vehicles", customer).status_code == 200
    assert {name: p.pid for name, p in world.stack.processes.items()} == pids


# --------------------------------------------------------------------------- contention


def test_contention_that_outlasts_every_retry_is_503_with_retry_after_never_500(
    world: FaultStack,
) -> None:
    """Another writer holds the customer's documents in a transaction for longer than the
    booking may wait: the booking answers 503 with Retry-After, then succeeds once free."""
    shop = Shop(world)
    headers, vehicle_id = shop.customer()
    customer_id = headers["X-User-Id"]
    holder = world.db.collection("booking_holders").document(customer_id)
    vehicle = world.db.collection("vehicles").document(vehicle_id)
    blocker = world.db.transaction()
    blocker._begin()
    # Reading inside a transaction locks the documents until it ends; the write makes this
    # transaction want them exclusively too.
    holder.get(transaction=blocker)
    vehicle.get(transaction=blocker)
    run_summary.fault("transaction contention held past every retry")
    try:
        body = shop.booking(vehicle_id, shop.next_start())
        with ThreadPoolExecutor(3) as pool:
            answers = list(
                pool.map(
                    lambda _: world.call("POST", "/api/bookings", headers, json=body), range(3)
                )
            )
    finally:
        blocker._rollback()
    _assert_in_contract(answers)
    assert all(a.status_code in (409, 503) for a in answers), [a.text for a in answers]
    assert any(a.status_code == 503 for a in answers)
    assert_nothing_half_written(world.db)
    retried = world.call("POST", "/api/bookings", headers, json=body)
    assert retried.status_code == 201, retried.text


# --------------------------------------------------------------------------- crashes


def _kill_mid_request(
    world: FaultStack, function: str, send: Any, kill_after: float
) -> requests.Response | None:
    """Send, SIGKILL ``function`` ``kill_after`` s later, start it again; the first answer."""
    result: dict[str, Any] = {}
    sender = threading.Thread(target=lambda: result.setdefault("response", _quiet(send)))
    sender.start()
    time.sleep(kill_after)
    world.stack.kill_function(function)
    run_summary.fault(f"{function} function SIGKILLed mid-request")
    sender.join()
    world.stack.restart_function(function)
    response: requests.Response | None = result.get("response")
    return response


def _quiet(send: Any) -> requests.Response | None:
    try:
        response: requests.Response = send()
        return response
    except requests.RequestException:
        return None


@pytest.mark.parametrize("kill_after", [0.3, 0.9, 1.8])
def test_a_booking_killed_mid_request_is_made_once_by_its_retry(
    world: FaultStack, kill_after: float
) -> None:
    shop = Shop(world)
    headers, vehicle_id = shop.customer()
    body = shop.booking(vehicle_id, shop.next_start())
    key_headers = {**headers, "Idempotency-Key": str(uuid.uuid4())}
    world.proxy.delay(0.05)  # each Firestore round trip takes ~0.1 s: the request is long
    first = _kill_mid_request(
        world,
        "bookings",
        lambda: world.call("POST", "/api/bookings", key_headers, json=body),
        kill_after,
    )
    world.proxy.passthrough()
    retry = _retry_until_done(
        world, "book", (key_headers["Idempotency-Key"], headers, ("POST", "/api/bookings", body))
    )
    assert retry.status_code == 201, retry.text
    mine = [
        b
        for b in world.db.collection("bookings").stream()
        if b.get("customer_id") == headers["X-User-Id"]
    ]
    assert [b.id for b in mine] == [retry.json()["id"]], "one booking, never two or none"
    if first is not None and first.status_code == 201:  # a 201 seen: the retry replays it
        assert first.json()["id"] == retry.json()["id"]
    assert_nothing_half_written(world.db)


@pytest.mark.parametrize("kill_after", [0.2, 0.6])
def test_a_registration_killed_mid_request_leaves_one_account_after_the_retry(
    world: FaultStack, kill_after: float
) -> None:
    email = f"crash-{uuid.uuid4().hex[:8]}@example.test"
    body = {"email": email, "password": "a long enough passphrase 42", "full_name": "Crash"}
    world.proxy.delay(0.05)
    first = _kill_mid_request(
        world, "auth", lambda: world.call("POST", "/api/auth/register", json=body), kill_after
    )
    world.proxy.passthrough()
    retry = _retry_until_done(world, "register", body)
    assert retry.status_code == 202, retry.text
    accounts = [u for u in world.db.collection("users").stream() if u.get("email") == email]
    assert len(accounts) == 1, "one account, never two or none"
    if first is not None and first.status_code == 202:
        assert len(accounts) == 1
    assert_nothing_half_written(world.db)


def test_faults_were_reported(world: FaultStack) -> None:
    """The run's summary names the faults (tests/run_summary.py)."""
    assert run_summary.faults, "no fault was injected"
    assert any("SIGKILL" in line for line in run_summary.lines())
