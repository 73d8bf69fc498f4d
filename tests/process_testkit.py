"""Helpers for tests that run functions as real processes (not a test module itself).

Most tests call a function in process (conftest's ``call``); the ones that prove something
across instances — a rate limit, the principal cache, metrics — start functions-framework
servers beside the session's Firestore emulator with :func:`start_on_emulator`, wait with
``stack.wait_http`` and stop them with ``emulator.stop_process_group``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from stack import start_function

ROOT = Path(__file__).resolve().parent.parent
PROBE_SOURCE = ROOT / "tests" / "fixtures" / "probe_function" / "main.py"


def start_on_emulator(
    target: str, source: Path, port: int, emulator: Any, log: Path, **settings: str
) -> subprocess.Popen[bytes]:
    """Serve ``target`` of ``source`` on 127.0.0.1:``port`` against ``emulator``.

    The test's own environment plus ``settings`` (``PMI_*`` variables), with four threads
    per instance: enough concurrency for the tests, light on a 2-core machine.
    """
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FIRESTORE_EMULATOR_HOST": emulator.address,
        "THREADS": "4",
        **settings,
    }
    return start_function(target, source, port, env, log)


def start_probe(port: int, emulator: Any, log: Path, **settings: str) -> subprocess.Popen[bytes]:
    """The test-only probe function (tests/fixtures/probe_function) as a real process."""
    return start_on_emulator("probe", PROBE_SOURCE, port, emulator, log, **settings)
