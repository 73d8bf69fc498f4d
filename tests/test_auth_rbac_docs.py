"""docs/rbac.md's role → permission table is the one in shared/auth/rbac.py.

Regenerate the table with ``.venv/bin/python tests/test_auth_rbac_docs.py`` and paste it
between the markers in docs/rbac.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.auth.rbac import ROLE_PERMISSIONS, Permission, Role  # noqa: E402

DOC = ROOT / "docs" / "rbac.md"
BEGIN, END = "<!-- permission-table:begin -->", "<!-- permission-table:end -->"


def render_table() -> str:
    roles = list(Role)
    lines = [
        "| Permission | " + " | ".join(r.value for r in roles) + " |",
        "|---|" + "---|" * len(roles),
    ]
    for permission in Permission:
        marks = ["✓" if permission in ROLE_PERMISSIONS[r] else "" for r in roles]
        lines.append(f"| `{permission.value}` | " + " | ".join(marks) + " |")
    return "\n".join(lines)


def documented_table() -> str:
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip()


def test_docs_rbac_table_matches_role_permissions() -> None:
    assert documented_table() == render_table(), (
        "docs/rbac.md is stale: run .venv/bin/python tests/test_auth_rbac_docs.py"
    )


def test_there_are_at_least_twelve_permissions_and_five_roles() -> None:
    assert len(Permission) >= 12
    assert {r.value for r in Role} == {"admin", "customer", "service_center", "mechanic", "viewer"}


if __name__ == "__main__":
    print(render_table())
