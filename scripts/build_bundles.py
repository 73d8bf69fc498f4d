"""Build self-contained deploy folders: ``build/functions/<name>/``.

Cloud Functions uploads only the ``--source`` folder and runs no ``setup.py``, so each
bundle holds the function's own files (``main.py``, its domain modules and data files), a
copy of ``shared/`` and the function's ``requirements.txt``. Bundles are build output
(git-ignored); tests/test_bundles.py installs one into a clean virtual environment and
calls it, which proves it would run in the cloud.

Usage: ``.venv/bin/python scripts/build_bundles.py [name ...]`` (default: all four).
"""

from __future__ import annotations

import argparse
import compileall
import py_compile
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for shared.functions, the one list of functions

from shared.functions import FUNCTION_NAMES as FUNCTIONS  # noqa: E402

BUILD_DIR = ROOT / "build" / "functions"
# Never shipped: caches and editor droppings, and the lock's inputs (requirements.in: the
# bundle installs requirements.txt, derived from requirements.lock by `make lock`).
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*", "*.log", "*.in")


def build(name: str, build_dir: Path = BUILD_DIR) -> Path:
    """(Re)create the bundle of function ``name`` and return its folder."""
    source = ROOT / "functions" / name
    if not (source / "main.py").exists():
        raise SystemExit(f"no function named {name!r} (functions/{name}/main.py is missing)")
    target = build_dir / name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=IGNORED)
    shutil.copytree(ROOT / "shared", target / "shared", ignore=IGNORED)
    # Ship bytecode, so a cold start imports instead of compiling every module (measured in
    # docs/benchmarks.md, "Hot path"). Unchecked hash-based files: an upload does not keep
    # file times (timestamp-based ones would be recompiled) and a bundle never changes after
    # it is built. A runtime of another Python version simply ignores them.
    compileall.compile_dir(
        target, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build Cloud Functions deploy bundles.")
    parser.add_argument("names", nargs="*", metavar="name", help=f"any of {', '.join(FUNCTIONS)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(FUNCTIONS))
    if unknown:
        parser.error(f"unknown function(s) {unknown}; choose from {', '.join(FUNCTIONS)}")
    for name in args.names or FUNCTIONS:
        bundle = build(name)
        files = sum(1 for path in bundle.rglob("*") if path.is_file())
        print(f"built {bundle.relative_to(ROOT)} ({files} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
