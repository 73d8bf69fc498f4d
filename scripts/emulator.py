"""Google's Cloud Firestore emulator: find it, start it, wait for it, reset it, stop it.

The Google Cloud CLI's Debian package ships the emulator jar with a launcher script; it
runs on Java 17 and needs no network. Where that launcher is missing (a laptop without
the gcloud component), the project's Firebase CLI (scripts/firebase_cli.py) runs
``emulators:start --only firestore`` instead, on the same host, port and rules — it
downloads the same jar on first use, so it needs internet once (and Java 21+, which
firebase-tools 15 requires).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import firebase_cli

LAUNCHER_RELATIVE = Path("platform/cloud-firestore-emulator/cloud_firestore_emulator")
# Typical SDK roots; `gcloud info` is asked first because it knows the real one.
SDK_ROOT_GUESSES = (
    Path("/usr/lib/google-cloud-sdk"),
    Path("/usr/share/google-cloud-sdk"),
    Path.home() / "google-cloud-sdk",
    Path("/opt/google-cloud-sdk"),
)
# The JVM starts in ~2-4 s on 2 cores; 60 s covers a cold disk and a busy CI machine.
START_TIMEOUT_SECONDS = 60.0


def find_launcher() -> Path | None:
    """The emulator launcher shipped with the Google Cloud CLI, if installed."""
    roots: list[Path] = []
    gcloud = shutil.which("gcloud")
    if gcloud:
        try:
            out = subprocess.run(
                [gcloud, "info", "--format=value(installation.sdk_root)"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            ).stdout.strip()
            if out:
                roots.append(Path(out))
        except (OSError, subprocess.TimeoutExpired):
            pass
    roots.extend(SDK_ROOT_GUESSES)
    for root in roots:
        launcher = root / LAUNCHER_RELATIVE
        if launcher.exists():
            return launcher
    return None


class FirestoreEmulator:
    """One emulator process on ``host:port`` for ``project_id``."""

    def __init__(
        self,
        port: int,
        *,
        project_id: str = "demo-pmi",
        host: str = "127.0.0.1",
        rules: Path | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.host, self.port, self.project_id = host, port, project_id
        self.rules = rules
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.address}"

    def command(self) -> list[str]:
        launcher = find_launcher()
        if launcher is not None:
            argv = [
                str(launcher),
                "start",
                f"--host={self.host}",
                f"--port={self.port}",
                f"--project_id={self.project_id}",
            ]
            if self.rules is not None:
                argv.append(f"--rules={self.rules}")
            return argv
        if firebase_cli.find_cli() is None:
            raise RuntimeError(
                "The Firestore emulator was not found. Install the Google Cloud CLI's "
                "'google-cloud-cli-firestore-emulator' package (apt), or run 'make deps' for "
                "the project's Firebase CLI (it needs internet once to fetch the jar)."
            )
        config = firebase_cli.write_config(
            self.state_dir(),
            {"firestore": {"host": self.host, "port": self.port}},
            rules=self.rules,
        )
        return firebase_cli.emulators_start_argv(config, "firestore", self.project_id)

    def state_dir(self) -> Path:
        """Where the Firebase CLI fallback keeps its generated config and temporary files."""
        base = self.log_path.parent if self.log_path else Path(tempfile.gettempdir())
        return base / f"firebase-firestore-{self.port}"

    def start(self) -> None:
        argv = self.command()
        env = {**os.environ, "JAVA_TOOL_OPTIONS": os.environ.get("JAVA_TOOL_OPTIONS", "")}
        cwd = None
        if argv[1] == "emulators:start":  # the Firebase CLI fallback: its files in its folder
            env, cwd = firebase_cli.cli_env(self.state_dir(), env), self.state_dir()
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: we stop the JVM with the script
            env=env,
            cwd=cwd,
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"the Firestore emulator exited with code {self.process.returncode}"
                    + (f"; see {self.log_path}" if self.log_path else "")
                )
            try:
                with urllib.request.urlopen(self.base_url + "/", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the Firestore emulator did not answer within {timeout:.0f} s")

    def reset(self) -> None:
        """Delete every document (the emulator's fast reset endpoint)."""
        url = (
            f"{self.base_url}/emulator/v1/projects/{self.project_id}/databases/(default)/documents"
        )
        request = urllib.request.Request(url, method="DELETE")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process_group(self.process)
        self.process = None


def stop_process_group(process: subprocess.Popen[bytes], grace_seconds: float = 5.0) -> None:
    """SIGTERM the whole process group, then SIGKILL what is left after the grace time."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        process.wait(timeout=grace_seconds)
