"""``make dev``: the whole platform on this machine, until Ctrl-C.

Starts Google's Firestore emulator (port from firebase.json, rules loaded), the Firebase
Auth emulator (firebase.json's port; the mobile SDK signs in there with the login route's
custom token), every function under functions-framework, and the Hosting gateway
(http://127.0.0.1:5000), loads the demo data, prints the URLs and waits. Ctrl-C or
SIGTERM stops everything it started; each child runs in its own process group, so
nothing is left behind.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import time
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from emulator import FirestoreEmulator  # noqa: E402
from stack import (  # noqa: E402
    Stack,
    firebase_auth_port,
    firebase_ports,
    free_port,
    port_in_use,
)

from shared.functions import FUNCTION_NAMES  # noqa: E402

DEV_DIR = ROOT / ".dev"


class Stop(Exception):
    """Raised by the signal handler to unwind into the clean-up path."""


def local_signing_key() -> str:
    """A random key kept in .dev/ (git-ignored) so tokens survive a restart of make dev."""
    if os.environ.get("PMI_JWT_SECRET"):
        return os.environ["PMI_JWT_SECRET"]
    path = DEV_DIR / "jwt-secret"
    DEV_DIR.mkdir(exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    emulator_port, gateway_port = firebase_ports()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gateway-port", type=int, default=gateway_port)
    parser.add_argument("--emulator-port", type=int, default=emulator_port)
    parser.add_argument(
        "--emulator-host",
        help="use an already running Firestore emulator (HOST:PORT) instead of starting one",
    )
    parser.add_argument("--auth-port", type=int, default=firebase_auth_port())
    parser.add_argument(
        "--auth-emulator-host",
        help="use an already running Firebase Auth emulator (HOST:PORT) instead of starting one",
    )
    parser.add_argument("--no-seed", action="store_true", help="skip the demo data")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        raise Stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    busy = [p for p in (args.gateway_port,) if port_in_use(p)]
    if not args.emulator_host and port_in_use(args.emulator_port):
        busy.append(args.emulator_port)
    if not args.auth_emulator_host and port_in_use(args.auth_port):
        busy.append(args.auth_port)
    if busy:
        print(f"port(s) {busy} already in use: is another 'make dev' running?", file=sys.stderr)
        return 1

    reuse = None
    if args.emulator_host:
        host, _, port = args.emulator_host.rpartition(":")
        reuse = FirestoreEmulator(int(port), host=host)
    if args.auth_emulator_host:
        os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = args.auth_emulator_host
    os.environ["PMI_JWT_SECRET"] = local_signing_key()
    stack = Stack(
        emulator_port=args.emulator_port,
        gateway_port=args.gateway_port,
        function_ports={name: free_port() for name in FUNCTION_NAMES},
        reuse_emulator=reuse,
        auth_emulator_port=None if args.auth_emulator_host else args.auth_port,
        log_dir=DEV_DIR / "logs",
        env={"PMI_ENVIRONMENT": "local"},
    )
    started = time.monotonic()
    try:
        print("PMI local platform — starting (logs in .dev/logs/)", flush=True)
        stack.start(progress=lambda message: print(message, flush=True))
        assert stack.emulator is not None
        os.environ["FIRESTORE_EMULATOR_HOST"] = stack.emulator.address
        auth_host = stack.function_env()["FIREBASE_AUTH_EMULATOR_HOST"]
        os.environ.setdefault("GOOGLE_CLOUD_PROJECT", "demo-pmi")
        if not args.no_seed:
            from seed_demo import demo_password, seed

            print("loading demo data ...", flush=True)
            try:
                seed(stack.gateway_url, progress=lambda message: print(message, flush=True))
            except Exception as exc:  # a failed demo load stops the run with its reason
                print(f"loading demo data failed: {exc}", file=sys.stderr)
                return 1
            print(
                f"  demo password for every account: {demo_password()} "
                "(set PMI_DEMO_PASSWORD to change it)",
                flush=True,
            )
        print(
            f"\nready in {time.monotonic() - started:.1f} s\n"
            f"  dashboard and API gateway  {stack.gateway_url}/\n"
            f"  readiness                  {stack.gateway_url}/api/monitoring/health/ready\n"
            f"  Firestore emulator         http://{stack.emulator.address}\n"
            f"  Firebase Auth emulator     http://{auth_host}\n"
            + "".join(
                f"  function {name:<17} {stack.function_url(name)}\n" for name in stack.functions
            )
            + "Ctrl-C stops everything.",
            flush=True,
        )
        while True:
            dead = stack.dead_processes()
            if dead:
                print(f"stopping: a process exited on its own: {dict(dead)}", file=sys.stderr)
                return 1
            time.sleep(0.5)
    except Stop:
        print("\nstopping ...", flush=True)
        return 0
    except RuntimeError as exc:  # a tool missing or an emulator that would not start
        print(f"could not start the platform: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        print("stopped; no process left running.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
