"""The admin dashboard in a real browser (Debian's Chromium under Playwright) against the
whole local stack: every function and the Hosting gateway as processes, demo data loaded
through the API. Screenshots of each step land in .artifacts/screenshots/ (git-ignored)."""

from __future__ import annotations

import gzip
import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from dashboard_kit import (  # the fixtures by name: browser, ui, world
    PAGES_BY_ROLE,
    ROOT,
    TABLET,
    Api,
    Ui,
    book_free_slot,
    browser_fixture,  # noqa: F401
    open_ui,
    ui_fixture,  # noqa: F401
    world_fixture,  # noqa: F401
)
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

EXPECTED_PAGES = PAGES_BY_ROLE
PHONE = {"width": 390, "height": 844}
# The budget for the JavaScript of a first load, gzipped.
FIRST_LOAD_BUDGET_BYTES = 150 * 1024
# A deployment without the monitoring statistics routes answers them 404, which the
# Analytics page turns into its "not available" panels (one test stubs that 404).
MONITORING_STATS = r"/api/monitoring/stats/"


def _nav_labels(ui: Ui) -> list[str]:
    return [text.strip() for text in ui.page.locator("nav.sidenav a").all_inner_texts()]


@pytest.mark.parametrize("role", list(EXPECTED_PAGES))
def test_each_role_opens_every_page_it_may_see(ui: Ui, world: dict[str, Any], role: str) -> None:
    ui.sign_in(role)
    assert _nav_labels(ui) == EXPECTED_PAGES[role]
    for label in EXPECTED_PAGES[role]:
        ui.page.locator("nav.sidenav a", has_text=label).click()
        ui.page.wait_for_selector(f"h1.page-title:text-is('{label}')")
        ui.settle()
        ui.screenshot(label)
        assert ui.page.locator(".banner-error").count() == 0, ui.page.inner_text("main")
    # The vehicle detail too (staff see the vehicle booked at their center).
    ui.page.locator("nav.sidenav a", has_text="Vehicles").click()
    ui.page.locator("table a", has_text="Honda").click()
    ui.page.wait_for_selector("text=Findings")
    ui.settle()
    ui.page.wait_for_selector(".chart .uplot")
    ui.screenshot("vehicle")
    if role != "admin":
        ui.page.goto("/users")
        ui.page.wait_for_selector("h1.page-title:text-is('Not available')")
    ui.assert_clean()


def test_charts_write_times_as_the_rest_of_the_dashboard_does(
    ui: Ui, world: dict[str, Any]
) -> None:
    ui.sign_in("admin")
    ui.page.goto(f"/vehicles/{world['vehicles'][0]}")
    chart = ui.page.locator(".chart").first
    chart.locator(".uplot").wait_for()
    chart.locator(".u-over").hover()  # the legend shows the time under the cursor
    moment = chart.locator(".u-legend .u-series").first.locator(".u-value")
    # "29 Nov 2026 07:52": a 24-hour clock and the day before the month, not "11/29/26 7:52am".
    expect(moment).to_have_text(re.compile(r"^\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}$"))
    # A chart of figures per day names the day alone.
    ui.page.goto("/analytics")
    daily = ui.page.locator("[data-testid='chart-Bookings per day']")
    daily.locator(".uplot").wait_for()
    daily.locator(".u-over").hover()
    day = daily.locator(".u-legend .u-series").first.locator(".u-value")
    expect(day).to_have_text(re.compile(r"^\d{1,2} [A-Z][a-z]{2} \d{4}$"))
    ui.assert_clean()


def test_viewer_sees_no_action_buttons(ui: Ui, world: dict[str, Any]) -> None:
    ui.sign_in("viewer")
    ui.page.goto("/bookings")
    ui.page.wait_for_selector("[data-testid=bookings-table]")
    assert ui.page.locator("[data-testid=bookings-table] button").count() == 0
    # A viewer is sent no links between a customer's records: no vehicle to link to.
    assert ui.page.locator("[data-testid=bookings-table] a[href^='/vehicles/']").count() == 0
    booking = world["bookings"][0]
    start_day = Api(ui.page.context.pages[0].url.split("/bookings")[0], "admin").call(
        "GET", f"/api/bookings/{booking}"
    )["start"][:10]
    ui.page.goto(f"/bookings/day?center={world['centers'][0]}&date={start_day}&booking={booking}")
    ui.page.wait_for_selector("[data-testid=booking-panel]")
    assert ui.page.locator("[data-testid=booking-panel] .actions button").count() == 0
    # Neither the vehicle nor the mechanic is sent to a viewer: shown as such, not fetched
    # (assert_clean: no request for a vehicle) and not as "not assigned".
    expect(ui.page.locator("[data-testid=panel-vehicle]")).to_have_text("–")
    expect(ui.page.locator("[data-testid=panel-mechanic]")).to_have_text("–")
    ui.assert_clean()


