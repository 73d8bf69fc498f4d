"""Hosting's contract in firebase.json: the API is never swallowed by the single-page
fallback, and the dashboard runs under a Content-Security-Policy without inline script.

The gateway (scripts/gateway.py) applies firebase.json as Hosting does, so the end-to-end
checks here go through it to the real function processes.
"""

from __future__ import annotations

import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.functions import FUNCTION_NAMES

ROOT = Path(__file__).resolve().parent.parent
HOSTING = ROOT / "hosting"


def _config() -> dict[str, Any]:
    hosting: dict[str, Any] = json.loads((ROOT / "firebase.json").read_text())["hosting"]
    return hosting


def _csp() -> dict[str, list[str]]:
    values = [
        header["value"]
        for rule in _config()["headers"]
        if rule.get("source") == "**"
        for header in rule["headers"]
        if header["key"] == "Content-Security-Policy"
    ]
    assert len(values) == 1, "one Content-Security-Policy on every response"
    directives: dict[str, list[str]] = {}
    for part in values[0].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def test_csp_allows_only_own_scripts_and_styles() -> None:
    csp = _csp()
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"], "no inline script, no eval, no CDN"
    assert csp["style-src"] == ["'self'"], "no inline style attributes or <style> blocks"
    assert csp["connect-src"] == ["'self'"], "the API is same-origin behind Hosting"
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]


class _InlineFinder(HTMLParser):
    """Collects what the CSP would block: inline scripts, handlers, style attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self._in_inline_script = True
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> block")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{name}= handler on <{tag}>")
            if name == "style":
                self.problems.append(f"style= attribute on <{tag}>")
            if name in ("href", "src") and value and re.match(r"\s*(javascript:|https?://)", value):
                self.problems.append(f"{name}={value!r} on <{tag}> (script URL or off-site asset)")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False


@pytest.mark.parametrize(
    "page",
    sorted(
        str(p.relative_to(HOSTING)) for p in HOSTING.glob("**/*.html") if "vendor" not in p.parts
    ),
)
def test_hosting_pages_have_nothing_the_csp_would_block(page: str) -> None:
    finder = _InlineFinder()
    finder.feed((HOSTING / page).read_text(encoding="utf-8"))
    assert finder.problems == []


# What the CSP would block at run time (eval) or what bypasses it in spirit (raw HTML).
FORBIDDEN_IN_SOURCES = (
    r"\beval\(",
    r"new Function\(",
    r"\.innerHTML\s*=",
    r"setAttribute\(\s*['\"]style",
)


def test_dashboard_sources_never_use_inline_handlers_or_eval() -> None:
    offenders = []
    for path in [
        *HOSTING.glob("app/**/*.js"),
        *HOSTING.glob("sdk/**/*.js"),
        *HOSTING.glob("api/*.js"),
    ]:
        text = path.read_text(encoding="utf-8")
        for pattern in FORBIDDEN_IN_SOURCES:
            if re.search(pattern, text):
                offenders.append(f"{path.relative_to(ROOT)}: {pattern}")
    assert offenders == []


def test_api_catch_all_comes_after_every_function_and_before_the_spa_fallback() -> None:
    sources = [
        (rule.get("source") or rule["regex"], rule.get("function", {}).get("functionId"))
        for rule in _config()["rewrites"]
    ]
    assert sources[-1] == ("**", None)
    # Globs never match a segment that starts with a dot (/api/bookings/.x/cancel): this
    # regex sends every such API path to the JSON 404 too, never to the HTML 404 page.
    assert sources[-2] == ("^/api/", "monitoring")
    sources = sources[:-2] + sources[-1:]
    # The API reference is a static page under /api: its rewrite comes before the catch-all.
    assert sources.index(("/api/docs", None)) < sources.index(("/api/**", "monitoring"))
    assert sources[-3:-1] == [("/api", "monitoring"), ("/api/**", "monitoring")]
    for name in FUNCTION_NAMES:
        assert sources.index((f"/api/{name}/**", name)) < sources.index(("/api/**", "monitoring"))


# --------------------------------------------------------------------------- end to end


@pytest.fixture
def gateway(stack: Any, db: Any) -> str:
    return str(stack.gateway_url)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/vehicle/abc"),
        ("GET", "/api/openapi.yaml"),
        ("GET", "/api/docs/anything"),
        ("GET", "/api"),
        ("GET", "/api/"),
        ("POST", "/api/nowhere"),
        ("DELETE", "/api/bookingsx/1"),
        ("GET", "/api/monitoring/nothing-here"),
        ("POST", "/api/bookings/.hidden/cancel"),
        ("GET", "/api/.well-known/x"),
    ],
)
def test_unknown_api_paths_answer_the_json_404_envelope(
    gateway: str, method: str, path: str
) -> None:
    response = requests.request(method, gateway + path, timeout=30)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert error["request_id"] == response.headers["X-Request-ID"]
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.e2e
@pytest.mark.parametrize("path", ["/", "/vehicles", "/bookings/day", "/users"])
def test_dashboard_routes_still_get_the_page_with_the_csp(gateway: str, path: str) -> None:
    response = requests.get(gateway + path, timeout=30)
    assert response.status_code == 200
    assert "text/html" in response.headers["Content-Type"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_the_release_copies_the_dashboard_libraries_before_deploying_hosting() -> None:
    """hosting/vendor/ is git-ignored build output: a Hosting deploy without it breaks the page."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from release import config as release_config
    from release.plan import plan

    config = release_config.load()
    environment = next(iter(config.environments.values()))
    steps = [
        " ".join(e) for e in plan(config, environment, "v")["rules-hosting"] if isinstance(e, list)
    ]
    vendor = steps.index("node scripts/vendor_assets.mjs")
    hosting = next(i for i, step in enumerate(steps) if "--only=firestore:rules,hosting" in step)
    assert steps.index("npm ci --no-audit --no-fund") < vendor < hosting
