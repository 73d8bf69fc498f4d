"""The whole platform as local processes: emulators, four functions, the Hosting gateway.

Used by ``make dev`` (scripts/dev.py) and by the end-to-end tests, so both run the same
thing: Google's Firestore emulator, each function under functions-framework (the server
Cloud Functions runs, gunicorn with threads), and scripts/gateway.py applying
firebase.json's rewrites and headers. With ``auth_emulator_port`` set (``make dev``), the
Firebase Auth emulator too (scripts/auth_emulator.py), for the mobile SDK's sign-in; the
test harness runs its own session-wide one instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from auth_emulator import AuthEmulator
from emulator import FirestoreEmulator, stop_process_group

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for shared.functions, the one list of functions

from shared.functions import FUNCTION_NAMES as FUNCTIONS  # noqa: E402

# Per-function threads, as THREADS sets concurrency on Cloud Functions 2nd gen.
DEFAULT_THREADS = 8
SERVER_START_TIMEOUT_SECONDS = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def firebase_ports(config_path: Path = ROOT / "firebase.json") -> tuple[int, int]:
    """The Firestore emulator and Hosting ports named in firebase.json."""
    config = json.loads(config_path.read_text())
    emulators = config.get("emulators", {})
    return int(emulators["firestore"]["port"]), int(emulators["hosting"]["port"])


def firebase_auth_port(config_path: Path = ROOT / "firebase.json") -> int:
    """The Auth emulator port named in firebase.json."""
    config = json.loads(config_path.read_text())
    return int(config["emulators"]["auth"]["port"])


def function_command(
    target: str, source: Path | str, port: int, python: Path | str = sys.executable
) -> list[str]:
    """functions-framework serving ``target`` of ``source`` on 127.0.0.1:``port``.

    The server Cloud Functions runs; ``python`` is the interpreter whose packages it uses
    (another virtual environment's, for a deploy bundle).
    """
    return [
        str(python),
        "-m",
        "functions_framework",
        "--target",
        target,
        "--source",
        str(source),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def start_function(
    target: str,
    source: Path | str,
    port: int,
    env: Mapping[str, str],
    log: Path,
    *,
    python: Path | str = sys.executable,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start one function server without waiting for it (see :func:`wait_http`).

    Its output is appended to ``log``; it runs in its own process group, so
    ``stop_process_group`` stops it with the workers it forks.
    """
    with log.open("ab") as output:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            function_command(target, source, port, python),
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def wait_http(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until ``url`` answers with any HTTP status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answered, with an error status: it is up
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


@dataclass
class Stack:
    """Start and stop the local platform."""

    emulator_port: int
    gateway_port: int
    function_ports: dict[str, int] = field(default_factory=dict)
    project_id: str = "demo-pmi"
    log_dir: Path = ROOT / ".dev" / "logs"
    env: dict[str, str] = field(default_factory=dict)
    functions: tuple[str, ...] = FUNCTIONS
    reuse_emulator: FirestoreEmulator | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    emulator: FirestoreEmulator | None = None
    # Start a Firebase Auth emulator on this port (None: don't; one runs elsewhere).
    auth_emulator_port: int | None = None
    auth_emulator: AuthEmulator | None = None
    _auth_started: float = 0.0

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def function_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.function_ports[name]}"

    def function_env(self) -> dict[str, str]:
        """Environment of each function process (what Cloud Functions would set)."""
        assert self.emulator is not None
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "FIRESTORE_EMULATOR_HOST": self.emulator.address,
            "GOOGLE_CLOUD_PROJECT": self.project_id,
            "THREADS": os.environ.get("THREADS", str(DEFAULT_THREADS)),
            "PYTHONUNBUFFERED": "1",
            # firebase-admin mints the mobile SDK's custom tokens unsigned, as for the
            # Firebase Auth emulator (firebase.json's emulators.auth port).
            "FIREBASE_AUTH_EMULATOR_HOST": (
                self.auth_emulator.address
                if self.auth_emulator is not None
                else os.environ.get("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
            ),
            # The functions sit behind one proxy that appends the peer to X-Forwarded-For,
            # the gateway, as a function's own URL sits behind Google's front end.
            "PMI_TRUSTED_PROXY_HOPS": "1",
            **self.env,
        }

    def start(self, progress: Callable[[str], None] = print) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            # The Auth emulator's start is the slowest (CPU-bound, several seconds): launch
            # it first and wait for it last, so the rest starts meanwhile.
            self._launch_auth_emulator(progress)
            self._start_emulator(progress)
            self._start_functions(progress)
            self._start_gateway(progress)
            self._wait_auth_emulator(progress)
        except BaseException:
            self.stop()
            raise

    def _start_emulator(self, progress: Callable[[str], None]) -> None:
        if self.reuse_emulator is not None:
            self.emulator = self.reuse_emulator
            return
        progress(f"starting the Firestore emulator on 127.0.0.1:{self.emulator_port} ...")
        self.emulator = FirestoreEmulator(
            self.emulator_port,
            project_id=self.project_id,
            rules=ROOT / "firestore.rules",
            log_path=self.log_dir / "firestore-emulator.log",
        )
        started = time.monotonic()
        self.emulator.start()
        progress(f"  Firestore emulator ready in {time.monotonic() - started:.1f} s")

    def _launch_auth_emulator(self, progress: Callable[[str], None]) -> None:
        if self.auth_emulator_port is None:
            return
        progress(f"starting the Firebase Auth emulator on 127.0.0.1:{self.auth_emulator_port} ...")
        self.auth_emulator = AuthEmulator(
            self.auth_emulator_port,
            project_id=self.project_id,
            state_dir=self.log_dir.parent / "auth-emulator",
            log_path=self.log_dir / "auth-emulator.log",
        )
        self._auth_started = time.monotonic()
        self.auth_emulator.launch()

    def _wait_auth_emulator(self, progress: Callable[[str], None]) -> None:
        if self.auth_emulator is None:
            return
        self.auth_emulator.wait_ready()
        progress(f"  Auth emulator ready in {time.monotonic() - self._auth_started:.1f} s")

    def _start_functions(self, progress: Callable[[str], None]) -> None:
        env = self.function_env()
        for name in self.functions:
            port = self.function_ports.setdefault(name, free_port())
            progress(f"starting function {name} on 127.0.0.1:{port} ...")
            self._launch_function(name, env)
        for name in self.functions:
            wait_http(
                self.function_url(name) + "/", SERVER_START_TIMEOUT_SECONDS, self.processes[name]
            )
            progress(f"  function {name} ready")

    def _launch_function(self, name: str, env: Mapping[str, str]) -> None:
        self.processes[name] = start_function(
            name,
            ROOT / "functions" / name / "main.py",
            self.function_ports[name],
            env,
            self.log_dir / f"function-{name}.log",
            cwd=ROOT,
        )

    def kill_function(self, name: str) -> None:
        """SIGKILL the function's whole process group, as a crashed instance dies."""
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def restart_function(self, name: str) -> None:
        """Start one function again on its port (after kill_function)."""
        self._launch_function(name, self.function_env())
        wait_http(self.function_url(name) + "/", SERVER_START_TIMEOUT_SECONDS, self.processes[name])

    def _start_gateway(self, progress: Callable[[str], None]) -> None:
        progress(f"starting the Hosting gateway on 127.0.0.1:{self.gateway_port} ...")
        argv = [
            sys.executable,
            str(ROOT / "scripts" / "gateway.py"),
            "--config",
            str(ROOT / "firebase.json"),
            "--port",
            str(self.gateway_port),
        ]
        for name in self.functions:
            argv += ["--function", f"{name}={self.function_url(name)}"]
        log = open(self.log_dir / "gateway.log", "ab")  # noqa: SIM115
        self.processes["gateway"] = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.function_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_http(self.gateway_url + "/", SERVER_START_TIMEOUT_SECONDS, self.processes["gateway"])
        progress("  gateway ready")

    def dead_processes(self) -> Mapping[str, int]:
        """Processes that exited on their own (name -> exit code)."""
        dead = {n: p.returncode for n, p in self.processes.items() if p.poll() is not None}
        if self.emulator and self.emulator.process and self.emulator.process.poll() is not None:
            dead = {**dead, "firestore-emulator": self.emulator.process.returncode}
        auth = self.auth_emulator
        if auth is not None and auth.process is not None and auth.process.poll() is not None:
            dead = {**dead, "auth-emulator": auth.process.returncode}
        return dead

    def stop(self) -> None:
        for process in self.processes.values():
            stop_process_group(process)
        self.processes.clear()
        if self.emulator is not None and self.reuse_emulator is None:
            self.emulator.stop()
        self.emulator = None
        if self.auth_emulator is not None:
            self.auth_emulator.stop()
            self.auth_emulator = None
