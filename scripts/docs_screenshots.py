"""Screenshots for docs/dashboard.md: the dashboard on the demo data, in headless Chromium.

Starts its own emulator, every function, the Hosting gateway and the demo data, then saves
one PNG per page under docs/images/ (viewport-sized, so the files stay small). Meanwhile a
background client sends real API traffic through the gateway (a few requests a second to
every function, some of them 404s), so the Analytics page's performance charts show real,
flushed figures over several minutes: the run takes about three minutes. Usage:
``.venv/bin/python scripts/docs_screenshots.py`` (needs `make deps browser`).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import ViewportSize

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "tests")]

from dashboard_kit import CHROMIUM_ARGS, TABLET, find_chromium  # noqa: E402
from emulator import FirestoreEmulator  # noqa: E402
from stack import Stack, free_port  # noqa: E402

OUT = ROOT / "docs" / "images"
ENV = {
    "PMI_ENVIRONMENT": "test",
    "GOOGLE_CLOUD_PROJECT": "demo-pmi",
    "PMI_JWT_SECRET": "docs-signing-key-0123456789abcdef-not-for-production",
    "PMI_BCRYPT_COST": "4",
    "PMI_RATE_LIMIT_BACKEND": "off",
    "PMI_LOG_LEVEL": "ERROR",
    "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
    # Figures flushed every second and read fresh, so the screenshot shows the traffic sent.
    "PMI_METRICS": "firestore",
    "PMI_METRICS_FLUSH_SECONDS": "1",
    "PMI_STATS_CACHE_SECONDS": "0",
}
VIEWPORT: ViewportSize = {"width": 1280, "height": 820}
# Minutes with traffic before the Analytics screenshot (its 5-minute window shows them).
TRAFFIC_MINUTES = 3


class Traffic(threading.Thread):
    """Real requests through the gateway, a few a second, as the viewer (the pages are shot
    as other accounts: signing in again and again would evict their sessions, 20 at most
    per account): lists, details, a sign-in now and then, some 403s and 404s, until stopped."""

    def __init__(self, base_url: str, ids: dict[str, Any], email: str, password: str) -> None:
        super().__init__(daemon=True)
        self.base_url, self.ids = base_url, ids
        self.credentials = {"email": email, "password": password}
        self.stopped = threading.Event()
        self.started_at = time.time()

    def run(self) -> None:
        session = requests.Session()
        login = session.post(f"{self.base_url}/api/auth/login", json=self.credentials, timeout=30)
        session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        vehicle, booking = self.ids["vehicles"][0], self.ids["bookings"][0]
        paths = [
            "/api/vehicles",
            f"/api/vehicles/{vehicle}",
            f"/api/vehicles/{vehicle}/telemetry?limit=20",
            "/api/vehicles/alerts",
            "/api/bookings",
            f"/api/bookings/{booking}",
            "/api/bookings/centers",
            "/api/auth/me",
            "/api/auth/users?limit=20",
            "/api/monitoring/health/detailed",
            "/api/vehicles/no-such-vehicle",
            "/api/monitoring/health/live",
        ]
        step = 0
        while not self.stopped.wait(0.15):
            if step and step % 200 == 0:
                session.post(f"{self.base_url}/api/auth/login", json=self.credentials, timeout=30)
            session.get(self.base_url + paths[step % len(paths)], timeout=30)
            step += 1

    def minutes_served(self) -> float:
        return (time.time() - self.started_at) / 60


def main() -> int:
    os.environ.update(ENV)
    log_dir = ROOT / ".dev" / "docs-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    emulator = FirestoreEmulator(free_port(), project_id="demo-pmi", log_path=log_dir / "fs.log")
    emulator.start()
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.address
    stack = Stack(
        emulator_port=emulator.port,
        gateway_port=free_port(),
        reuse_emulator=emulator,
        log_dir=log_dir,
        env=ENV,
    )
    try:
        stack.start(progress=print)
        import seed_demo

        ids = seed_demo.seed(stack.gateway_url, progress=print)
        shoot(stack.gateway_url, ids, seed_demo)
    finally:
        stack.stop()
        emulator.stop()
    return 0


def shoot(base_url: str, ids: dict[str, Any], seed_demo: Any) -> None:
    from playwright.sync_api import expect, sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    traffic = Traffic(base_url, ids, seed_demo.demo_email("viewer"), seed_demo.demo_password())
    traffic.start()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)

        def page_for(role: str, viewport: ViewportSize = VIEWPORT) -> Any:
            context = browser.new_context(viewport=viewport, base_url=base_url)
            page = context.new_page()
            page.goto("/")
            if role == "admin":
                page.wait_for_selector("#signin-email")
                page.screenshot(path=str(OUT / "sign-in.png"))
            page.fill("#signin-email", seed_demo.demo_email(role))
            page.fill("#signin-password", seed_demo.demo_password())
            page.click("form button[type=submit]")
            page.wait_for_selector("nav.sidenav")
            return page

        def snap(page: Any, path: str, name: str) -> None:
            page.goto(path)
            expect(page.locator(".loading")).to_have_count(0, timeout=20_000)
            page.wait_for_timeout(300)
            page.screenshot(path=str(OUT / f"{name}.png"))
            print(f"  docs/images/{name}.png")

        admin = page_for("admin")
        snap(admin, "/", "overview")
        snap(admin, f"/vehicles/{ids['vehicles'][0]}", "vehicle")
        snap(admin, "/users", "users")
        # Something in the mechanic's trail: a deactivation and reactivation by the admin.
        row = admin.locator("tr[data-user^='mechanic@']")
        for button, confirm in (("Deactivate…", "Deactivate"), ("Reactivate…", "Reactivate")):
            row.get_by_role("button", name=button).click()
            admin.get_by_role("button", name=confirm, exact=True).click()
            admin.wait_for_selector("dialog[open]", state="detached")
        row.get_by_role("button", name="Audit trail").click()
        admin.wait_for_selector("dialog[open] [data-testid=audit-trail] li")
        admin.wait_for_timeout(300)
        admin.screenshot(path=str(OUT / "audit-trail.png"))
        print("  docs/images/audit-trail.png")
        center = page_for("center")
        booking = ids["bookings"][0]
        day = center.evaluate(
            "(id) => fetch('/api/bookings/' + id, {headers: {Authorization: 'Bearer ' +"
            " JSON.parse(localStorage.getItem('pmi.session')).access_token}})"
            ".then(r => r.json()).then(b => b.start.slice(0, 10))",
            booking,
        )
        snap(center, f"/bookings/day?date={day}&booking={booking}", "day-view")
        customer = page_for("customer")
        snap(customer, "/bookings", "bookings-customer")
        tablet = page_for("center", TABLET)
        snap(tablet, f"/bookings/day?date={day}", "day-view-tablet")
        # Analytics last, once the background traffic has filled a few minutes.
        while traffic.minutes_served() < TRAFFIC_MINUTES:
            left = TRAFFIC_MINUTES - traffic.minutes_served()
            print(f"  sending traffic for the Analytics charts: {left * 60:.0f} s left")
            time.sleep(min(30.0, max(left * 60, 0.1)))
        traffic.stopped.set()
        traffic.join()
        time.sleep(2)  # the last flush (every second)
        snap(admin, "/analytics", "analytics-history")
        panel = admin.locator("[data-testid=performance]")
        for title in ("Requests per minute", "p95 latency (ms)", "p50 latency (ms)", "Error rate"):
            panel.locator(f"[data-testid^='chart-{title}'] .uplot").wait_for()
        panel.screenshot(path=str(OUT / "analytics.png"))
        print("  docs/images/analytics.png")
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
