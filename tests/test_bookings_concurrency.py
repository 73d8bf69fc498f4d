"""Capacity under real concurrency: threads racing through the function against the emulator.

The promise: a slot's bookings never exceed its bays, and the slot documents always agree
with the bookings that hold them — however many requests race.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from bookings_helpers import (
    World,
    berlin_start,
    next_weekday,
    world_fixture,  # noqa: F401 - provides the "world" fixture
)

RACERS = 50


def _race(count: int, attempt: Any) -> list[Any]:
    """Run ``attempt(i)`` on ``count`` threads released together."""
    barrier = threading.Barrier(count)

    def run(i: int) -> Any:
        barrier.wait()
        return attempt(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def assert_refusals_are_full_or_contended(
    responses: list[Any], business_code: str = "slot_full"
) -> None:
    """Every refusal is the business rule (409) or, past every retry, contention (503)."""
    for response in responses:
        if response.status_code == 201:
            continue
        code = response.get_json()["error"]["code"]
        assert (response.status_code, code) in {(409, business_code), (503, "contention")}, code
        if response.status_code == 503:
            assert response.headers["Retry-After"] == "1"


def test_fifty_parallel_requests_fill_three_bays_exactly(world: World) -> None:
    center = world.create_center(bays=3)
    racers = [world.customer() for _ in range(RACERS)]
    start = berlin_start(next_weekday(1), 10)

    def attempt(i: int) -> Any:
        user, vehicle = racers[i]
        client = world.call("bookings")
        return client.post(
            "/api/bookings",
            json={
                "vehicle_id": vehicle,
                "center_id": center["id"],
                "service_type": "oil_change",
                "start": start,
            },
            headers=user.headers,
        )

    responses = _race(RACERS, attempt)
    statuses = Counter(r.status_code for r in responses)
    assert statuses[201] == 3, statuses
    assert_refusals_are_full_or_contended(responses)
    world.assert_capacity_invariant(center["id"], bays=3)
    # The 60-minute service holds two 30-minute cells, each with exactly three bookings.
    assert sorted(c for c, _ in world.slot_doc_counts(center["id"]).values()) == [3, 3]


def test_overlapping_services_of_different_lengths_share_bays(world: World) -> None:
    center = world.create_center(bays=2)
    day = next_weekday(2)
    racers = [world.customer() for _ in range(12)]
    # 60-minute bookings at 10:00 and 30-minute ones at 10:30 compete for the 10:30 cell.
    long_job = (berlin_start(day, 10), "oil_change")
    short_job = (berlin_start(day, 10, 30), "tyre_rotation")
    plans = [long_job if i % 2 else short_job for i in range(len(racers))]

    def attempt(i: int) -> Any:
        user, vehicle = racers[i]
        start, service = plans[i]
        return world.book(user, vehicle, center["id"], start, service)

    responses = _race(len(racers), attempt)
    assert all(r.status_code in (201, 409) for r in responses)
    assert sum(r.status_code == 201 for r in responses) == 2
    world.assert_capacity_invariant(center["id"], bays=2)


def test_active_booking_limit_holds_under_concurrency(world: World) -> None:
    center = world.create_center(bays=10)
    user, vehicle = world.customer()
    day = next_weekday(3)
    starts = [berlin_start(day, 8 + i // 2, 30 * (i % 2)) for i in range(10)]

    responses = _race(10, lambda i: world.book(user, vehicle, center["id"], starts[i]))
    statuses = Counter(r.status_code for r in responses)
    assert statuses[201] == 3, statuses
    assert_refusals_are_full_or_contended(responses, business_code="active_booking_limit")
    holder = world.db.collection("booking_holders").document(user.id).get().to_dict()
    assert holder["active_count"] == 3
    world.assert_capacity_invariant(center["id"], bays=10)


def test_cancellations_racing_bookings_keep_counts_consistent(world: World) -> None:
    center = world.create_center(bays=2)
    start = berlin_start(next_weekday(4), 14)
    first = [world.customer() for _ in range(2)]
    booked = [world.book(u, v, center["id"], start).get_json()["id"] for u, v in first]
    later = [world.customer() for _ in range(8)]

    def attempt(i: int) -> Any:
        if i < 2:
            return world.act(first[i][0], booked[i], "cancel")
        user, vehicle = later[i - 2]
        return world.book(user, vehicle, center["id"], start)

    responses = _race(10, attempt)
    assert [r.status_code for r in responses[:2]] == [200, 200]
    assert all(r.status_code in (201, 409) for r in responses[2:])
    won = sum(r.status_code == 201 for r in responses[2:])
    assert won <= 2
    world.assert_capacity_invariant(center["id"], bays=2)
    # Whether the racing bookings ran before or after the cancellations, exactly the two
    # freed bays are free now: the refused customers can take what is left, and no more.
    refused = [later[i - 2] for i, r in enumerate(responses) if i >= 2 and r.status_code == 409]
    again = [world.book(u, v, center["id"], start).status_code for u, v in refused]
    assert again == [201] * (2 - won) + [409] * (len(refused) - (2 - won))
    world.assert_capacity_invariant(center["id"], bays=2)


def test_transactions_alone_keep_capacity_without_in_process_turn_taking(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several instances do not share locks: Firestore's transactions must suffice.

    Without turn-taking the racers wait on one another's locks in Firestore; one that waits
    past the request deadline answers 503 with Retry-After, having written nothing. A
    client sends it again (as the SDK does): in the end one racer holds the bay and every
    other was told 409, never more bookings than bays."""
    from shared import locks

    monkeypatch.setattr(locks, "holding", lambda keys: contextlib.nullcontext())
    center = world.create_center(bays=1)
    racers = [world.customer() for _ in range(4)]
    start = berlin_start(next_weekday(1), 15)
    keys = [{"Idempotency-Key": f"race-{uuid.uuid4().hex}"} for _ in racers]

    def book(i: int) -> Any:
        return world.book(*racers[i], center["id"], start, headers=keys[i])

    responses = _race(4, book)
    assert all(r.status_code in (201, 409, 503) for r in responses), responses
    for response in responses:
        if response.status_code == 503:
            assert response.headers.get("Retry-After"), response.get_json()
    world.assert_capacity_invariant(center["id"], bays=1)

    final = []
    for i, response in enumerate(responses):
        # A 503 may come after the commit applied (the deadline passed while it ran): the
        # retry with the same key answers what was done, once the claim is settled.
        for _ in range(60):  # the claim's lease: the deadline + 5 s
            retry = response.status_code == 503 or (
                response.status_code == 409
                and response.get_json()["error"]["code"] == "idempotency_in_progress"
            )
            if not retry:
                break
            time.sleep(min(1.0, float(response.headers.get("Retry-After", "1"))))
            response = book(i)
        final.append(response.status_code)
    statuses = Counter(final)
    assert statuses[201] == 1, statuses
    assert statuses[409] == 3, statuses
    world.assert_capacity_invariant(center["id"], bays=1)