@pytest.mark.parametrize("role", ["admin", "mechanic"])
def test_staff_and_admins_see_the_booked_vehicle_by_name_in_the_day_view(
    ui: Ui, stack: Any, world: dict[str, Any], role: str
) -> None:
    booking = Api(stack.gateway_url, "admin").call("GET", f"/api/bookings/{world['bookings'][0]}")
    ui.sign_in(role)
    ui.page.goto(
        f"/bookings/day?center={booking['center_id']}&date={booking['start'][:10]}"
        f"&booking={booking['id']}"
    )
    # The seeded booking is the Accord's battery check (scripts/seed_demo.py).
    expect(ui.page.locator("[data-testid=panel-vehicle]")).to_have_text(re.compile("^Honda Accord"))
    ui.assert_clean()


def test_admin_changes_a_role_and_deactivates_with_confirmation(
    ui: Ui, stack: Any, world: dict[str, Any]
) -> None:
    from identity import accounts

    email = f"promote-{uuid.uuid4().hex[:8]}@example.test"
    target = accounts.create_account(
        email=email,
        password="a-long-test-password-1",
        full_name="Pat Promote",
        role="customer",
    )
    admin = Api(stack.gateway_url, "admin")
    ui.sign_in("admin")
    ui.page.locator("nav.sidenav a", has_text="Users").click()
    ui.page.wait_for_selector("[data-testid=users-table]")
    # The search runs on the server (a word of the name, from its start), once typing pauses.
    with ui.page.expect_response(lambda r: "/api/auth/users?" in r.url and "q=Promote" in r.url):
        ui.page.fill("#users-search", "Promote")
    row = ui.page.locator(f"tr[data-user='{email}']")
    expect(ui.page.locator("[data-testid=users-table] tbody tr")).to_have_count(1)
    row.get_by_role("button", name="Change role…").click()
    ui.page.select_option("#role-new", "service_center")
    ui.page.wait_for_selector("#role-center")
    ui.screenshot("change-role-dialog")
    ui.page.get_by_role("button", name="Change role", exact=True).click()
    row.locator(".role-badge", has_text="Service center").wait_for()
    changed = admin.call("GET", f"/api/auth/users/{target['id']}")
    assert changed["role"] == "service_center"
    assert changed["service_center_id"] == world["centers"][0] or changed["service_center_id"]

    row.get_by_role("button", name="Deactivate…").click()
    ui.page.get_by_role("button", name="Keep as is").wait_for()
    ui.page.get_by_role("button", name="Deactivate", exact=True).click()
    row.locator("text=Deactivated").wait_for()
    assert admin.call("GET", f"/api/auth/users/{target['id']}")["is_active"] is False
    row.get_by_role("button", name="Reactivate…").click()
    ui.page.get_by_role("button", name="Reactivate", exact=True).click()
    row.locator("text=Active").wait_for()
    assert admin.call("GET", f"/api/auth/users/{target['id']}")["is_active"] is True

    # The account's audit trail: each change, newest first, with who made it.
    row.get_by_role("button", name="Audit trail").click()
    trail = ui.page.locator("dialog[open] [data-testid=audit-trail]")
    trail.wait_for()
    expect(trail.locator("li").first).to_have_attribute("data-event", "account_reactivated")
    change = trail.locator("li[data-event=role_changed]")
    expect(change).to_contain_text("Role changed from customer to service center")
    expect(change).to_contain_text("by Demo Admin")
    events = [item.get_attribute("data-event") for item in trail.locator("li").all()[:3]]
    assert events == ["account_reactivated", "account_deactivated", "role_changed"]
    ui.screenshot("audit-trail")
    ui.page.get_by_role("button", name="Close").click()
    # The whole audit log, filtered by event: the change is there, under the target's name.
    ui.page.locator("nav.sidenav a", has_text="Audit log").click()
    ui.page.select_option("#audit-event", "role_changed")
    entry = ui.page.locator("[data-testid=audit-trail] li[data-event=role_changed]").first
    expect(entry).to_contain_text("account of Pat Promote")
    expect(
        ui.page.locator("[data-testid=audit-trail] li:not([data-event=role_changed])")
    ).to_have_count(0)
    ui.assert_clean()


def _book(customer: Api, world: dict[str, Any], service: str, vehicle: int, day: str) -> Any:
    return book_free_slot(customer, world, service, vehicle, day)


def _panel_status(ui: Ui, status: str) -> None:
    ui.page.wait_for_selector(f"[data-testid=booking-panel][data-status={status}]")


