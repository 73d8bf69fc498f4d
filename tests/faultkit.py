"""Fault injection for the resilience tests: a TCP proxy that can delay, freeze or cut the
line to the Firestore emulator, a stack of real function processes behind it, and checks
that nothing was half-written.

The proxy sits between the functions and their own emulator (never the session's), so a
test can make Firestore slow (``delay``), unreachable but holding connections (``freeze``:
what a stalled backend or a network partition looks like) or refusing connections
(``cut``), and then heal it, without touching the functions.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import requests
import run_summary

ROOT = Path(__file__).resolve().parent.parent


class FaultProxy:
    """A TCP proxy on 127.0.0.1 with a switch: pass, delay, freeze or cut."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.mode = "pass"
        self.delay_seconds = 0.0
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.port: int = self._server.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="fault-proxy").start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    # ----------------------------------------------------------------- switches

    def passthrough(self) -> None:
        self.mode = "pass"

    def delay(self, seconds: float) -> None:
        self.delay_seconds, self.mode = seconds, "delay"
        run_summary.fault(f"slow Firestore (+{seconds:g} s per packet)")

    def freeze(self) -> None:
        """Hold every byte (connections stay open): a stalled database or a partition."""
        self.mode = "freeze"
        run_summary.fault("Firestore frozen (partition)")

    def cut(self) -> None:
        """Drop every connection and refuse new ones: the database is gone."""
        self._drop_all()
        run_summary.fault("Firestore connection cut")

    def _drop_all(self) -> None:
        self.mode = "cut"
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()
            self._sockets.clear()

    def close(self) -> None:
        self._closed = True
        self._drop_all()
        with contextlib.suppress(OSError):
            self._server.close()

    # ----------------------------------------------------------------- plumbing

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self.mode == "cut":
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                while self.mode == "freeze":
                    time.sleep(0.01)
                if self.mode == "cut":
                    break
                if self.mode == "delay":
                    # In small steps, so healing takes effect at once.
                    until = time.monotonic() + self.delay_seconds
                    while self.mode == "delay" and time.monotonic() < until:
                        time.sleep(0.01)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.close()


@contextlib.contextmanager
def emulator_client(address: str) -> Iterator[Any]:
    """A Firestore client of its own for ``address`` (the test process's client stays on the
    session emulator)."""
    from google.cloud import firestore

    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = address
    try:
        client = firestore.Client(project="demo-pmi")
    finally:
        if previous is not None:
            os.environ["FIRESTORE_EMULATOR_HOST"] = previous
    yield client
    client.close()  # type: ignore[no-untyped-call]


