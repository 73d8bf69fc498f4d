"""Regenerate or check the dependency lock (``make lock`` / ``make lock-check``).

    python scripts/lock.py                      # re-resolve, keeping current pins where possible
    python scripts/lock.py --upgrade            # newest versions the inputs allow
    python scripts/lock.py --upgrade-package grpcio
    python scripts/lock.py --check              # offline: does everything agree? (exit 1 if not)

Regenerating runs ``uv pip compile`` (the version pinned in requirements-dev.txt, installed
into .venv when missing) on requirements-dev.txt, writes requirements.lock, derives every
function's requirements.txt from it and checks the result. Standard library only, so it
runs before the virtualenv has anything in it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from release import lockfile  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"


def pinned_uv_version() -> str:
    match = re.search(r"^uv==(\S+)", (ROOT / lockfile.DEV_INPUT).read_text(), re.MULTILINE)
    if match is None:
        raise SystemExit(f"{lockfile.DEV_INPUT} must pin uv (uv==X.Y.Z): it makes the lock")
    return match[1]


def ensure_uv() -> str:
    """The pinned uv: .venv's if it is that version, else installed there with pip."""
    wanted = pinned_uv_version()
    uv = VENV_BIN / "uv"
    if uv.exists():
        current = subprocess.run([str(uv), "--version"], capture_output=True, text=True).stdout
        if current.split()[1:2] == [wanted]:
            return str(uv)
    python = VENV_BIN / "python"
    if not python.exists():
        on_path = shutil.which("uv")
        if on_path:
            return on_path
        raise SystemExit("no .venv: run `make deps` first (or put uv on PATH)")
    print(f"==> installing uv {wanted} into .venv (it resolves the lock)")
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"uv=={wanted}",
        ],
        check=True,
    )
    return str(uv)


def report(problems: list[str]) -> int:
    if not problems:
        return 0
    print("The dependency lock does not match its inputs:", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)
    print(
        "Run `make lock` to regenerate requirements.lock and the functions' requirements.txt.",
        file=sys.stderr,
    )
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check, offline")
    parser.add_argument("--upgrade", action="store_true", help="upgrade every package")
    parser.add_argument("--upgrade-package", action="append", default=[], metavar="NAME")
    args = parser.parse_args(argv)
    if args.check:
        return report(lockfile.check(ROOT))
    print(f"==> {lockfile.HEADER_COMMAND}")
    lockfile.compile_lock(ROOT, ensure_uv(), args.upgrade_package, args.upgrade)
    for path in lockfile.write_function_requirements(ROOT):
        print(f"==> wrote {path.relative_to(ROOT)}")
    status = report(lockfile.check(ROOT))
    if status == 0:
        packages = lockfile.parse_lock((ROOT / lockfile.LOCK_FILE).read_text())
        print(
            f"==> {lockfile.LOCK_FILE}: {len(packages)} packages, all hashed; "
            "run `make deps` to install them"
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
