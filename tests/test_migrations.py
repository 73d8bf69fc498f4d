"""Data migrations on the emulator: old-shaped documents in, the current shape out.

Old documents are seeded first, as an earlier release left them: users without
``is_active``/``role``/``created_at``, vehicles without ``created_at``/``center_ids``/
``initial_mileage_km``, alerts whose ``center_ids`` no longer match their vehicle, telemetry
days without a rollup, one alert per fault code. Then the migrations run through
migrations.runner (in process) and scripts/migrate.py (a real process, killed with SIGKILL
mid-run and resumed).
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from identity.accounts import email_key
from migrations.base import DocumentMigration, Page
from migrations.runner import (
    RECORDS_COLLECTION,
    LoadedMigration,
    MigrationError,
    MigrationOrderError,
    Progress,
    discover,
    migrate_one,
    run,
)
from shared.auth import passwords

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "migration-test-clutch-5521"
IDS = (
    "001_backfill_user_fields",
    "002_backfill_vehicle_fields",
    "003_rebuild_alert_scope",
    "004_center_grants_from_bookings",
    "005_alert_center_access",
    "006_backfill_day_rollups",
    "007_remove_per_code_fault_alerts",
    "010_user_search_keys",
)
USER_FIELDS = (
    "is_active",
    "role",
    "email_verified",
    "session_ids",
    "phone",
    "service_center_id",
    "last_login",
    "created_at",
    "updated_at",
    "password_changed_at",
)


# --------------------------------------------------------------------------- old data


NO_PASSWORD = "!"  # a hash no password matches


def seed_old_user(db: Any, user_id: str, email: str, password_hash: str = NO_PASSWORD) -> None:
    """An account as the first release stored it: no role, no is_active, no timestamps."""
    db.document(f"users/{user_id}").set(
        {"email": email, "password_hash": password_hash, "full_name": "Old Timer"}
    )
    db.document(f"user_emails/{email_key(email)}").set({"user_id": user_id})


def seed_old_world(db: Any) -> dict[str, str]:
    """One old user (who can sign in), one old vehicle, one vehicle whose alert went stale."""
    seed_old_user(db, "u-old", "old@example.test", passwords.hash_password(PASSWORD, 4))
    db.document("vehicles/v-old").set(
        {
            "owner_id": "u-old",
            "vin": "1HGCM82633A004352",
            "make": "Honda",
            "model": "Accord",
            "year": 2012,
            "mileage_km": 150_000,
        }
    )
    db.document("vehicles/v-booked").set(
        {"owner_id": "u-old", "center_ids": ["c-north"], "mileage_km": 1, "created_at": 1}
    )
    # Its booking at c-north, coming up next week (004 turns it into an access with an end).
    db.document("bookings/b-old").set(
        {
            "vehicle_id": "v-booked",
            "center_id": "c-north",
            "status": "confirmed",
            "end": datetime.now(UTC) + timedelta(days=7),
        }
    )
    # Opened before the vehicle was booked at c-north: the center's staff cannot see it.
    db.document("alerts/v-booked_battery.low").set(
        {"vehicle_id": "v-booked", "owner_id": "u-old", "center_ids": [], "status": "open"}
    )
    return {"user": "u-old", "vehicle": "v-old", "alert": "alerts/v-booked_battery.low"}


def snapshot_state(db: Any) -> dict[str, Any]:
    """Every document with its data and update time (to prove nothing was written)."""
    state = {}
    for collection in ("users", "vehicles", "alerts", RECORDS_COLLECTION):
        for snapshot in db.collection(collection).stream():
            state[snapshot.reference.path] = (snapshot.to_dict(), snapshot.update_time)
    return state


def apply_all(db: Any) -> tuple[list[Any], str]:
    out = io.StringIO()
    outcomes = run(db, apply=True, out=out, show_progress=False)
    return outcomes, out.getvalue()


def migrate_cli(*args: str, emulator: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "migrate.py"), *args],
        cwd=ROOT,
        env={
            **os.environ,
            "FIRESTORE_EMULATOR_HOST": emulator.address,
            "GOOGLE_CLOUD_PROJECT": emulator.project_id,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


# --------------------------------------------------------------------------- the files


def test_migration_files_load_in_number_order_each_described() -> None:
    loaded = discover()
    assert [m.id for m in loaded] == list(IDS)
    assert all(m.migration.description and m.migration.collection for m in loaded)


def test_two_migrations_with_one_number_are_refused(tmp_path: Path) -> None:
    body = (
        "from migrations.base import DocumentMigration\n"
        "class M(DocumentMigration):\n"
        "    collection = 'users'\n"
        "    description = 'x'\n"
        "    def changes(self, snapshot, page):\n"
        "        return {}\n"
        "MIGRATION = M()\n"
    )
    (tmp_path / "004_one.py").write_text(body)
    (tmp_path / "004_other.py").write_text(body)
    with pytest.raises(MigrationError, match="004"):
        discover(tmp_path)


def test_a_badly_named_migration_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "4_Backfill.py").write_text("")
    with pytest.raises(MigrationError, match="NNN_snake_case"):
        discover(tmp_path)


# --------------------------------------------------------------------------- progress


def test_a_run_in_logs_prints_a_progress_line_per_interval(
    db: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a terminal (CI, Cloud Build) progress is a line on stderr every interval;
    with the interval at 0 every page prints one, counting up to the collection's size."""
    seed_old_world(db)
    monkeypatch.setattr(Progress, "LOG_INTERVAL_SECONDS", 0.0)

    run(db, apply=True, out=io.StringIO(), show_progress=True)

    lines = capsys.readouterr().err.splitlines()
    users = [line for line in lines if line.strip().startswith("001_backfill_user_fields:")]
    assert users, lines
    done, total = users[-1].rsplit(":", 1)[1].split()[0].split("/")
    assert int(done) == int(total) >= 1


