"""The Firebase CLI (firebase-tools) as the project pins it: find it, give it a config, run it.

``make deps`` installs firebase-tools from package.json/package-lock.json into
``node_modules/`` (``npm ci``); a global ``firebase`` on PATH is the fallback. The CLI is
used for the emulators that are pure Node (the Auth emulator) and, on a machine without
the Google Cloud CLI's Firestore emulator, for the Firestore emulator too (it downloads
the jar on first use, so that path needs internet once and Java 21+).

Each run gets its own generated ``firebase.json`` in a state folder: the ports are the
caller's (tests use free ports, ``make dev`` the ones in the repo's firebase.json), the
Emulator Hub and logging ports are free ones, and ``TMPDIR`` points into the folder so
the hub's locator file and ``firebase-debug.log`` stay out of shared places.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOCAL_CLI = ROOT / "node_modules" / ".bin" / "firebase"
INSTALL_HINT = (
    "the Firebase CLI is not installed: run 'make deps' (npm ci installs firebase-tools "
    "from package-lock.json into node_modules/)"
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def find_cli() -> Path | None:
    """The project's pinned firebase-tools, else a ``firebase`` on PATH, else None."""
    if LOCAL_CLI.exists():
        return LOCAL_CLI
    found = shutil.which("firebase")
    return Path(found) if found else None


def require_cli() -> Path:
    cli = find_cli()
    if cli is None:
        raise RuntimeError(INSTALL_HINT)
    return cli


def write_config(
    state_dir: Path,
    emulators: Mapping[str, Mapping[str, Any]],
    *,
    rules: Path | None = None,
) -> Path:
    """A firebase.json for ``emulators`` (name -> {host, port}) in ``state_dir``."""
    state_dir.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "emulators": {
            **{name: dict(spec) for name, spec in emulators.items()},
            # Free ports, so several emulator sets (test sessions, make dev) can coexist.
            "hub": {"host": "127.0.0.1", "port": _free_port()},
            "logging": {"host": "127.0.0.1", "port": _free_port()},
            "ui": {"enabled": False},
            "singleProjectMode": True,
        }
    }
    if rules is not None:
        config["firestore"] = {"rules": str(rules.resolve())}
    path = state_dir / "firebase.json"
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def emulators_start_argv(config: Path, only: str, project_id: str) -> list[str]:
    return [
        str(require_cli()),
        "emulators:start",
        "--only",
        only,
        "--project",
        project_id,
        "--config",
        str(config),
    ]


def cli_env(state_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The CLI's environment: quiet, and its temporary files inside ``state_dir``."""
    tmp = state_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "TMPDIR": str(tmp),
        # No update check: the version is pinned in package-lock.json.
        "NO_UPDATE_NOTIFIER": "1",
        **(extra or {}),
    }