def _arrive(ui: Ui, booking_id: str, minutes_in: int) -> None:
    """As if the booking's day had come: the functions run on the real clock, and work may
    start only near the slot and a no-show be marked only 15 minutes after its start
    (booking.lifecycle), so the stored slot is moved to have begun ``minutes_in`` minutes
    ago (same duration) and the day view of that date is opened on the booking."""
    from shared.firestore import get_client

    ref = get_client().collection("bookings").document(booking_id)
    stored = ref.get().to_dict() or {}
    duration = stored["end"] - stored["start"]
    start = (datetime.now(UTC) - timedelta(minutes=minutes_in)).replace(microsecond=0)
    ref.update({"start": start, "end": start + duration})
    local_day = start.astimezone(ZoneInfo(stored["time_zone"])).date().isoformat()
    ui.page.goto(f"/bookings/day?date={local_day}&booking={booking_id}")
    _panel_status(ui, stored["status"])


def test_a_booking_goes_through_its_whole_lifecycle_in_the_day_view(
    ui: Ui, stack: Any, world: dict[str, Any]
) -> None:
    center = Api(stack.gateway_url, "service_center")
    customer = Api(stack.gateway_url, "customer")
    seeded = center.call("GET", f"/api/bookings/{world['bookings'][0]}")
    day = seeded["start"][:10]  # the center-local date: starts carry the center's offset
    # A booking of its own (the seeded one's battery alert stays for the findings test).
    booking = _book(customer, world, "diagnostics", 1, day)
    ui.sign_in("service_center")
    ui.page.goto(f"/bookings/day?date={day}")
    ui.page.wait_for_selector("[data-testid=baygrid]")
    ui.page.click(f"[data-testid=baygrid] [data-booking='{booking['id']}']")
    _panel_status(ui, "requested")
    panel = ui.page.locator("[data-testid=booking-panel]")
    # The panel names the car, which the center may read while it is booked there.
    expect(panel.locator("[data-testid=panel-vehicle]")).to_have_text(
        re.compile("^Volkswagen Golf")
    )
    ui.screenshot("selected")

    panel.get_by_role("button", name="Confirm").click()
    _panel_status(ui, "confirmed")

    # Work cannot start a day ahead: the button says from when (booking.lifecycle's rule).
    expect(panel.get_by_role("button", name="Start work")).to_be_disabled()
    expect(panel.locator("[data-opens=start]")).to_contain_text("Work can start from")

    # Staff assign by name (their center's team), and the panel then names the mechanic.
    panel.get_by_role("button", name="Assign mechanic…").click()
    ui.page.wait_for_selector(
        "select[name=mechanic] option[value]:not([value=''])", state="attached"
    )
    ui.page.select_option("select[name=mechanic]", label="Demo Mechanic")
    ui.page.get_by_role("button", name="Assign", exact=True).click()
    ui.page.wait_for_selector("dialog[open]", state="detached")
    assert (
        center.call("GET", f"/api/bookings/{booking['id']}")["mechanic_id"]
        == world["users"]["mechanic"]
    )
    expect(panel.locator("[data-testid=panel-mechanic]")).to_have_text("Demo Mechanic")

    panel.get_by_role("button", name="Reschedule…").click()
    ui.page.wait_for_selector("select[name=start] option[value]:not([value=''])", state="attached")
    new_start = ui.page.locator("select[name=start]").input_value()
    ui.screenshot("reschedule")
    ui.page.get_by_role("button", name="Move booking").click()
    ui.page.wait_for_selector("dialog[open]", state="detached")
    moved = center.call("GET", f"/api/bookings/{booking['id']}")
    assert moved["start"] == new_start and moved["status"] == "confirmed"

    _arrive(ui, booking["id"], minutes_in=5)
    # Five minutes in: work may start, a no-show not yet (15 minutes' grace).
    expect(panel.locator("[data-opens=no_show]")).to_contain_text("A no-show can be marked from")
    expect(panel.get_by_role("button", name="No-show…")).to_be_disabled()
    panel.get_by_role("button", name="Start work").click()
    _panel_status(ui, "in_progress")

    panel.get_by_role("button", name="Complete…").click()
    # The Golf (vehicles[1]) was registered at 18,500 km: a plausible reading for the workshop.
    ui.page.fill("dialog[open] input[name=mileage]", "18600")
    ui.page.fill("dialog[open] textarea[name=work_done]", "Battery tested and replaced.")
    ui.page.fill("dialog[open] input[name=amount]", "189.90")
    ui.screenshot("complete-dialog")
    ui.page.locator("dialog[open] button[type=submit]").click()
    _panel_status(ui, "completed")
    records = customer.call("GET", f"/api/vehicles/{booking['vehicle_id']}/service-records")
    assert [r["work_done"] for r in records["items"]] == ["Battery tested and replaced."]

    # The two other ends of the lifecycle: cancelled, and a no-show.
    to_cancel = _book(customer, world, "oil_change", 1, day)
    no_show = _book(customer, world, "tyre_rotation", 0, day)
    ui.page.goto(f"/bookings/day?date={day}")
    ui.page.wait_for_selector("[data-testid=baygrid]")
    ui.page.click(f"[data-testid=baygrid] [data-booking='{to_cancel['id']}']")
    _panel_status(ui, "requested")
    panel.get_by_role("button", name="Cancel booking…").click()
    ui.page.fill("dialog[open] textarea[name=reason]", "Customer called to cancel.")
    ui.page.locator("dialog[open] button[type=submit]").click()
    _panel_status(ui, "cancelled")

    ui.page.click(f"[data-testid=baygrid] [data-booking='{no_show['id']}']")
    _panel_status(ui, "requested")
    panel.get_by_role("button", name="Confirm").click()
    _panel_status(ui, "confirmed")
    _arrive(ui, no_show["id"], minutes_in=20)
    panel.get_by_role("button", name="No-show…").click()
    ui.page.get_by_role("button", name="Mark no-show").click()
    _panel_status(ui, "no_show")
    assert center.call("GET", f"/api/bookings/{to_cancel['id']}")["status"] == "cancelled"
    assert center.call("GET", f"/api/bookings/{no_show['id']}")["status"] == "no_show"
    ui.assert_clean()


