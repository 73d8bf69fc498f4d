"""Print (or check) docs/routes.md: every route of every function, from the route tables.

The table is derived from the same declarations the pipeline enforces — method, path,
access rule, body and query models — so it cannot drift from the code; tests/test_routes_doc.py
fails when docs/routes.md is stale. Regenerate with ``make routes``.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for shared.functions, the one list of functions

from shared.functions import FUNCTION_NAMES as FUNCTIONS  # noqa: E402

DOC = ROOT / "docs" / "routes.md"


def load_app(name: str) -> object:
    """Import functions/<name>/main.py the way functions-framework does and return its App."""
    import os

    os.environ.setdefault("PMI_JWT_SECRET", "route-table-only-key-0123456789abcdef")
    folder = ROOT / "functions" / name
    sys.path[:0] = [str(ROOT), str(folder)]
    spec = importlib.util.spec_from_file_location(f"pmi_{name}_main", folder / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def render() -> str:
    lines = [
        "# Routes",
        "",
        "Generated from the functions' route tables by `scripts/route_table.py`; do not edit.",
        "Paths are as Hosting forwards them; each function also answers on its own URL",
        "without the `/api/<function>` prefix. Access: `public`, `signed in`, or the",
        "permission the caller's role must grant (docs/rbac.md). Every body and query",
        "model forbids unknown fields (422).",
        "",
    ]
    for name in FUNCTIONS:
        app = load_app(name)
        lines += [
            f"## {name}",
            "",
            "| method | path | access | body | query | summary |",
            "|---|---|---|---|---|---|",
        ]
        for route in app.routes:  # type: ignore[attr-defined]
            path = app.prefix + ("" if route.path == "/" else route.path)  # type: ignore[attr-defined]
            body = route.body.__name__ if route.body else ""
            if body and route.body_optional:
                body += " (optional)"
            query = route.query.__name__ if route.query else ""
            summary = (inspect.getdoc(route.handler) or "").split("\n")[0].replace("|", "\\|")
            lines.append(
                f"| {route.method} | `{path}` | {route.access.describe()} | {body} | {query} "
                f"| {summary} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write or check docs/routes.md.")
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/routes.md is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not DOC.exists() or DOC.read_text() != text:
            print("docs/routes.md is stale: run `make routes`", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
