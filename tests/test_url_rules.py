"""The router's match-only werkzeug rules (shared.url_rules) match and build exactly as
werkzeug's own rules do; only when the URL builders are compiled differs."""

from __future__ import annotations

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from shared.ids import PATH_CONVERTERS
from shared.url_rules import MatchRule

PATHS = ("/", "/centers", "/centers/<center_id>", "/<booking_id>/confirm", "/<opaque:ref>/accept")
REQUESTS = (
    ("/", "GET"),
    ("/api/bookings", "GET"),
    ("/centers/c-1", "GET"),
    ("/api/bookings/b1/confirm", "POST"),
    ("/b1/confirm", "GET"),  # wrong method
    ("/b1/unknown", "GET"),
    ("/a.b_c-d/accept", "POST"),
    ("/bad%2Fid/confirm", "POST"),
)


def routed(rule_class: type[Rule]) -> Map:
    table = Map(strict_slashes=False, merge_slashes=False, converters=PATH_CONVERTERS)
    for number, path in enumerate(PATHS):
        method = "POST" if path.endswith(("confirm", "accept")) else "GET"
        for rule_path in {path, "/api/bookings" + ("" if path == "/" else path)}:
            table.add(rule_class(rule_path, endpoint=str(number), methods=[method]))
    return table


def outcome(table: Map, path: str, method: str) -> object:
    try:
        return table.bind("localhost", path_info=path).match(method=method)
    except (NotFound, MethodNotAllowed) as refused:
        return type(refused).__name__


@pytest.mark.parametrize(("path", "method"), REQUESTS)
def test_a_match_rule_matches_like_a_werkzeug_rule(path: str, method: str) -> None:
    assert outcome(routed(MatchRule), path, method) == outcome(routed(Rule), path, method)


def test_a_match_rule_still_builds_urls_when_asked() -> None:
    ours = routed(MatchRule).bind("localhost")
    theirs = routed(Rule).bind("localhost")
    for endpoint, values in (
        ("2", {"center_id": "c 1"}),
        ("3", {"booking_id": "b1", "extra": "x"}),
        ("0", {}),
    ):
        assert ours.build(endpoint, values) == theirs.build(endpoint, values)