def test_a_findings_evidence_and_its_chart(ui: Ui, world: dict[str, Any]) -> None:
    ui.sign_in("customer")
    ui.page.goto(f"/vehicles/{world['vehicles'][0]}")
    finding = ui.page.locator("[data-testid=finding]").first
    finding.wait_for()
    assert "battery" in finding.locator("h3").inner_text().lower()
    assert "Recommended" in finding.inner_text()
    evidence = finding.locator("details")
    assert evidence.locator("table tbody tr").count() >= 3
    assert "12.2 V" in evidence.inner_text()  # the high-risk threshold, with its unit
    chart = ui.page.locator("[data-testid='chart-Battery voltage']")
    chart.locator("canvas").wait_for()
    assert "High risk (12.2 V)" in chart.inner_text()  # the threshold drawn on the chart
    chart.locator("summary").click()
    assert chart.locator("table tbody tr").count() >= 10
    ui.page.get_by_role("button", name="30 days").click()
    ui.page.wait_for_url(re.compile(r"range=30d"))
    ui.settle()
    ui.screenshot("finding-and-chart")
    ui.assert_clean()


def test_offline_booking_waits_in_the_queue_and_is_sent_when_the_network_returns(
    ui: Ui, stack: Any, world: dict[str, Any]
) -> None:
    customer = Api(stack.gateway_url, "customer")
    before = {b["id"] for b in customer.call("GET", "/api/bookings?limit=100")["items"]}
    ui.sign_in("customer")
    ui.page.goto("/bookings")
    form = ui.page.locator("[data-testid=new-booking]")
    # The form settles (vehicle, center, first service, its free times) before it is changed.
    ui.page.wait_for_selector("#nb-slot option[value]:not([value=''])", state="attached")
    # A service's name and duration ("Oil and filter change (60 min)") get the form's width.
    service, vehicle = (
        form.locator(f"#{field}").bounding_box() for field in ("nb-service", "nb-vehicle")
    )
    assert service and vehicle and service["width"] == vehicle["width"]
    form.locator("#nb-service").select_option("brake_inspection")
    expect(form.locator("#nb-slot")).to_be_enabled()
    ui.page.wait_for_selector("#nb-slot option[value]:not([value=''])", state="attached")
    expect(form.locator("#nb-service")).to_have_value("brake_inspection")
    form.locator("#nb-notes").fill("Booked while offline")
    ui.page.context.set_offline(True)
    form.get_by_role("button", name="Book").click()
    queue = ui.page.locator("[data-testid=queue]")
    queue.wait_for()
    assert "1 change waiting to be sent" in queue.inner_text()
    ui.page.wait_for_selector(".toast >> text=Offline")
    ui.screenshot("queued-offline")
    after_offline = {b["id"] for b in customer.call("GET", "/api/bookings?limit=100")["items"]}
    assert after_offline == before, "nothing reached the server while offline"

    ui.page.context.set_offline(False)
    queue.wait_for(state="detached")
    ui.page.wait_for_selector(".toast >> text=Sent:")
    created = [
        b for b in customer.call("GET", "/api/bookings?limit=100")["items"] if b["id"] not in before
    ]
    assert [(b["service_type"], b["notes"]) for b in created] == [
        ("brake_inspection", "Booked while offline")
    ]
    ui.page.wait_for_selector(f"tr[data-booking='{created[0]['id']}']")
    ui.screenshot("replayed")
    ui.assert_clean()


