"""The platform's Cloud Functions, named once.

Each name is a folder ``functions/<name>/`` holding ``main.py`` with the entry point of the
same name, a Hosting rewrite ``/api/<name>`` in firebase.json, and a deploy bundle. Tools
(the bundler, the route table, the dev runner) and tests read this list instead of typing
it out; tests/test_structure.py checks firebase.json, pyproject.toml and the folders
against it.
"""

from __future__ import annotations

from typing import Final

FUNCTION_NAMES: Final[tuple[str, ...]] = ("auth", "vehicles", "bookings", "monitoring")