@dataclass
class FaultStack:
    """Functions and gateway as real processes, talking to their emulator through a proxy."""

    stack: Any
    emulator: Any
    proxy: FaultProxy
    db: Any
    deadline_seconds: float
    users: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return str(self.stack.gateway_url)

    def user(self, role: str, *, service_center_id: str | None = None) -> dict[str, str]:
        """A stored, signed-in user of ``role`` (written straight to the emulator)."""
        from shared.auth import tokens

        user_id, session_id = uuid.uuid4().hex, uuid.uuid4().hex
        self.db.collection("users").document(user_id).set(
            {
                "email": f"{role}-{user_id[:8]}@example.test",
                "full_name": f"Fault {role}",
                "phone": None,
                "role": role,
                "is_active": True,
                "email_verified": True,
                "service_center_id": service_center_id,
                "session_ids": [session_id],
                "password_hash": "!",
                "created_at": time.time(),
            }
        )
        issued = tokens.issue(
            tokens.TokenKind.ACCESS, user_id=user_id, role=role, session_id=session_id
        )
        return {"Authorization": f"Bearer {issued.token}", "X-User-Id": user_id}

    def call(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        return requests.request(
            method, self.url + path, headers=headers or {}, timeout=70, **kwargs
        )

    def wait_ready(self, timeout: float = 30.0) -> float:
        """Seconds until readiness answers 200 again (the functions are not restarted)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            response = self.call("GET", "/api/monitoring/health/ready")
            if response.status_code == 200:
                return time.monotonic() - started
            time.sleep(0.2)
        raise AssertionError(f"not ready again within {timeout:g} s")


def start_fault_stack(tmp: Path, *, deadline_seconds: float, threads: int = 4) -> FaultStack:
    """Its own emulator, a proxy in front, every function and the gateway behind it."""
    import conftest
    from emulator import FirestoreEmulator
    from stack import Stack, free_port

    emulator = FirestoreEmulator(
        free_port(), project_id="demo-pmi", log_path=tmp / "fault-emulator.log"
    )
    emulator.start()
    proxy = FaultProxy(emulator.port)
    # The stack reads only the address (and the process, to report deaths) of its emulator.
    behind_proxy = SimpleNamespace(address=proxy.address, port=proxy.port, process=None)
    stack = Stack(
        emulator_port=proxy.port,
        gateway_port=free_port(),
        reuse_emulator=behind_proxy,  # type: ignore[arg-type]
        log_dir=tmp / "logs",
        env={
            **conftest.TEST_ENV,
            "PMI_RATE_LIMIT_BACKEND": "local-first",
            "PMI_REQUEST_DEADLINE_SECONDS": str(deadline_seconds),
            "THREADS": str(threads),
        },
    )
    os.environ["THREADS"] = str(threads)
    try:
        stack.start(progress=lambda message: None)
    finally:
        os.environ.pop("THREADS", None)
    context = emulator_client(emulator.address)
    db = context.__enter__()
    return FaultStack(stack, emulator, proxy, db, deadline_seconds)


def stop_fault_stack(world: FaultStack) -> None:
    world.stack.stop()
    world.proxy.close()
    world.emulator.stop()


# --------------------------------------------------------------------------- invariants


def assert_nothing_half_written(db: Any) -> dict[str, int]:
    """Every multi-document change is whole: bookings and their cells and holders, accounts
    and their email guards, telemetry day documents and their vehicle. Returns counts."""
    bookings = {b.id: b.to_dict() for b in db.collection("bookings").stream()}
    active = {i: b for i, b in bookings.items() if b["status"] in ("requested", "confirmed")}
    cells: dict[str, set[str]] = {}
    holders: dict[str, set[str]] = {}
    for booking_id, booking in active.items():
        for key in booking["slot_keys"]:
            cells.setdefault(key, set()).add(booking_id)
        holders.setdefault(booking["customer_id"], set()).add(booking_id)
    for slot in db.collection("slots").stream():
        data = slot.to_dict()
        assert set(data["booking_ids"]) == cells.pop(slot.id, set()), slot.id
        assert data["count"] == len(data["booking_ids"]), slot.id
    assert cells == {}, f"bookings holding cells that were never written: {cells}"
    for holder in db.collection("booking_holders").stream():
        data = holder.to_dict()
        assert set(data["booking_ids"]) == holders.pop(holder.id, set()), holder.id
    assert holders == {}, f"bookings not counted for their customer: {holders}"
    for record in db.collection("booking_idempotency").stream():
        data = record.to_dict()
        if data["state"] == "completed":
            import json

            assert json.loads(data["response"])["id"] in bookings, record.id

    users = {u.id: u.to_dict() for u in db.collection("users").stream()}
    guards = {g.id: g.to_dict() for g in db.collection("user_emails").stream()}
    for guard_id, guard in guards.items():
        assert guard["user_id"] in users, f"email guard {guard_id} without its account"
    registered = [u for u in users.values() if u.get("password_hash") != "!"]
    assert len(registered) == len(guards), "an account without its email guard"

    readings = 0
    for vehicle in db.collection("vehicles").stream():
        stored = [
            reading
            for day in vehicle.reference.collection("telemetry_days").stream()
            for reading in (day.to_dict().get("readings") or {}).values()
        ]
        readings += len(stored)
        odometer = vehicle.to_dict().get("odometer_km")
        if stored:
            assert odometer is not None, f"{vehicle.id}: readings stored, vehicle not updated"
        else:
            assert odometer is None, f"{vehicle.id}: vehicle updated, readings missing"
    return {"bookings": len(bookings), "accounts": len(registered), "readings": readings}
