"""The Firebase Auth emulator: start it, wait for it, reset it, stop it.

It comes with firebase-tools (``firebase emulators:start --only auth``) and is pure Node:
no Java, no download, works offline. It sits beside Google's Firestore emulator
(scripts/emulator.py), which stays started directly: the two need no link, because the
Firestore emulator accepts the Auth emulator's unsigned ID tokens as ``request.auth`` (as
it does under firebase-tools' own ``emulators:start --only firestore,auth``).

What runs against it:
- firebase-admin, with ``FIREBASE_AUTH_EMULATOR_HOST`` set: unsigned custom tokens at login
  (functions/auth/firebase_tokens.py) and ``revoke_refresh_tokens``
  (shared/auth/sdk_revocation.py);
- the Firebase JS SDK (``signInWithCustomToken`` after ``connectAuthEmulator``), as the
  mobile app signs in (tests/mobile/).

Start-up is CPU-bound (firebase-tools compiles its API request validators): 7-11 s on an
idle 2-core machine, 15-20 s on a busy one. :meth:`AuthEmulator.launch` returns at once so
a caller can do other work meanwhile (start the Firestore emulator and the functions, run
other tests) and :meth:`AuthEmulator.wait_ready` later.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from emulator import stop_process_group
from firebase_cli import cli_env, emulators_start_argv, write_config

# The validator compile is CPU-bound: on a busy 2-core machine (a test suite running
# beside it) it has taken 10-20 s; 120 s leaves room without hiding a real hang.
START_TIMEOUT_SECONDS = 120.0


class AuthEmulator:
    """One Auth emulator on ``host:port`` for ``project_id``, state in ``state_dir``."""

    def __init__(
        self,
        port: int,
        *,
        state_dir: Path,
        project_id: str = "demo-pmi",
        host: str = "127.0.0.1",
        log_path: Path | None = None,
    ) -> None:
        self.host, self.port, self.project_id = host, port, project_id
        self.state_dir = state_dir
        self.log_path = log_path or state_dir / "auth-emulator.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def address(self) -> str:
        """What ``FIREBASE_AUTH_EMULATOR_HOST`` is set to."""
        return f"{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.address}"

    def launch(self) -> None:
        """Start the process without waiting for it to answer."""
        config = write_config(self.state_dir, {"auth": {"host": self.host, "port": self.port}})
        argv = emulators_start_argv(config, "auth", self.project_id)  # raises if no CLI
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            argv,
            cwd=self.state_dir,  # firebase-debug.log lands here
            env=cli_env(self.state_dir),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stopped with its children
        )

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def wait_ready(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"the Auth emulator exited with code {self.process.returncode}; "
                    f"see {self.log_path}:\n{self._log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.base_url + "/", timeout=1) as response:
                    status = json.loads(response.read() or b"{}")
                if status.get("authEmulator", {}).get("ready"):
                    return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(0.2)
        raise RuntimeError(
            f"the Auth emulator did not answer within {timeout:.0f} s; see {self.log_path}"
        )

    def reset(self) -> None:
        """Delete every user (the emulator's reset endpoint)."""
        request = urllib.request.Request(
            f"{self.base_url}/emulator/v1/projects/{self.project_id}/accounts", method="DELETE"
        )
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
