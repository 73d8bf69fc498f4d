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


_CONTAINERS = (dict, list)


def nesting_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the JSON ``value`` nests objects/arrays more than ``limit`` levels."""
    if not isinstance(value, _CONTAINERS):
        return False
    # Level by level, each level's containers gathered by a comprehension: a telemetry batch
    # is 500 objects of 7 scalars, and this runs on every body (~0.3 ms for one, half the
    # cost of a stack of (item, depth) pairs fed by a generator).
    level: list[Any] = [value]
    depth = 1
    while level:
        if depth > limit:
            return True
        deeper: list[Any] = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            deeper += [child for child in children if isinstance(child, _CONTAINERS)]
        level = deeper
        depth += 1
    return False
