"""The API reference served by Hosting: /api/docs (Swagger UI, vendored) and /api/openapi.json.

Through the dev gateway, which applies firebase.json as Hosting does: the viewer and the
document are static files under /api, ahead of the catch-all that answers unknown API paths
with the JSON 404; and in real Chromium, under the site's Content-Security-Policy, the
viewer renders every operation with no console error, no CSP violation and no request to
another origin.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from dashboard_kit import SCREENSHOTS, launch_browser

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "hosting" / "api" / "openapi.json"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def gateway(stack: Any) -> str:
    return str(stack.gateway_url)


def test_api_docs_is_the_static_viewer_under_the_sites_csp(gateway: str) -> None:
    response = requests.get(gateway + "/api/docs", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "/vendor/swagger-ui/swagger-ui-bundle.js" in response.text
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp
    for asset in ("/api/docs.js", "/vendor/swagger-ui/swagger-ui-bundle.js"):
        assert requests.get(gateway + asset, timeout=30).status_code == 200, asset


def test_the_openapi_document_is_served_as_checked_in(gateway: str) -> None:
    response = requests.get(gateway + "/api/openapi.json", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == json.loads(SPEC.read_text(encoding="utf-8"))


def test_unknown_api_paths_next_to_the_docs_still_get_the_json_404(gateway: str) -> None:
    for path in ("/api/doc", "/api/docs/x", "/api/openapi", "/api/nothing"):
        response = requests.get(gateway + path, timeout=30)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found", path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


def test_the_viewer_renders_every_operation_in_chromium_without_csp_violations(
    browser: Any, gateway: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=gateway)
    page = context.new_page()
    problems: list[str] = []
    origins: set[str] = set()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.on("request", lambda r: origins.add(urlsplit(r.url).netloc))
    try:
        page.goto("/api/docs")
        operations = sum(len(m) for m in json.loads(SPEC.read_text())["paths"].values())
        blocks = page.locator(".opblock")
        blocks.first.wait_for(timeout=20_000)
        assert blocks.count() == operations
        assert "PMI API" in page.locator(".info .title").inner_text()

        # Try one operation as a reader would: expand, "Try it out", "Execute".
        live = page.locator("#operations-monitoring-monitoring_live")
        live.locator(".opblock-summary").click()
        live.locator("button.try-out__btn").click()
        live.locator("button.execute").click()
        status = live.locator(".live-responses-table tbody .response-col_status").first
        status.wait_for(timeout=15_000)
        assert status.inner_text().strip().startswith("200")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "api-docs.png"))
    finally:
        context.close()
    assert problems == [], "console errors (CSP violations show here):\n" + "\n".join(problems)
    assert origins == {urlsplit(gateway).netloc}, f"requests left the site: {origins}"