def test_session_expiry_keeps_the_page_and_its_filters(ui: Ui, stack: Any) -> None:
    ui.sign_in("admin")
    ui.page.goto("/bookings?status=requested")
    ui.page.wait_for_selector("h1.page-title:text-is('Bookings')")
    ui.settle()
    # The session ends elsewhere (e.g. "sign out everywhere" on another device).
    Api(stack.gateway_url, "admin").call("POST", "/api/auth/logout-all", expect=204)
    ui.page.click("text=Refresh now")
    dialog = ui.page.locator("dialog[aria-labelledby=session-title]")
    dialog.wait_for()
    ui.screenshot("session-ended")
    assert ui.page.url.endswith("/bookings?status=requested")
    dialog.locator("#signin-password").fill(__import__("dashboard_kit").password())
    dialog.get_by_role("button", name="Sign in and continue").click()
    dialog.wait_for(state="hidden")
    assert ui.page.url.endswith("/bookings?status=requested")
    assert ui.page.locator("#bookings-status").input_value() == "requested"
    # The refused calls before the new sign-in are the point of this test.
    ui.failed_calls = [c for c in ui.failed_calls if not c.startswith("401 ")]
    ui.console_errors = [e for e in ui.console_errors if "401" not in e]
    ui.assert_clean()


# Headless Chromium's tab is always "visible"; the page is told otherwise, as a browser would.
SET_VISIBILITY = """(state) => {
  Object.defineProperty(document, 'visibilityState', {value: state, configurable: true});
  document.dispatchEvent(new Event('visibilitychange'));
}"""


def test_auto_refresh_keeps_the_page_and_pauses_while_hidden(ui: Ui, world: dict[str, Any]) -> None:
    ui.sign_in("admin")
    ui.page.evaluate("localStorage.setItem('pmi.refreshIntervalMs', '1000')")
    ui.page.goto("/bookings?status=requested")
    table = ui.page.locator("[data-testid=bookings-table]")
    table.wait_for()
    calls: list[str] = []
    ui.page.on("request", lambda r: calls.append(r.url) if "/api/bookings?" in r.url else None)
    ui.page.evaluate("document.querySelector('[data-testid=bookings-table]').dataset.mark = 'kept'")
    ui.page.wait_for_timeout(3500)
    assert len(calls) >= 2, "refreshed about every second"
    assert table.get_attribute("data-mark") == "kept", "the table was updated, not re-created"
    assert ui.page.locator("#bookings-status").input_value() == "requested"
    assert re.match(r"Updated \d+ s ago", ui.page.inner_text("[data-testid=updated]"))

    ui.page.evaluate(SET_VISIBILITY, "hidden")
    ui.page.wait_for_selector("text=auto-refresh paused")
    ui.page.wait_for_timeout(300)
    calls.clear()
    ui.page.wait_for_timeout(3000)
    assert calls == [], "no refresh while the tab is hidden"
    ui.page.evaluate(SET_VISIBILITY, "visible")
    ui.page.wait_for_timeout(1500)
    assert calls, "catches up as soon as the tab shows again"
    ui.page.evaluate("localStorage.removeItem('pmi.refreshIntervalMs')")
    ui.assert_clean()


def test_day_view_asks_for_the_centers_local_day_and_shows_what_vehicles_need(
    ui: Ui, stack: Any, world: dict[str, Any]
) -> None:
    """A booking just after midnight, center time, is on that local day (a UTC date would put
    it on the day before); the page asks the API for the local day itself. The center's
    staff also see what the vehicles it may see need, from their alerts."""
    from shared.firestore import get_client

    customer = Api(stack.gateway_url, "customer")
    center = Api(stack.gateway_url, "service_center")
    day = center.call("GET", f"/api/bookings/{world['bookings'][0]}")["start"][:10]
    booking = _book(customer, world, "tyre_rotation", 1, day)
    # Moved (as a late-night slot would be) to 00:30 of the next day in Berlin.
    next_day = (datetime.fromisoformat(day) + timedelta(days=1)).date()
    start = datetime.combine(next_day, datetime.min.time(), ZoneInfo("Europe/Berlin"))
    start += timedelta(minutes=30)
    get_client().collection("bookings").document(booking["id"]).update(
        {"start": start.astimezone(UTC), "end": (start + timedelta(minutes=30)).astimezone(UTC)}
    )
    # An open alert on the Golf, which the center sees while it is booked there (for a
    # service no other test books for the Golf, so it is not "already booked").
    vehicle = (
        get_client().collection("vehicles").document(world["vehicles"][1]).get().to_dict() or {}
    )
    get_client().collection("alerts").document(f"{world['vehicles'][1]}_battery.weak").set(
        {
            "vehicle_id": world["vehicles"][1],
            "owner_id": vehicle["owner_id"],
            "status": "open",
            "severity": "critical",
            "service_code": "battery_check",
            "title": "Battery weak at rest",
            "rule_id": "battery.weak",
            "opened_at": datetime.now(UTC),
            "center_ids": vehicle["center_ids"],
            "center_access": vehicle["center_access"],
        }
    )
    asked: list[str] = []
    ui.sign_in("service_center")
    ui.settle()  # the overview's own listing (a week of UTC days) is not the day view's
    ui.page.on("request", lambda r: asked.append(r.url) if "/api/bookings?" in r.url else None)
    ui.page.goto(f"/bookings/day?date={next_day}")
    ui.page.wait_for_selector(f"[data-testid=baygrid] [data-booking='{booking['id']}']")
    assert any(f"date={next_day}" in url for url in asked), asked
    assert not any("from=" in url for url in asked), asked
    suggestions = ui.page.locator("[data-testid=center-suggestions]")
    expect(suggestions).to_contain_text("12 V battery check for Volkswagen Golf")
    expect(suggestions).to_contain_text("Next free:")
    ui.screenshot("local-day-and-suggestions")
    ui.page.goto(f"/bookings/day?date={day}")
    ui.page.wait_for_selector("[data-testid=baygrid]")
    ui.settle()
    assert ui.page.locator(f"[data-booking='{booking['id']}']").count() == 0
    ui.assert_clean()


