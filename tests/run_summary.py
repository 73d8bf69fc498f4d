"""What the contract, fuzz and fault tests did, printed at the end of the pytest run.

Tests add to these counters; tests/conftest.py's ``pytest_terminal_summary`` prints them, so
every ``make test`` ends with how many operations were fuzzed, how many cases were tried and
which faults were injected.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

operations_fuzzed: set[str] = set()
cases_tried: Counter[str] = Counter()  # per role (or "anonymous")
stateful_steps = 0
faults: Counter[str] = Counter()


def fault(name: str) -> None:
    faults[name] += 1


def lines() -> list[str]:
    if not (operations_fuzzed or cases_tried or faults):
        return []
    found = [
        f"operations fuzzed: {len(operations_fuzzed)}",
        f"cases tried: {sum(cases_tried.values())}"
        + (
            " (" + ", ".join(f"{role} {n}" for role, n in sorted(cases_tried.items())) + ")"
            if cases_tried
            else ""
        ),
    ]
    if stateful_steps:
        found.append(f"stateful steps (links followed): {stateful_steps}")
    found.append(f"faults injected: {sum(faults.values())}")
    found += [f"  {count} x {name}" for name, count in sorted(faults.items())]
    return found


def write(terminal: Any) -> None:
    found = lines()
    if found:
        terminal.section("API contract: fuzzing and faults")
        for line in found:
            terminal.line(line)
