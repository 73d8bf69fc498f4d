"""How the emulators are started: the Firebase CLI gets a config naming the caller's ports.

The live behaviour (both emulators answering, resets, the SDK signing in) is exercised by
every test that uses the ``emulator`` and ``auth_emulator`` fixtures; these check the parts
that only a laptop without Google's emulator would otherwise reach.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import emulator as emulator_module
import firebase_cli
import pytest
from auth_emulator import AuthEmulator

ROOT = Path(__file__).resolve().parent.parent


def test_the_pinned_firebase_cli_is_the_one_used() -> None:
    assert firebase_cli.find_cli() == ROOT / "node_modules" / ".bin" / "firebase"
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    installed = json.loads((ROOT / "node_modules" / "firebase-tools" / "package.json").read_text())[
        "version"
    ]
    assert installed == pinned["firebase-tools"]


def test_without_googles_emulator_firestore_falls_back_to_the_cli_on_the_same_port_and_rules(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(emulator_module, "find_launcher", lambda: None)
    rules = ROOT / "firestore.rules"
    instance = emulator_module.FirestoreEmulator(
        18123, rules=rules, log_path=tmp_path / "firestore.log"
    )
    argv = instance.command()
    assert argv[1:5] == ["emulators:start", "--only", "firestore", "--project"]
    config = json.loads(Path(argv[argv.index("--config") + 1]).read_text())
    assert config["emulators"]["firestore"] == {"host": "127.0.0.1", "port": 18123}
    assert config["firestore"]["rules"] == str(rules)
    assert config["emulators"]["ui"] == {"enabled": False}


def test_each_auth_emulator_run_gets_its_own_hub_and_logging_ports(tmp_path: Path) -> None:
    ports: list[Any] = []
    for name in ("a", "b"):
        path = firebase_cli.write_config(
            tmp_path / name, {"auth": {"host": "127.0.0.1", "port": 19001}}
        )
        emulators = json.loads(path.read_text())["emulators"]
        ports.append((emulators["hub"]["port"], emulators["logging"]["port"]))
    assert ports[0] != ports[1]
    assert 4400 not in {port for pair in ports for port in pair}  # not the CLI's default


def test_the_session_auth_emulator_is_the_one_firebase_admin_talks_to(
    auth_emulator: AuthEmulator,
) -> None:
    import os

    assert os.environ["FIREBASE_AUTH_EMULATOR_HOST"] == auth_emulator.address
    assert auth_emulator.process is not None and auth_emulator.process.poll() is None
