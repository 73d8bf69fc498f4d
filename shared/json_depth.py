"""How deeply a request body may nest, and the check (no recursion, so no recursion limit).

``[`` × 200,000 is a 200 KB body that makes Python's JSON parser raise RecursionError;
a body a few hundred levels deep parses, then overflows whatever recursive code meets it
next. No PMI body needs more than a handful of levels, so anything past
:data:`MAX_JSON_DEPTH` is refused as 400 ``too_deep`` (shared.http) before it goes further.
"""

from __future__ import annotations

from typing import Any

# The deepest real body (a center with opening hours per weekday) nests 4 levels.
MAX_JSON_DEPTH = 32


def nesting_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the JSON ``value`` nests objects/arrays more than ``limit`` levels."""
    if not isinstance(value, dict | list):
        return False
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        pending.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False
