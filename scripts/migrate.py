"""Data migrations (migrations/NNN_*.py): dry run by default, ``--apply`` to apply.

    python scripts/migrate.py                 # what would change, nothing written
    python scripts/migrate.py --apply         # apply the pending migrations, in order
    python scripts/migrate.py --apply --project my-project

The target is the Firestore emulator when ``FIRESTORE_EMULATOR_HOST`` is set, else the
real Firestore of the project (``--project``, else ``PMI_PROJECT_ID`` /
``GOOGLE_CLOUD_PROJECT`` as shared/config.py reads them) with Application Default
Credentials. The release pipeline runs the dry run, then ``--apply``, before deploying the
code that needs the new shape (docs/operations.md, "Data migrations").

Exit status: 0 done (or nothing to do), 2 refused (out of order, bad migration files),
1 any other failure. An interrupted ``--apply`` (Ctrl-C, a killed job) resumes where it
stopped when run again.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from google.api_core.exceptions import GoogleAPIError  # noqa: E402
from google.auth.exceptions import GoogleAuthError  # noqa: E402

from migrations.base import MAX_PAGE_SIZE  # noqa: E402
from migrations.runner import (  # noqa: E402
    DEFAULT_PAGE_SIZE,
    MigrationError,
    PageKeptChanging,
    run,
)

EXIT_REFUSED = 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--apply", action="store_true", help="write the changes (default: dry run, no writes)"
    )
    parser.add_argument("--project", help="Google Cloud project (default: from the environment)")
    parser.add_argument(
        "--page-size",
        type=int,
        default=DEFAULT_PAGE_SIZE,
        help=f"documents per page and atomic batch (1-{MAX_PAGE_SIZE}, default "
        f"{DEFAULT_PAGE_SIZE})",
    )
    parser.add_argument(
        "--throttle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="pause between pages, to spare a busy production database (default 0)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.project:
        os.environ["PMI_PROJECT_ID"] = args.project
    from shared.config import get_settings
    from shared.firestore import get_client

    project = get_settings().project_id
    emulator = os.environ.get("FIRESTORE_EMULATOR_HOST")
    if not emulator and project.startswith("demo-"):
        print(
            f"refused: {project} is a local demo project and FIRESTORE_EMULATOR_HOST is not set. "
            "Point it at a running emulator (make dev starts one on 127.0.0.1:8080), or name "
            "a real project with --project.",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    target = f"the emulator at {emulator}" if emulator else "production Firestore"
    mode = "APPLY" if args.apply else "DRY RUN (nothing is written; --apply applies)"
    print(f"PMI data migrations: project {project}, {target}, {mode}", flush=True)
    try:
        outcomes = run(
            get_client(),
            apply=args.apply,
            page_size=args.page_size,
            throttle_seconds=args.throttle,
            show_progress=not args.no_progress,
        )
    except PageKeptChanging as exc:
        print(f"stopped: {exc}", file=sys.stderr)
        return 1
    except MigrationError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except GoogleAPIError as exc:
        print(f"failed: Firestore answered {exc}", file=sys.stderr)
        return 1
    except GoogleAuthError as exc:
        print(f"failed: no usable Google credentials for {project}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 1
    pending = [o for o in outcomes if o.state != "already applied"]
    if not pending:
        print(f"nothing to do: all {len(outcomes)} migrations are applied")
    elif args.apply:
        print(f"applied {len(pending)} migration(s)")
    else:
        changes = sum(o.changed for o in pending)
        print(
            f"{len(pending)} migration(s) pending, {changes} document(s) would change; "
            "run with --apply (make migrate APPLY=1) to apply"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
