"""``make dev`` (scripts/dev.py): the platform comes up with demo data, answers readiness
through the gateway, and SIGTERM leaves no process behind.

To keep one emulator set per test session, the runner is pointed at the session's
Firestore and Auth emulators with ``--emulator-host`` and ``--auth-emulator-host``;
everything else (four functions, gateway, demo data) is its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from stack import free_port

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 180

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def wait_for_line(process: subprocess.Popen[str], marker: str, output: list[str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError("dev.py exited early:\n" + "".join(output))
        output.append(line)
        if marker in line:
            return
    raise AssertionError("dev.py did not become ready:\n" + "".join(output))


def test_dev_runner_serves_demo_platform_and_stops_cleanly(
    db: Any, emulator: Any, auth_emulator: Any
) -> None:
    gateway_port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "scripts" / "dev.py"),
            "--gateway-port",
            str(gateway_port),
            "--emulator-host",
            emulator.address,
            "--auth-emulator-host",
            auth_emulator.address,
        ],
        cwd=ROOT,
        env={**os.environ, "PMI_DEMO_PASSWORD": "demo-pass-for-tests-2026"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        wait_for_line(process, "Ctrl-C stops everything", output)
        children = psutil.Process(process.pid).children(recursive=True)
        assert len(children) >= 5  # four functions (plus gunicorn workers) and the gateway
        gateway = f"http://127.0.0.1:{gateway_port}"

        ready = requests.get(f"{gateway}/api/monitoring/health/ready", timeout=30)
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        login = requests.post(
            f"{gateway}/api/auth/login",
            json={"email": "center@demo.pmi.dev", "password": "demo-pass-for-tests-2026"},
            timeout=30,
        )
        assert login.status_code == 200
        assert login.json()["user"]["role"] == "service_center"
        # The mobile path: the login's custom token signs in at the Auth emulator.
        signed_in = requests.post(
            f"{auth_emulator.base_url}/identitytoolkit.googleapis.com/v1/"
            "accounts:signInWithCustomToken?key=demo-api-key",
            json={"token": login.json()["firebase_token"], "returnSecureToken": True},
            timeout=30,
        )
        assert signed_in.status_code == 200, signed_in.text
        printed = "".join(output)
        assert f"Firebase Auth emulator     {auth_emulator.base_url}" in printed
        assert "demo-pass-for-tests-2026" in printed  # the password is printed at start
        assert f"{gateway}/" in printed

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    _gone, alive = psutil.wait_procs(children, timeout=15)
    assert alive == [], f"left running: {alive}"
    assert emulator.process is not None and emulator.process.poll() is None  # not ours to stop
