"""The migration engine: find the migrations, check their order, dry-run or apply them.

How an applied run stays safe:
- **In order.** Migrations run by number, each to completion before the next. If a
  migration is pending while a later-numbered one has already started or finished (two
  branches picked numbers independently), the run is refused before anything is written.
- **Atomic per page, resumable.** Documents are read in pages ordered by id. A page's
  document updates and the migration's checkpoint (the page's last id and the counters in
  ``schema_migrations/{id}``) are committed in ONE batch: after a crash or a SIGKILL a
  page is either fully written and recorded, or not at all, so no document is ever
  half-migrated and a rerun resumes after the last recorded page.
- **Never over a concurrent write.** Each update carries the document's ``update_time``
  as read (a precondition). If a function changed the document meanwhile, the batch is
  refused as a whole and the page is read and planned again.
- **Idempotent.** A migration returns no change for a document that is already current,
  so a second run (or a page re-planned after a conflict) writes nothing new.

The dry run (the default) reads the same pages, plans the same changes, writes nothing,
and prints how many documents would change with a few examples.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import socket
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from migrations.base import DELETE, MAX_PAGE_SIZE, MISSING, Deletion, DocumentMigration, Page

MIGRATIONS_DIR = Path(__file__).resolve().parent
ROOT = MIGRATIONS_DIR.parent
RECORDS_COLLECTION = "schema_migrations"
FILE_NAME = re.compile(r"^(?P<number>\d{3})_(?P<name>[a-z0-9_]+)\.py$")
DEFAULT_PAGE_SIZE = 200
# A page whose documents keep changing under us (a hot document) is retried this often.
CONFLICT_RETRIES = 5
EXAMPLES_SHOWN = 5


class MigrationError(Exception):
    """The run cannot proceed; the message says why and what to do."""


class MigrationOrderError(MigrationError):
    """A pending migration is numbered before one that already ran."""


class PageKeptChanging(MigrationError):
    """Every attempt to write a page met a concurrent change; a rerun resumes there."""


@dataclass(frozen=True)
class LoadedMigration:
    """A migration file, loaded."""

    id: str  # the file name without .py: "001_backfill_user_fields"
    number: int
    path: Path
    checksum: str  # sha256 of the file, recorded when it is applied
    migration: DocumentMigration


@dataclass
class Outcome:
    """What one migration did (or, in a dry run, would do) in this run."""

    id: str
    state: str  # "applied", "already applied", "would apply"
    scanned: int = 0
    changed: int = 0
    examples: list[str] = field(default_factory=list)
    notes: Counter[str] = field(default_factory=Counter)


def _import_function_packages() -> None:
    """Make the functions' domain packages importable (``vehicle``, ``identity``, ...), as
    pyproject.toml's pythonpath does for the tests: a migration may use them (base.py)."""
    from shared.functions import FUNCTION_NAMES

    for name in FUNCTION_NAMES:
        folder = str(ROOT / "functions" / name)
        if folder not in sys.path:
            sys.path.append(folder)


def discover(directory: Path = MIGRATIONS_DIR) -> list[LoadedMigration]:
    """Every ``NNN_name.py`` in ``directory``, by number; duplicates are refused."""
    _import_function_packages()
    found: list[LoadedMigration] = []
    for path in sorted(directory.glob("[0-9]*.py")):
        match = FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNN_snake_case.py")
        module_name = f"pmi_migration_{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        migration = getattr(module, "MIGRATION", None)
        if not isinstance(migration, DocumentMigration):
            raise MigrationError(f"{path.name} defines no MIGRATION = <DocumentMigration>")
        found.append(
            LoadedMigration(
                id=path.stem,
                number=int(match["number"]),
                path=path,
                checksum=hashlib.sha256(path.read_bytes()).hexdigest(),
                migration=migration,
            )
        )
    numbers = Counter(m.number for m in found)
    duplicates = sorted(f"{n:03d}" for n, count in numbers.items() if count > 1)
    if duplicates:
        raise MigrationError(f"two migrations share the number(s) {', '.join(duplicates)}")
    return found


def read_records(db: Any) -> dict[str, dict[str, Any]]:
    return {s.id: s.to_dict() or {} for s in db.collection(RECORDS_COLLECTION).stream()}


