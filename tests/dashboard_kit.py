"""Shared pieces of the dashboard's browser tests: Debian's Chromium under Playwright, the
demo data loaded through the gateway, and a page wrapper that records console errors,
failed API calls and screenshots (test artefacts under .artifacts/screenshots/)."""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / ".artifacts" / "screenshots"
# Flags that keep Chromium from calling Google on a machine without internet (see
# ENVIRONMENT notes); --no-sandbox because tests may run as root in CI.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The side navigation each role sees, in order (the pages it may open).
PAGES_BY_ROLE = {
    "admin": ["Overview", "Vehicles", "Bookings", "Day view", "Users", "Audit log", "Analytics"],
    "customer": ["Overview", "Vehicles", "Bookings"],
    "service_center": ["Overview", "Vehicles", "Bookings", "Day view"],
    "mechanic": ["Overview", "Vehicles", "Bookings", "Day view"],
    "viewer": ["Overview", "Vehicles", "Bookings", "Day view", "Analytics"],
}
DESKTOP = {"width": 1280, "height": 900}
TABLET = {"width": 820, "height": 1180}
ACCOUNTS = {
    "admin": "admin",
    "customer": "customer",
    "service_center": "center",
    "mechanic": "mechanic",
    "viewer": "viewer",
}


def find_chromium() -> str | None:
    """PMI_CHROMIUM, else the first Chromium or Chrome on PATH (scripts/ensure_browser.sh)."""
    configured = os.environ.get("PMI_CHROMIUM")
    if configured:
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


# Each browser test module launches its own Chromium; only the first clears the folder.
_screenshots_cleared = False


def launch_browser() -> Iterator[Any]:
    """One headless Chromium for the session (Playwright cannot download its own here)."""
    chromium = find_chromium()
    if chromium is None:
        pytest.fail(
            "Chromium is missing: `make browser` installs it (apt-get install chromium)",
            pytrace=False,
        )
    if not (ROOT / "hosting" / "vendor" / "manifest.json").is_file():
        pytest.fail("hosting/vendor/ is missing: run `make assets`", pytrace=False)
    from playwright.sync_api import sync_playwright

    global _screenshots_cleared
    if not _screenshots_cleared:  # this run's screenshots only, kept across test modules
        shutil.rmtree(SCREENSHOTS, ignore_errors=True)
        _screenshots_cleared = True
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()