def test_progress_is_silent_when_turned_off(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress("users", total=10, initial=0, enabled=False)
    progress.LOG_INTERVAL_SECONDS = 0.0
    progress.update(5)
    progress.update(5)
    progress.close()
    assert progress.done == 10
    assert capsys.readouterr().err == ""


def test_progress_counts_on_from_a_checkpoint(capsys: pytest.CaptureFixture[str]) -> None:
    """A resumed run starts its count where the checkpoint left it."""
    progress = Progress("vehicles", total=10, initial=6, enabled=True)
    progress.LOG_INTERVAL_SECONDS = 0.0
    progress.update(4)
    progress.close()
    assert "vehicles: 10/10 documents" in capsys.readouterr().err


# --------------------------------------------------------------------------- dry run


def test_the_dry_run_shows_what_would_change_and_writes_nothing(db: Any) -> None:
    seed_old_world(db)
    before = snapshot_state(db)
    out = io.StringIO()

    outcomes = run(db, apply=False, out=out, show_progress=False)

    assert [(o.id, o.state, o.changed) for o in outcomes] == [
        (IDS[0], "would apply", 1),
        (IDS[1], "would apply", 2),  # the booked vehicle lacks fields too
        (IDS[2], "would apply", 1),
        (IDS[3], "would apply", 2),  # neither vehicle has access with an end yet
        (IDS[4], "would apply", 1),
        (IDS[5], "would apply", 0),  # no telemetry in this world (see the 006 tests)
        (IDS[6], "would apply", 0),  # no per-code fault alerts (see the 007 tests)
        (IDS[7], "would apply", 1),
    ]
    printed = out.getvalue()
    assert "users/u-old: " in printed and "is_active: (missing) -> True" in printed
    assert "role: (missing) -> 'customer'" in printed
    assert "vehicles/v-old: " in printed and "initial_mileage_km: (missing) -> 150000" in printed
    assert "center_ids: [] -> ['c-north']" in printed
    assert snapshot_state(db) == before


# --------------------------------------------------------------------------- apply


def test_old_documents_come_out_in_the_current_shape(db: Any) -> None:
    seed_old_world(db)
    created = db.document("users/u-old").get().create_time

    outcomes, _ = apply_all(db)

    assert [(o.state, o.scanned, o.changed) for o in outcomes] == [
        ("applied", 1, 1),
        ("applied", 2, 2),
        ("applied", 1, 1),
        ("applied", 2, 2),
        ("applied", 1, 1),
        ("applied", 0, 0),
        ("applied", 1, 0),
        ("applied", 1, 1),
    ]
    user = db.document("users/u-old").get().to_dict()
    assert set(USER_FIELDS) <= set(user)
    assert user["role"] == "customer" and user["is_active"] is True
    assert user["session_ids"] == [] and user["email_verified"] is False
    assert user["created_at"] == created == user["password_changed_at"]
    assert user["full_name"] == "Old Timer"  # what was there stays
    vehicle = db.document("vehicles/v-old").get().to_dict()
    assert vehicle["initial_mileage_km"] == 150_000
    assert vehicle["center_ids"] == [] and vehicle["maintenance_overrides"] == {}
    assert vehicle["created_at"] is not None and vehicle["due_services"] == []
    booked = db.document("vehicles/v-booked").get().to_dict()
    assert booked["created_at"] == 1 and booked["center_ids"] == ["c-north"]  # kept
    alert = db.document("alerts/v-booked_battery.low").get().to_dict()
    assert alert["center_ids"] == ["c-north"] and alert["status"] == "open"
    # The live booking grants c-north until its end + 30 days, on the vehicle and its alert.
    assert set(booked["center_access"]) == {"c-north"}
    assert booked["center_grants"]["b-old"]["center_id"] == "c-north"
    assert alert["center_access"] == booked["center_access"]
    assert vehicle["center_access"] == {} and vehicle["center_grants"] == {}
    for migration_id in IDS:
        record = db.document(f"{RECORDS_COLLECTION}/{migration_id}").get().to_dict()
        assert record["status"] == "applied" and record["finished_at"] is not None
        assert record["checksum"] and record["description"]


@pytest.mark.legacy_data
def test_after_the_migration_old_accounts_and_vehicles_work_through_the_api(
    db: Any, call: Any, users: Any
) -> None:
    """Why the backfill matters: before it the account is locked out and the vehicle hidden."""
    seed_old_world(db)
    admin = users.create("admin")
    login = {"email": "old@example.test", "password": PASSWORD}

    assert call("auth").post("/login", json=login).status_code == 401  # no is_active
    listed = call("vehicles").get("/", headers=admin.headers).get_json()["items"]
    assert "v-old" not in [v["id"] for v in listed]  # no created_at to order by

    apply_all(db)

    signed_in = call("auth").post("/login", json=login)
    assert signed_in.status_code == 200, signed_in.get_json()
    assert signed_in.get_json()["user"]["role"] == "customer"
    listed = call("vehicles").get("/", headers=admin.headers).get_json()["items"]
    assert "v-old" in [v["id"] for v in listed]
    accounts = call("auth").get("/users", headers=admin.headers).get_json()["items"]
    assert "u-old" in [a["id"] for a in accounts]


def test_a_second_run_changes_nothing(db: Any) -> None:
    seed_old_world(db)
    apply_all(db)
    after_first = snapshot_state(db)

    outcomes, printed = apply_all(db)

    assert [o.state for o in outcomes] == ["already applied"] * len(IDS)
    assert printed.count(" applied 20") == len(IDS)  # each listed with the date it was applied
    assert snapshot_state(db) == after_first
    # Even forced to run again (records gone), every migration finds nothing to change.
    for migration_id in IDS:
        db.document(f"{RECORDS_COLLECTION}/{migration_id}").delete()
    data_before = {k: v for k, v in snapshot_state(db).items() if RECORDS_COLLECTION not in k}
    outcomes, _ = apply_all(db)
    assert [o.changed for o in outcomes] == [0] * len(IDS)
    data_after = {k: v for k, v in snapshot_state(db).items() if RECORDS_COLLECTION not in k}
    assert data_after == data_before


def test_a_pending_migration_numbered_before_an_applied_one_is_refused(db: Any) -> None:
    seed_old_world(db)
    db.document(f"{RECORDS_COLLECTION}/{IDS[1]}").set({"status": "applied"})
    before = snapshot_state(db)
    with pytest.raises(MigrationOrderError, match=f"{IDS[0]} has not run, but the later {IDS[1]}"):
        run(db, apply=True, out=io.StringIO(), show_progress=False)
    assert snapshot_state(db) == before


def test_the_cli_refuses_out_of_order_with_exit_status_2(db: Any, emulator: Any) -> None:
    seed_old_world(db)
    db.document(f"{RECORDS_COLLECTION}/004_from_another_branch").set({"status": "applied"})
    process = migrate_cli("--apply", emulator=emulator)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2, output
    assert "refused: 001_backfill_user_fields has not run" in output
    assert db.document("users/u-old").get().to_dict().get("role") is None


def test_alerts_of_deleted_vehicles_are_left_alone_and_counted(db: Any) -> None:
    db.document("alerts/v-gone_battery.low").set(
        {"vehicle_id": "v-gone", "owner_id": "u-x", "center_ids": [], "status": "open"}
    )
    outcomes, printed = apply_all(db)
    assert outcomes[2].changed == 0
    assert "note: 1 alerts whose vehicle no longer exists (left unchanged)" in printed
    assert db.document("alerts/v-gone_battery.low").get().to_dict()["owner_id"] == "u-x"


class _TouchedMeanwhile(DocumentMigration):
    """Backfills ``flag``; after its first page read, "the platform" sets it on a document."""

    collection = "users"
    description = "test: a concurrent write between read and commit"

    def __init__(self) -> None:
        self.touched = False

    def prepare(self, db: Any, page: Page) -> None:
        if not self.touched:
            self.touched = True
            db.document("users/u-0001").update({"flag": "set by the platform"})

    def changes(self, snapshot: Any, page: Page) -> dict[str, Any]:
        return {} if "flag" in (snapshot.to_dict() or {}) else {"flag": True}


def test_a_document_changed_between_read_and_write_is_read_again_not_overwritten(
    db: Any,
) -> None:
    for index in range(3):
        seed_old_user(db, f"u-{index:04d}", f"user{index}@example.test")
    loaded = LoadedMigration("900_test", 900, Path(__file__), "test", _TouchedMeanwhile())

    outcome = migrate_one(db, loaded, None, apply=True, show_progress=False)

    # The stale plan (flag: True for all three) was refused as a whole and made again.
    assert db.document("users/u-0001").get().to_dict()["flag"] == "set by the platform"
    assert [db.document(f"users/u-{i:04d}").get().get("flag") for i in (0, 2)] == [True, True]
    assert outcome.changed == 2
    record = db.document(f"{RECORDS_COLLECTION}/900_test").get().to_dict()
    assert record["changed"] == 2 and record["pages"] == 1  # the refused batch left no trace


# --------------------------------------------------------------------------- interruption


@pytest.mark.slow
def test_killed_mid_run_it_resumes_without_half_migrated_documents(db: Any, emulator: Any) -> None:
    count, page = 300, 20
    for start in range(0, count, 250):
        batch = db.batch()
        for index in range(start, min(start + 250, count)):
            batch.set(
                db.document(f"users/u-{index:04d}"),
                {"email": f"user{index}@example.test", "password_hash": "!"},
            )
        batch.commit()
    record_ref = db.document(f"{RECORDS_COLLECTION}/{IDS[0]}")

    process = migrate_cli(
        "--apply", "--page-size", str(page), "--throttle", "0.3", "--no-progress", emulator=emulator
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        record = record_ref.get().to_dict() or {}
        if record.get("scanned", 0) >= 3 * page:
            break
        assert process.poll() is None, process.communicate()[0]
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)

    record = record_ref.get().to_dict()
    assert record["status"] == "running"
    assert 3 * page <= record["scanned"] < count
    checkpoint = record["checkpoint"]
    migrated = set()
    for snapshot in db.collection("users").stream():
        present = [name for name in USER_FIELDS if name in snapshot.to_dict()]
        assert present in ([], list(USER_FIELDS)), f"{snapshot.id} half-migrated: {present}"
        if present:
            migrated.add(snapshot.id)
    # Exactly the pages the checkpoint records, and nothing after it.
    assert migrated == {f"u-{i:04d}" for i in range(count) if f"u-{i:04d}" <= checkpoint}
    assert len(migrated) == record["scanned"] == record["changed"]

    resumed = migrate_cli("--apply", "--no-progress", emulator=emulator)
    output, _ = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, output
    assert f"resuming after {checkpoint}" in output

    record = record_ref.get().to_dict()
    assert record["status"] == "applied"
    assert record["scanned"] == record["changed"] == count  # every document counted once
    for snapshot in db.collection("users").stream():
        assert set(USER_FIELDS) <= set(snapshot.to_dict()), snapshot.id


def test_the_cli_dry_run_prints_the_plan_and_exits_0(db: Any, emulator: Any) -> None:
    seed_old_world(db)
    process = migrate_cli(emulator=emulator)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "DRY RUN" in output and f"the emulator at {emulator.address}" in output
    assert "8 migration(s) pending, 8 document(s) would change" in output
    assert "users/u-old: " in output
    assert list(db.collection(RECORDS_COLLECTION).stream()) == []


def test_the_cli_will_not_send_the_demo_project_to_production() -> None:
    """Without FIRESTORE_EMULATOR_HOST, demo-pmi would mean Google's servers: refused."""
    env = {k: v for k, v in os.environ.items() if k != "FIRESTORE_EMULATOR_HOST"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "migrate.py"), "--apply"],
        cwd=ROOT,
        env={**env, "GOOGLE_CLOUD_PROJECT": "demo-pmi"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "demo-pmi is a local demo project" in result.stderr


# --------------------------------------------------------------------------- 006: day rollups


def loaded(migration_id: str) -> LoadedMigration:
    return next(m for m in discover() if m.id == migration_id)


def apply_only(db: Any, migration_id: str, **options: Any) -> tuple[Any, str]:
    out = io.StringIO()
    (outcome,) = run(
        db,
        apply=True,
        migrations=[loaded(migration_id)],
        out=out,
        show_progress=False,
        **options,
    )
    return outcome, out.getvalue()


def seed_old_days(db: Any, vehicle_id: str, days: int) -> list[str]:
    """Day documents as stored before rollups: packed readings and a count, no rollup."""
    from vehicle.codec import pack, reading_key
    from vehicle.telemetry_quality import Reading

    paths = []
    for day in range(days):
        midnight = datetime(2024, 3, 1, tzinfo=UTC) + timedelta(days=day)
        readings = [
            Reading.model_validate(
                {
                    "timestamp": (midnight + timedelta(hours=h)).isoformat(),
                    "odometer_km": 42_000 + day,
                    "battery_voltage": 12.6 - 0.01 * day,
                    "engine_running": False,
                }
            )
            for h in range(1, 24, 2)
        ]
        name = midnight.date().isoformat()
        entries = {reading_key(r.timestamp): pack(r) for r in readings}
        path = f"vehicles/{vehicle_id}/telemetry_days/{name}"
        db.document(path).set({"day": name, "readings": entries, "count": len(entries)})
        paths.append(path)
    return paths


def day_state(db: Any) -> dict[str, Any]:
    return {
        s.reference.path: (s.to_dict(), s.update_time)
        for s in db.collection_group("telemetry_days").stream()
    }


def test_006_gives_every_old_day_of_every_vehicle_the_rollup_an_ingest_writes(db: Any) -> None:
    from vehicle import rollups, telemetry_store

    db.document("vehicles/v-a").set({"owner_id": "u-1"})
    db.document("vehicles/v-b").set({"owner_id": "u-2"})
    old = seed_old_days(db, "v-a", 3) + seed_old_days(db, "v-b", 2)
    # A day with a rollup of another (older) version counts as without one ...
    db.document(old[-1]).update({"rollup": '{"v": 0}'})
    # ... and a day with a current one is left as it is.
    current = old.pop(3)
    data = db.document(current).get().to_dict()
    db.document(current).update(telemetry_store.rollup_backfill(data["day"], data))
    untouched = db.document(current).get().update_time

    outcome, printed = apply_only(db, IDS[5])

    assert (outcome.scanned, outcome.changed) == (5, 4)
    assert "vehicles/v-a/telemetry_days/2024-03-01: rollup: (missing) -> " in printed
    for path in old:
        stored = db.document(path).get().to_dict()
        rollup = rollups.decode(datetime.fromisoformat(stored["day"]).date(), stored["rollup"])
        assert rollup is not None and rollup.readings == stored["count"] == 12
        assert rollup.resting_n == 12  # the same summary as ingest makes of these readings
        assert stored["readings"] and stored["count"] == 12  # readings kept
    assert db.document(current).get().update_time == untouched

    before = day_state(db)
    db.document(f"{RECORDS_COLLECTION}/{IDS[5]}").delete()  # forced to run again
    outcome, _ = apply_only(db, IDS[5])
    assert outcome.changed == 0 and day_state(db) == before


class _InterruptedRollups(DocumentMigration):
    """006 that dies (as on SIGKILL) while preparing its second page."""

    collection = "telemetry_days"
    collection_group = True
    description = "test: 006 interrupted"
    fields = ("day", "rollup")

    def __init__(self, real: Any) -> None:
        self.real = real
        self.pages = 0

    def prepare(self, db: Any, page: Page) -> None:
        self.pages += 1
        if self.pages == 2:
            raise KeyboardInterrupt
        self.real.prepare(db, page)

    def changes(self, snapshot: Any, page: Page) -> Any:
        return self.real.changes(snapshot, page)


def test_006_resumes_in_the_collection_group_after_the_last_recorded_page(db: Any) -> None:
    paths = seed_old_days(db, "v-a", 3) + seed_old_days(db, "v-b", 3)
    real = loaded(IDS[5])
    dying = LoadedMigration(
        real.id, real.number, real.path, real.checksum, _InterruptedRollups(real.migration)
    )

    with pytest.raises(KeyboardInterrupt):
        run(db, apply=True, migrations=[dying], page_size=2, out=io.StringIO(), show_progress=False)

    record = db.document(f"{RECORDS_COLLECTION}/{IDS[5]}").get().to_dict()
    assert record["status"] == "running" and record["checkpoint"] == sorted(paths)[1]
    done = {p for p in paths if "rollup" in db.document(p).get().to_dict()}
    assert done == set(sorted(paths)[:2])  # the recorded page, nothing half-done after it

    out = io.StringIO()
    (outcome,) = run(db, apply=True, migrations=[real], page_size=2, out=out, show_progress=False)

    assert f"resuming after {sorted(paths)[1]}" in out.getvalue()
    assert outcome.changed == 4
    record = db.document(f"{RECORDS_COLLECTION}/{IDS[5]}").get().to_dict()
    assert record["status"] == "applied" and record["changed"] == record["scanned"] == 6
    assert all("rollup" in db.document(p).get().to_dict() for p in paths)


def test_006_never_overwrites_a_day_an_ingest_wrote_meanwhile(db: Any) -> None:
    """The runner's update-time check: the page is planned again and finds it current."""
    from vehicle import telemetry_store

    (path,) = seed_old_days(db, "v-a", 1)
    real = loaded(IDS[5])

    class IngestMeanwhile(_InterruptedRollups):
        def prepare(self, db: Any, page: Page) -> None:
            self.real.prepare(db, page)
            if not self.pages:
                self.pages = 1
                data = db.document(path).get().to_dict()
                fresh = telemetry_store.rollup_backfill(data["day"], data)
                db.document(path).update({**fresh, "count": 12, "updated_by": "ingest"})

    migration = LoadedMigration(
        real.id, real.number, real.path, real.checksum, IngestMeanwhile(real.migration)
    )
    (outcome,) = run(db, apply=True, migrations=[migration], out=io.StringIO(), show_progress=False)
    assert outcome.changed == 0
    assert db.document(path).get().to_dict()["updated_by"] == "ingest"


# --------------------------------------------------------------------------- 007: per-code alerts


def _fault_alert(db: Any, key: str, status: str, **extra: Any) -> str:
    """An alert of vehicle v-1; ``key`` as stored (``dtc.<tier>.<CODE>`` before grouping)."""
    rule_id = ".".join(key.split(".")[:2])
    db.document(f"alerts/v-1_{key}").set(
        {
            "vehicle_id": "v-1",
            "owner_id": "u-1",
            "rule_id": rule_id,
            "alert_key": key,
            "service_code": "diagnostics",
            "status": status,
            "severity": "high",
            **extra,
        }
    )
    return f"alerts/v-1_{key}"


def test_007_deletes_superseded_per_code_fault_alerts_and_leaves_the_latest_word_open(
    db: Any,
) -> None:
    db.document("vehicles/v-1").set({"owner_id": "u-1"})
    resolved_old = _fault_alert(db, "dtc.powertrain.P0420", "resolved")
    # Written before alert_key existed: the key comes from the id.
    keyless = _fault_alert(db, "dtc.powertrain.P0300", "resolved")
    db.document(keyless).update({"alert_key": firestore_delete()})
    superseded = _fault_alert(db, "dtc.misfire.P0301", "open", severity="critical")
    successor = _fault_alert(db, "dtc.misfire.diagnostics", "open", severity="critical")
    latest_word = _fault_alert(db, "dtc.powertrain.P0171", "open")
    other = "alerts/v-1_battery.resting_voltage"
    db.document(other).set(
        {"vehicle_id": "v-1", "rule_id": "battery.resting_voltage", "status": "open"}
    )

    outcome, printed = apply_only(db, IDS[6])

    assert (outcome.scanned, outcome.changed) == (6, 3)
    assert f"{superseded}: deleted" in printed
    for gone in (resolved_old, keyless, superseded):
        assert not db.document(gone).get().exists, gone
    for kept in (successor, latest_word, other):
        assert db.document(kept).get().exists, kept
    assert db.document(latest_word).get().get("status") == "open"
    assert "note: 1 open per-code fault alerts of vehicles not evaluated since grouping" in printed

    before = {s.id: s.update_time for s in db.collection("alerts").stream()}
    db.document(f"{RECORDS_COLLECTION}/{IDS[6]}").delete()  # forced to run again
    outcome, _ = apply_only(db, IDS[6])
    assert outcome.changed == 0
    assert {s.id: s.update_time for s in db.collection("alerts").stream()} == before


def test_007_deletes_nothing_an_evaluation_wrote_meanwhile(db: Any) -> None:
    """A per-code alert the (previous release's) code refreshed after the page was read is
    not deleted over it: the page is planned again."""
    real = loaded(IDS[6])
    path = _fault_alert(db, "dtc.powertrain.P0420", "resolved")

    class RefreshedMeanwhile(DocumentMigration):
        collection = "alerts"
        description = "test: 007 with a concurrent write"
        refreshed = False

        def prepare(self, db: Any, page: Page) -> None:
            real.migration.prepare(db, page)
            if not self.refreshed:
                self.refreshed = True
                db.document(path).update({"status": "open"})  # reopened by an old instance

        def changes(self, snapshot: Any, page: Page) -> Any:
            return real.migration.changes(snapshot, page)

    migration = LoadedMigration(
        real.id, real.number, real.path, real.checksum, RefreshedMeanwhile()
    )
    (outcome,) = run(db, apply=True, migrations=[migration], out=io.StringIO(), show_progress=False)
    assert outcome.changed == 0  # re-planned: open, no successor, so left for its evaluation
    assert db.document(path).get().get("status") == "open"


def firestore_delete() -> Any:
    from google.cloud import firestore

    return firestore.DELETE_FIELD


# --------------------------------------------------------------------------- 010 search keys


def test_old_accounts_are_found_by_the_admin_search_only_after_010(
    db: Any, call: Any, users: Any
) -> None:
    seed_old_world(db)  # "Old Timer", old@example.test: no search keys
    admin = users.create("admin")

    def found(q: str) -> list[str]:
        reply = call("auth").get("/users", query_string={"q": q}, headers=admin.headers)
        assert reply.status_code == 200, reply.get_json()
        return [u["id"] for u in reply.get_json()["items"]]

    assert found("timer") == [] and found("old@") == []

    apply_all(db)

    assert found("timer") == ["u-old"]  # a later word of the name
    assert found("OLD@EXAMPLE") == ["u-old"]  # the address, any case
    assert found("timers") == []


def test_010_rewrites_stale_keys_and_leaves_current_ones_alone(db: Any) -> None:
    from shared.user_search import search_prefixes

    seed_old_user(db, "u-renamed", "renamed@example.test")
    db.document("users/u-renamed").update({"search_prefixes": ["someone", "else"]})
    seed_old_user(db, "u-current", "current@example.test")
    db.document("users/u-current").update(
        {"search_prefixes": search_prefixes("current@example.test", "Old Timer")}
    )
    apply_all(db)

    renamed = db.document("users/u-renamed").get().to_dict()
    assert renamed["search_prefixes"] == search_prefixes("renamed@example.test", "Old Timer")
    assert "someone" not in renamed["search_prefixes"]
    record = db.document(f"{RECORDS_COLLECTION}/010_user_search_keys").get().to_dict()
    assert record["scanned"] == 2 and record["changed"] == 1