# What the test sends through the gateway before it opens Analytics: per function, a path
# and the route template the monitoring statistics file it under.
TRAFFIC = {
    "auth": ("/api/auth/me", "/me"),
    "bookings": ("/api/bookings/{booking}", "/<booking_id>"),
    "monitoring": ("/api/monitoring/health/live", "/health/live"),
    "vehicles": ("/api/vehicles/{vehicle}", "/<vehicle_id>"),
}
REQUESTS_PER_FUNCTION = 6
# The stack's functions flush their figures every second (tests/conftest.py, `stack`).
FLUSH_TIMEOUT_SECONDS = 20.0


def _js_number(value: Any) -> str:
    """A number as the chart tables print it (JavaScript's String(n)); null as "–"."""
    if value is None:
        return "–"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _shown(value: float | None, digits: int = 0) -> str:
    """format.js's number(): en-GB grouping, half away from zero (Intl rounds so)."""
    if value is None:
        return "–"
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return f"{rounded:,}"


def _percent(share: float) -> str:
    """format.js's percent()."""
    value = 100 * share
    digits = 0 if float(value).is_integer() else 1 if value >= 10 else 2
    return f"{_shown(value, digits)} %"


def _requests_since(api: Api, function: str, route: str, since: int) -> int:
    """Requests the statistics hold for one route of one function from minute ``since`` on."""
    report = api.call(
        "GET",
        f"/api/monitoring/stats/performance?window=5m&function={function}&route={quote(route)}",
    )
    figures = report["functions"].get(function)
    if figures is None:
        return 0
    series = figures["series"]
    return sum(n for t, n in zip(series["t"], series["requests"], strict=True) if t >= since)