def seed_world(stack: Any, emulator: Any) -> dict[str, Any]:
    """A wiped emulator with the demo data (scripts/seed_demo.py) loaded through the gateway."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import seed_demo

    emulator.reset()
    ids: dict[str, Any] = seed_demo.seed(stack.gateway_url, progress=lambda message: None)
    return ids


def email_of(role: str) -> str:
    import seed_demo

    return str(seed_demo.demo_email(ACCOUNTS[role]))


def password() -> str:
    import seed_demo

    return str(seed_demo.demo_password())


class Api:
    """The API as one role sees it, through the gateway (for setting up and checking)."""

    def __init__(self, base_url: str, role: str) -> None:
        self.base_url = base_url
        reply = requests.post(
            f"{base_url}/api/auth/login",
            json={"email": email_of(role), "password": password()},
            timeout=30,
        )
        reply.raise_for_status()
        self.token = reply.json()["access_token"]
        self.user = reply.json()["user"]

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        response = requests.request(
            method,
            self.base_url + path,
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert response.status_code == expect, f"{method} {path}: {response.text}"
        return response.json() if response.content else None


@dataclass
class Ui:
    """A page plus what went wrong on it: console errors and API answers of 400 or more."""

    page: Any
    name: str
    console_errors: list[str] = field(default_factory=list)
    failed_calls: list[str] = field(default_factory=list)
    shots: int = 0
    # API paths whose refusal is the point of a test (assert_clean leaves those out).
    expected_failures: list[re.Pattern[str]] = field(default_factory=list)

    def screenshot(self, step: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{self.name}-{self.shots:02d}-{step}")
        path = SCREENSHOTS / f"{slug}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def sign_in(self, role: str) -> None:
        page = self.page
        page.goto("/")
        page.fill("#signin-email", email_of(role))
        page.fill("#signin-password", password())
        page.click("form button[type=submit]")
        page.wait_for_selector("nav.sidenav")

    def settle(self) -> None:
        """Waits until no loading placeholder is left on the page."""
        # (wait_for_function would evaluate a string in the page, which the CSP forbids.)
        from playwright.sync_api import expect

        expect(self.page.locator(".loading")).to_have_count(0, timeout=20_000)

    def expect_failure(self, pattern: str) -> None:
        """Answers ≥ 400 of API paths matching ``pattern`` (and the browser's console line
        about them) are expected: e.g. a route a page probes for and handles."""
        self.expected_failures.append(re.compile(pattern))

    def assert_clean(self) -> None:
        def unexpected(lines: list[str]) -> list[str]:
            return [
                line for line in lines if not any(p.search(line) for p in self.expected_failures)
            ]

        errors, calls = unexpected(self.console_errors), unexpected(self.failed_calls)
        assert errors == [], "console errors:\n" + "\n".join(errors)
        assert calls == [], "failed API calls:\n" + "\n".join(calls)


def open_ui(browser: Any, base_url: str, name: str, viewport: dict[str, int] = DESKTOP) -> Ui:
    context = browser.new_context(viewport=viewport, base_url=base_url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    ui = Ui(page, name)

    def on_console(message: Any) -> None:
        if message.type == "error":
            # The URL a "Failed to load resource" line is about sits in its location.
            source = (message.location or {}).get("url", "")
            ui.console_errors.append(f"{message.text} [{source}]" if source else message.text)

    def on_response(response: Any) -> None:
        if "/api/" in response.url and response.status >= 400:
            ui.failed_calls.append(f"{response.status} {response.request.method} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: ui.console_errors.append(f"uncaught: {error}"))
    page.on("response", on_response)
    return ui


def book_free_slot(
    customer: Any, world: dict[str, Any], service: str, vehicle: int, day: str
) -> Any:
    """A booking of ``service`` for the world's vehicle number ``vehicle`` in the first free
    slot of ``day`` at the first center, through the API (201 expected)."""
    slots = customer.call(
        "GET",
        f"/api/bookings/centers/{world['centers'][0]}/availability?date={day}&service={service}",
    )["slots"]
    free = next(s for s in slots if s["remaining"] > 0)
    return customer.call(
        "POST",
        "/api/bookings",
        {
            "vehicle_id": world["vehicles"][vehicle],
            "center_id": world["centers"][0],
            "service_type": service,
            "start": free["start"],
        },
        expect=201,
    )


# --- fixtures the browser test modules share (imported by name: ``from dashboard_kit import
# browser_fixture, ui_fixture, world_fixture``) ----------------------------------------------


@pytest.fixture(name="browser", scope="module")
def browser_fixture() -> Iterator[Any]:
    """One Chromium per module, closed before the next module's starts: Playwright's sync
    API allows one running instance per thread."""
    yield from launch_browser()


@pytest.fixture(name="world", scope="module")
def world_fixture(stack: Any, emulator: Any) -> dict[str, Any]:
    return seed_world(stack, emulator)


def ui_session(
    browser: Any, stack: Any, request: pytest.FixtureRequest, viewport: dict[str, int] = DESKTOP
) -> Iterator[Ui]:
    """A signed-out page of its own for one test, screenshotted at its end."""
    session = open_ui(browser, stack.gateway_url, request.node.name, viewport=viewport)
    yield session
    session.screenshot("end")
    session.page.context.close()


@pytest.fixture(name="ui")
def ui_fixture(
    browser: Any, stack: Any, world: dict[str, Any], request: pytest.FixtureRequest
) -> Iterator[Ui]:
    yield from ui_session(browser, stack, request)