def check_order(migrations: Sequence[LoadedMigration], records: dict[str, dict[str, Any]]) -> None:
    """Refuse a pending migration numbered before one that has started or finished."""
    started = {
        record_id: int(record_id[:3])
        for record_id in records
        if record_id[:3].isdigit() and records[record_id].get("status") in ("running", "applied")
    }
    for loaded in migrations:
        if records.get(loaded.id, {}).get("status") in ("running", "applied"):
            continue
        later = sorted(rid for rid, number in started.items() if number > loaded.number)
        if later:
            raise MigrationOrderError(
                f"{loaded.id} has not run, but the later {', '.join(later)} already did. "
                "Migrations run in number order: renumber it after the last one that ran "
                "(it was probably written in parallel with them)."
            )


def _show(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def describe_change(path: str, before: dict[str, Any], change: dict[str, Any] | Deletion) -> str:
    if isinstance(change, Deletion):
        return f"{path}: deleted"
    parts = [
        f"{name}: {_show(before[name]) if name in before else MISSING} -> {_show(value)}"
        for name, value in sorted(change.items())
    ]
    return f"{path}: " + "; ".join(parts)


class Progress:
    """A progress bar on stderr: tqdm on a terminal, a line every few seconds in logs."""

    LOG_INTERVAL_SECONDS = 10.0

    def __init__(self, label: str, total: int, initial: int, enabled: bool) -> None:
        self.label, self.total, self.done = label, total, initial
        self.enabled = enabled
        self.last_line = time.monotonic()
        self.bar: Any = None
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, desc=label, unit="doc", file=sys.stderr)

    def update(self, count: int) -> None:
        self.done += count
        if self.bar is not None:
            self.bar.update(count)
        elif self.enabled and time.monotonic() - self.last_line >= self.LOG_INTERVAL_SECONDS:
            self.last_line = time.monotonic()
            print(f"  {self.label}: {self.done}/{self.total} documents", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _source(db: Any, migration: DocumentMigration) -> Any:
    """The collection (or, for a collection group, every collection of that name) to page."""
    if migration.collection_group:
        return db.collection_group(migration.collection)
    return db.collection(migration.collection)


def _position(snapshot: Any, migration: DocumentMigration) -> str:
    """What the checkpoint records: the id, or the document's path in a collection group."""
    return str(snapshot.reference.path if migration.collection_group else snapshot.id)


def _count(db: Any, migration: DocumentMigration) -> int:
    result = _source(db, migration).count().get()
    return int(result[0][0].value)


def _start_record(db: Any, loaded: LoadedMigration, record: dict[str, Any] | None) -> None:
    ref = db.collection(RECORDS_COLLECTION).document(loaded.id)
    runner = f"{socket.gethostname()}:{os.getpid()}"
    now = datetime.now(UTC)
    if record is None:
        ref.create(
            {
                "id": loaded.id,
                "description": loaded.migration.description,
                "checksum": loaded.checksum,
                "status": "running",
                "started_at": now,
                "updated_at": now,
                "checkpoint": None,
                "scanned": 0,
                "changed": 0,
                "pages": 0,
                "runner": runner,
            }
        )
    else:
        ref.update({"resumed_at": now, "updated_at": now, "runner": runner})


def _commit_page(
    db: Any, loaded: LoadedMigration, snapshots: list[Any], changes: list[tuple[Any, Any]]
) -> None:
    """The page's updates (and deletions) and the checkpoint, all or nothing."""
    from google.cloud import firestore

    batch = db.batch()
    for snapshot, change in changes:
        unchanged_since_read = db.write_option(last_update_time=snapshot.update_time)
        if change is DELETE:
            batch.delete(snapshot.reference, option=unchanged_since_read)
        else:
            batch.update(snapshot.reference, change, option=unchanged_since_read)
    batch.update(
        db.collection(RECORDS_COLLECTION).document(loaded.id),
        {
            "checkpoint": _position(snapshots[-1], loaded.migration),
            "scanned": firestore.Increment(len(snapshots)),
            "changed": firestore.Increment(len(changes)),
            "pages": firestore.Increment(1),
            "updated_at": datetime.now(UTC),
        },
    )
    batch.commit()


def migrate_one(
    db: Any,
    loaded: LoadedMigration,
    record: dict[str, Any] | None,
    *,
    apply: bool,
    page_size: int = DEFAULT_PAGE_SIZE,
    throttle_seconds: float = 0.0,
    show_progress: bool = True,
) -> Outcome:
    """Run (or dry-run) one migration from its checkpoint to the end of its collection."""
    from google.api_core import exceptions as google_exceptions

    migration = loaded.migration
    outcome = Outcome(loaded.id, "applied" if apply else "would apply")
    checkpoint = (record or {}).get("checkpoint")
    if apply:
        _start_record(db, loaded, record)
    progress = Progress(
        loaded.id,
        _count(db, migration),
        int((record or {}).get("scanned", 0)),
        show_progress,
    )
    source = _source(db, migration)
    page_size = min(page_size, migration.max_page_size)
    try:
        while True:
            query = source.order_by("__name__").limit(page_size)
            if migration.fields is not None:
                query = query.select(list(migration.fields))
            if checkpoint:
                after = db.document(checkpoint) if migration.collection_group else checkpoint
                query = query.start_after({"__name__": after})
            for _attempt in range(CONFLICT_RETRIES):
                snapshots = list(query.stream())
                page = Page(snapshots)
                if not snapshots:
                    break
                migration.prepare(db, page)
                changes = [(s, c) for s in snapshots if (c := migration.changes(s, page))]
                if not apply:
                    break
                try:
                    _commit_page(db, loaded, snapshots, changes)
                    break
                except (google_exceptions.FailedPrecondition, google_exceptions.NotFound):
                    continue  # a document changed (or went) since we read it: plan again
            else:
                raise PageKeptChanging(
                    f"{loaded.id}: documents after {checkpoint!r} kept changing during "
                    f"{CONFLICT_RETRIES} attempts; run again"
                )
            if not snapshots:
                break
            outcome.scanned += len(snapshots)
            outcome.changed += len(changes)
            outcome.notes.update(page.notes)
            for snapshot, change in changes[: EXAMPLES_SHOWN - len(outcome.examples)]:
                path = snapshot.reference.path
                outcome.examples.append(describe_change(path, snapshot.to_dict() or {}, change))
            checkpoint = _position(snapshots[-1], migration)
            progress.update(len(snapshots))
            if apply and throttle_seconds:
                time.sleep(throttle_seconds)
    finally:
        progress.close()
    if apply:
        now = datetime.now(UTC)
        db.collection(RECORDS_COLLECTION).document(loaded.id).update(
            {"status": "applied", "finished_at": now, "updated_at": now}
        )
    return outcome


def run(
    db: Any,
    *,
    apply: bool,
    migrations: Sequence[LoadedMigration] | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    throttle_seconds: float = 0.0,
    out: TextIO = sys.stdout,
    show_progress: bool = True,
) -> list[Outcome]:
    """Every pending migration in order: dry run, or applied with ``apply``."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise MigrationError(f"the page size must be between 1 and {MAX_PAGE_SIZE}")
    loaded = list(discover() if migrations is None else migrations)
    records = read_records(db)
    check_order(loaded, records)
    known = {m.id for m in loaded}
    for record_id in sorted(set(records) - known):
        out.write(
            f"  note: {record_id} is recorded as {records[record_id].get('status')} but is not "
            "in this checkout (a newer release ran it; migrations are backward compatible)\n"
        )
    outcomes = []
    for migration in loaded:
        record = records.get(migration.id)
        if record is not None and record.get("status") == "applied":
            if record.get("checksum") != migration.checksum:
                out.write(f"  note: {migration.id} changed since it was applied (not rerun)\n")
            outcomes.append(Outcome(migration.id, "already applied"))
            out.write(f"{migration.id:<32} applied {_show(record.get('finished_at'))}\n")
            continue
        state = "applying" if apply else "pending"
        if record is not None and record.get("checkpoint"):
            state += f" (interrupted; resuming after {record['checkpoint']})"
        out.write(f"{migration.id:<32} {state}: {migration.migration.description}\n")
        out.flush()
        outcome = migrate_one(
            db,
            migration,
            record,
            apply=apply,
            page_size=page_size,
            throttle_seconds=throttle_seconds,
            show_progress=show_progress,
        )
        verb = "changed" if apply else "would change"
        out.write(
            f"    {migration.migration.collection}: {outcome.scanned} scanned, "
            f"{outcome.changed} {verb}\n"
        )
        for example in outcome.examples:
            out.write(f"      {example}\n")
        if outcome.changed > len(outcome.examples):
            out.write(f"      ... and {outcome.changed - len(outcome.examples)} more\n")
        for note, count in sorted(outcome.notes.items()):
            out.write(f"    note: {count} {note}\n")
        out.flush()
        outcomes.append(outcome)
    return outcomes