def _send_traffic(stack: Any, world: dict[str, Any]) -> None:
    """REQUESTS_PER_FUNCTION real requests to each function through the gateway, then waits
    until every function has flushed them to Firestore (the statistics count them)."""
    admin = Api(stack.gateway_url, "admin")
    since = int(time.time() // 60) * 60
    for path, _ in TRAFFIC.values():
        target = path.format(booking=world["bookings"][0], vehicle=world["vehicles"][0])
        for _ in range(REQUESTS_PER_FUNCTION):
            admin.call("GET", target)
    deadline = time.monotonic() + FLUSH_TIMEOUT_SECONDS
    pending = dict(TRAFFIC)
    while pending and time.monotonic() < deadline:
        for name, (_, route) in list(pending.items()):
            if _requests_since(admin, name, route, since) >= REQUESTS_PER_FUNCTION:
                del pending[name]
        time.sleep(0.25)
    assert not pending, f"not flushed within {FLUSH_TIMEOUT_SECONDS} s: {sorted(pending)}"


def _table_rows(chart: Any) -> list[list[str]]:
    """A chart's data table (behind its disclosure), as text per cell."""
    chart.locator("summary").click()
    return [
        [cell.strip() for cell in row.locator("td").all_inner_texts()]
        for row in chart.locator(".chart-table tbody tr").all()
    ]


def test_analytics_charts_the_real_performance_and_database_figures(
    ui: Ui, stack: Any, world: dict[str, Any]
) -> None:
    """Real traffic, flushed by the functions, read by the real statistics routes: every
    chart of the Analytics page draws, and what it shows is the answer the page received."""
    _send_traffic(stack, world)
    with ui.page.expect_response(lambda r: "/api/monitoring/health/detailed" in r.url) as got:
        ui.sign_in("viewer")
    health = got.value.json()
    assert got.value.status == 200 and health["performance"]["available"] is True
    assert health["performance"]["requests"] >= REQUESTS_PER_FUNCTION * len(TRAFFIC)
    card = ui.page.locator("[data-testid=health-card]")
    expect(card.locator(".badge")).to_have_attribute("data-status", health["status"])
    limits, recent = health["thresholds"], health["performance"]
    expect(card).to_contain_text(f"Requests (5 min){_shown(recent['requests'])}")
    expect(card).to_contain_text(f"(limit {_percent(limits['max_error_rate'])})")
    expect(card).to_contain_text(
        f"{_shown(recent['p95_ms'])} ms (limit {_shown(limits['max_p95_ms'])} ms)"
    )
    for reason in health["reasons"]:
        expect(card.locator(".health-reasons")).to_contain_text(reason)

    stats_calls = r".*/api/monitoring/stats/(performance\?window=5m|database)$"
    answers: dict[str, Any] = {}

    def keep(response: Any) -> None:
        if re.match(stats_calls, response.url):  # the first answer of each is on screen
            answers.setdefault(response.url.rsplit("/", 1)[-1].split("?")[0], response.json())

    ui.page.on("response", keep)
    ui.page.locator("nav.sidenav a", has_text="Analytics").click()
    panel = ui.page.locator("[data-testid=performance]")
    for title in ("Requests per minute", "p95 latency (ms)", "p50 latency (ms)", "Error rate"):
        panel.locator(f"[data-testid^='chart-{title}'] .uplot").wait_for()
    ui.page.locator("[data-testid='chart-Bookings per day'] .uplot").wait_for()
    ui.page.locator("[data-testid='chart-Open alerts by severity'] .uplot").wait_for()
    ui.settle()
    report, database = answers["performance"], answers["database"]

    # The figures the page was given include the traffic sent above, per function and route.
    assert sorted(report["functions"]) == sorted(TRAFFIC)
    for name, (_, route) in TRAFFIC.items():
        assert report["functions"][name]["routes"][route]["requests"] >= REQUESTS_PER_FUNCTION
    # Each function's tile says what the answer says.
    tiles = panel.locator(".stat-tile")
    expect(tiles).to_have_count(len(report["functions"]))
    for name, figures in report["functions"].items():
        tile = panel.locator(f".stat-tile[data-function={name}]")
        latency = figures["latency_ms"]
        expect(tile.locator("[data-figure=requests]")).to_have_text(
            f"{_shown(figures['requests'])} requests, {_shown(figures['errors']['4xx'])} 4xx"
        )
        expect(tile.locator("[data-figure=latency]")).to_have_text(
            f"p50 {_shown(latency['p50'])} ms · p95 {_shown(latency['p95'])} ms"
        )
        expect(tile.locator("[data-figure=error-rate]")).to_have_text(
            f"{_percent(figures['error_rate'])} 5xx"
        )
    # Each chart's data, minute by minute and function by function, is the answer's series.
    names = sorted(report["functions"])
    columns = {
        "Requests per minute": "requests",
        "p95 latency (ms)": "p95_ms",
        "p50 latency (ms)": "p50_ms",
    }
    for title, column in columns.items():
        chart = panel.locator(f"[data-testid='chart-{title}']")
        expect(chart.locator(".u-legend")).to_contain_text(names[0])
        rows = _table_rows(chart)
        assert len(rows) == len(report["series"]["t"]) == 5
        for index, row in enumerate(rows):
            expected = [_js_number(report["functions"][n]["series"][column][index]) for n in names]
            assert row[1:] == expected, (title, index, row)
    error_rows = _table_rows(panel.locator("[data-testid^='chart-Error rate']"))
    for index, row in enumerate(error_rows):
        expected = []
        for name in names:
            series = report["functions"][name]["series"]
            served = series["requests"][index]
            share = round(100 * series["errors_5xx"][index] / served, 2) if served else None
            expected.append(_js_number(share))
        assert row[1:] == expected, ("error rate", index, row)

    # The exact counts of /stats/database, as bars.
    def bars(testid: str) -> dict[str, str]:
        items = ui.page.locator(f"[data-testid={testid}] .bars li").all()
        return {
            str(item.get_attribute("data-key")): item.locator(".bar-value").inner_text()
            for item in items
        }

    def counts(group: dict[str, Any]) -> dict[str, str]:
        return {key: str(figure["count"]) for key, figure in group.items()}

    assert bars("bookings-by-status") == counts(database["bookings_by_status"])
    assert bars("open-alerts-now") == counts(database["open_alerts_by_severity"])
    assert bars("users-by-role") == counts(database["users_by_role"])
    facts = ui.page.locator("[data-testid=platform-facts]")
    expect(facts).to_contain_text(
        f"New users, last 7 days{_shown(database['new_users_last_7_days']['count'])}"
    )
    total = database["collections"]["bookings"]["count"]
    expect(ui.page.locator("[data-testid=bookings-coverage]")).to_contain_text(
        f"of {_shown(total)} in all"
    )
    # The alerts history from the lists ends where the exact count is: nothing to explain.
    history = _table_rows(ui.page.locator("[data-testid='chart-Open alerts by severity']"))
    open_now = database["open_alerts_by_severity"]
    assert history[-1][1:] == [str(open_now["critical"]["count"]), str(open_now["high"]["count"])]
    expect(ui.page.locator("[data-testid=alerts-difference]")).to_have_count(0)

    # Another window: the same charts from the hour's answer, a point per minute.
    with ui.page.expect_response(lambda r: "stats/performance?window=1h" in r.url) as hour:
        panel.get_by_role("button", name="Last hour").click()
    assert hour.value.status == 200
    hourly = panel.locator("[data-testid='chart-Requests per minute'] .chart-table tbody tr")
    expect(hourly).to_have_count(60)
    ui.screenshot("analytics")
    ui.assert_clean()


def test_analytics_says_when_the_monitoring_statistics_are_not_available(
    ui: Ui, world: dict[str, Any]
) -> None:
    """A deployment whose monitoring function has no statistics routes answers them 404
    (stubbed here for those routes only): each panel says so, the rest of the page works."""
    ui.expect_failure(MONITORING_STATS)
    ui.page.route(
        re.compile(r".*/api/monitoring/stats/.*"),
        lambda route: route.fulfill(
            status=404,
            json={
                "error": {
                    "code": "not_found",
                    "message": "No route matches this path.",
                    "request_id": "0" * 32,
                    "details": [],
                }
            },
        ),
    )
    ui.sign_in("admin")
    ui.page.goto("/analytics")
    ui.page.locator("[data-testid='chart-Bookings per day'] .uplot").wait_for()
    ui.page.locator("[data-testid='chart-Open alerts by severity'] .uplot").wait_for()
    performance = ui.page.locator("[data-testid=performance-unavailable]")
    expect(performance).to_contain_text("not available on this deployment")
    expect(ui.page.locator("[data-testid=database-unavailable]")).to_contain_text(
        "not available on this deployment"
    )
    expect(ui.page.locator("[data-testid=performance] .uplot")).to_have_count(0)
    expect(ui.page.get_by_role("button", name="Last hour")).to_have_count(0)
    assert ui.page.locator(".banner-error").count() == 0
    ui.screenshot("analytics-unavailable")
    ui.assert_clean()


def test_day_view_is_usable_on_a_tablet(browser: Any, stack: Any, world: dict[str, Any]) -> None:
    ui = open_ui(browser, stack.gateway_url, "tablet-day-view", viewport=TABLET)
    try:
        ui.sign_in("service_center")
        ui.page.goto("/bookings/day")
        ui.page.wait_for_selector("[data-testid=baygrid]")
        ui.settle()
        # Navigation becomes a bar, and nothing but the bay grid scrolls sideways.
        assert ui.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        ui.screenshot("tablet")
        ui.assert_clean()
    finally:
        ui.page.context.close()


def test_the_booking_form_keeps_its_controls_in_line_on_a_phone(
    browser: Any, stack: Any, world: dict[str, Any]
) -> None:
    ui = open_ui(browser, stack.gateway_url, "phone-booking-form", viewport=PHONE)
    try:
        ui.sign_in("customer")
        ui.page.goto("/bookings")
        ui.page.wait_for_selector("#nb-slot option[value]:not([value=''])", state="attached")
        # "Time (Europe/Berlin)" wraps onto two lines here; the day and time controls still
        # stand side by side at the same height.
        day, time_ = (
            ui.page.locator(f"#{field}").bounding_box() for field in ("nb-date", "nb-slot")
        )
        assert day and time_ and day["y"] == time_["y"] and day["x"] < time_["x"]
        assert ui.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        ui.screenshot("phone")
        ui.assert_clean()
    finally:
        ui.page.context.close()


def test_first_load_javascript_is_within_the_budget(browser: Any, stack: Any, world: Any) -> None:
    """Gzipped JavaScript of the sign-in page, then of the signed-in overview (≤ 150 KB)."""
    ui = open_ui(browser, stack.gateway_url, "first-load")
    scripts: dict[str, bytes] = {}

    def on_response(response: Any) -> None:
        if response.request.resource_type == "script" and response.ok:
            scripts[response.url] = response.body()

    ui.page.on("response", on_response)
    try:
        ui.page.goto("/")
        ui.page.wait_for_selector("#signin-email")
        sign_in_bytes = sum(len(gzip.compress(body, 6)) for body in scripts.values())
        ui.sign_in("admin")
        ui.settle()
        overview_bytes = sum(len(gzip.compress(body, 6)) for body in scripts.values())
        report = {
            "sign_in_js_gzip_bytes": sign_in_bytes,
            "overview_js_gzip_bytes": overview_bytes,
            "scripts": sorted(url.split("/", 3)[-1] for url in scripts),
        }
        (ROOT / ".artifacts").mkdir(exist_ok=True)
        (ROOT / ".artifacts" / "first-load.json").write_text(json.dumps(report, indent=2))
        assert not any("uplot" in url for url in scripts), "the chart library loads on demand"
        assert sign_in_bytes <= FIRST_LOAD_BUDGET_BYTES
        assert overview_bytes <= FIRST_LOAD_BUDGET_BYTES
        ui.assert_clean()
    finally:
        ui.page.context.close()
