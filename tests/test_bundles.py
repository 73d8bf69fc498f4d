"""Each deploy bundle runs on its own: built by scripts/build_bundles.py, installed into a
clean virtual environment from nothing but its own requirements.txt, served by
functions-framework from the bundle folder (no repository on the path), and called.

That is what Cloud Functions does with the folder, so a missing module, data file or
requirement fails here instead of in a deploy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import pytest
import requests
from stack import free_port, start_function, wait_http

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from build_bundles import build  # noqa: E402
from emulator import stop_process_group  # noqa: E402

from shared.functions import FUNCTION_NAMES  # noqa: E402

pytestmark = pytest.mark.slow
# Only what Cloud Functions' runtime would set, plus the emulator and a test key.
RUNTIME_ENV = ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR")


def install(bundle: Path, home: Path) -> Path:
    environment = home / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(environment)
    python = environment / "bin" / "python"
    # The flags Google's Python buildpack installs a function's requirements with; the file
    # carries hashes (derived from requirements.lock), so pip runs in hash-checking mode.
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--requirement",
            str(bundle / "requirements.txt"),
            "--upgrade",
            "--upgrade-strategy",
            "only-if-needed",
            "--no-warn-script-location",
            "--no-warn-conflicts",
            "--force-reinstall",
            "--no-compile",
        ],
        check=True,
        timeout=600,
    )
    return python


def serve(python: Path, bundle: Path, name: str, emulator: Any, log: Path) -> tuple[Any, str]:
    port = free_port()
    env = {key: os.environ[key] for key in RUNTIME_ENV if key in os.environ}
    env.update(
        {
            "FIRESTORE_EMULATOR_HOST": emulator.address,
            "GOOGLE_CLOUD_PROJECT": emulator.project_id,
            "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
            "PMI_JWT_SECRET": "bundle-test-signing-key-0123456789abcdef",
            "PMI_BCRYPT_COST": "4",
        }
    )
    # Served from the bundle folder by the bundle's own environment, as Cloud Functions does.
    process = start_function(name, "main.py", port, env, log, python=python, cwd=bundle)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/", 90, process)
    return process, url


def exercise(name: str, url: str) -> None:
    """Calls that reach the function's lazily imported dependencies too."""
    if name == "monitoring":
        assert requests.get(f"{url}/health/ready", timeout=30).status_code == 200
        assert requests.get(f"{url}/health", timeout=30).json()["status"] == "ok"
        # The detailed report imports psutil and reads Firestore (behind monitoring:read).
        assert requests.get(f"{url}/health/detailed", timeout=30).status_code == 401
    elif name == "auth":
        account = {
            "email": "bundle@example.test",
            "password": "sturdy-gearbox-7791-lane",
            "full_name": "Bundle Test",
        }
        assert requests.post(f"{url}/register", json=account, timeout=60).status_code == 202
        from auth_test_helpers import confirmation_code

        confirmed = requests.post(
            f"{url}/verify-email",
            json={"code": confirmation_code(account["email"])},
            timeout=60,
        )
        assert confirmed.status_code == 200
        login = requests.post(
            f"{url}/login",
            json={"email": account["email"], "password": account["password"]},
            timeout=60,
        )
        assert login.status_code == 200
        assert login.json()["firebase_token"].count(".") == 2  # firebase-admin minted it
    else:
        assert requests.get(f"{url}/health", timeout=30).json()["function"] == name
        # An authenticated-route refusal runs the token and error paths end to end.
        assert requests.get(f"{url}/", timeout=30).status_code == 401


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_bundle_runs_alone_in_a_clean_environment(
    name: str, db: Any, emulator: Any, tmp_path: Path
) -> None:
    bundle = build(name, tmp_path / "build")
    assert (bundle / "shared" / "http.py").exists()
    python = install(bundle, tmp_path)
    process, url = serve(python, bundle, name, emulator, tmp_path / "server.log")
    try:
        exercise(name, url)
    finally:
        stop_process_group(process)
