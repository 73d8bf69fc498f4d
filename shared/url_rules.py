"""Werkzeug URL rules for a router that only matches (shared.http): URL builders on demand.

When a rule joins a werkzeug ``Map``, werkzeug compiles two URL-*building* functions for
it (Python source generated as an AST, then ``compile()``), besides the regular expression
that *matches*. The platform's functions only match incoming paths and never build URLs
from their rules, yet the builders were about 5 ms of each function's cold start (two per
route: the function's own path and the Hosting path). :class:`MatchRule` compiles a builder
the first time a URL is built from the rule, so matching is unchanged and building still
works (tests/test_url_rules.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing import Rule


class MatchRule(Rule):
    """A werkzeug ``Rule`` whose URL builders are compiled on first use, not when added."""

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        # Werkzeug binds what this returns to the rule (``__get__``) as ``_build`` or
        # ``_build_unknown``, and calls it with the rule first.
        compiled: list[Callable[..., tuple[str, str]]] = []

        def build(rule: Rule, *args: Any, **kwargs: Any) -> tuple[str, str]:
            if not compiled:
                compiled.append(Rule._compile_builder(rule, append_unknown))
            return compiled[0](rule, *args, **kwargs)

        return build
