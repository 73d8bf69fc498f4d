"""The dashboard's designed states in a real browser against the whole local stack: errors
shown with the envelope's message and request id, empty and loading states, auto-refresh
that keeps scroll, loaded pages and selection, the Users filters and pagination, and the
vehicle page's coolant and odometer charts, maintenance due and service history."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dashboard_kit import (  # the fixtures by name: browser, ui, world
    Api,
    Ui,
    book_free_slot,
    browser_fixture,  # noqa: F401
    email_of,
    open_ui,
    ui_fixture,  # noqa: F401
    world_fixture,  # noqa: F401
)
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

# hosting/app/pages/users.js asks for this many users a page.
USERS_PAGE_SIZE = 50
BULK_VIEWERS = 52  # with the demo viewer: 53 viewers, a second page of three
BULK_DEACTIVATED = 3
# The refresh period a browser may be given for tests (hosting/app/refresh.js, ≥ 1 s).
FAST_REFRESH = "localStorage.setItem('pmi.refreshIntervalMs', '1000')"
KNOWN_REQUEST_ID = "f" * 32


@pytest.fixture(scope="module")
def bulk_viewers(stack: Any, world: dict[str, Any]) -> dict[str, list[str]]:
    """BULK_VIEWERS viewer accounts (a cheap password hash: nobody signs in with them), the
    first BULK_DEACTIVATED deactivated by the admin through the API."""
    from identity import accounts

    admin = Api(stack.gateway_url, "admin")
    emails: list[str] = []
    deactivated: list[str] = []
    for index in range(BULK_VIEWERS):
        email = f"bulk-viewer-{index:02d}@example.test"
        user = accounts.create_account(
            email=email,
            password="a-long-test-password-1",
            full_name=f"Bulk Viewer {index:02d}",
            role="viewer",
            cost=4,
            enforce_policy=False,
        )
        emails.append(email)
        if index < BULK_DEACTIVATED:
            admin.call("PATCH", f"/api/auth/users/{user['id']}", {"is_active": False})
            deactivated.append(email)
    return {"all": emails, "deactivated": deactivated}


def _sign_in_as(ui: Ui, email: str, password: str) -> None:
    ui.page.goto("/")
    ui.page.fill("#signin-email", email)
    ui.page.fill("#signin-password", password)
    ui.page.click("form button[type=submit]")
    ui.page.wait_for_selector("nav.sidenav")


def _book(customer: Api, world: dict[str, Any], service: str, vehicle: int) -> Any:
    """A booking of ``service`` for the demo customer's vehicle, on the seeded booking's day."""
    day = customer.call("GET", f"/api/bookings/{world['bookings'][0]}")["start"][:10]
    return book_free_slot(customer, world, service, vehicle, day)


# --- errors ----------------------------------------------------------------------------------


def test_a_refused_action_shows_the_envelopes_message_and_request_id(
    ui: Ui, stack: Any, world: dict[str, Any]
) -> None:
    """The customer cancels while the center's page still shows the booking as requested:
    the center's Confirm is refused by the real API (409), and the page says why, with the
    request id of that very answer."""
    customer = Api(stack.gateway_url, "customer")
    booking = _book(customer, world, "diagnostics", 1)
    day = booking["start"][:10]
    ui.sign_in("service_center")
    ui.page.goto(f"/bookings/day?date={day}&booking={booking['id']}")
    panel = ui.page.locator("[data-testid=booking-panel][data-status=requested]")
    panel.wait_for()
    customer.call("POST", f"/api/bookings/{booking['id']}/cancel", {"reason": "Plans changed."})

    ui.expect_failure(rf"/api/bookings/{booking['id']}/confirm")
    with ui.page.expect_response(lambda r: r.url.endswith(f"/{booking['id']}/confirm")) as got:
        panel.get_by_role("button", name="Confirm").click()
    assert got.value.status == 409
    refusal = got.value.json()["error"]
    assert refusal["code"] == "illegal_transition"
    assert re.fullmatch(r"[0-9a-f]{32}", refusal["request_id"])
    assert got.value.headers["x-request-id"] == refusal["request_id"]
    banner = ui.page.locator("[data-testid=booking-panel] .banner-error")
    expect(banner).to_contain_text("Not done.")
    expect(banner).to_contain_text(refusal["message"])
    expect(banner.locator("code")).to_have_text(refusal["request_id"])
    ui.screenshot("refused")
    # Nothing else failed: the one refusal above, and the console line about it, are all.
    assert len(ui.failed_calls) == 1 and ui.failed_calls[0].startswith("409 POST ")
    ui.assert_clean()


def test_a_list_that_keeps_failing_shows_the_error_with_its_request_id_and_recovers_on_retry(
    ui: Ui, world: dict[str, Any]
) -> None:
    """The vehicles list answers 503 (stubbed: a database that is down) until it is fixed:
    the SDK retries, then the page shows the envelope's message and request id instead of
    an empty table, and "Try again" brings the list once the API answers again."""
    failing = {"on": True, "answered": 0}

    def vehicles_list(route: Any) -> None:
        if not failing["on"]:
            route.continue_()
            return
        failing["answered"] += 1
        route.fulfill(
            status=503,
            headers={"X-Request-ID": KNOWN_REQUEST_ID, "Retry-After": "0"},
            json={
                "error": {
                    "code": "unavailable",
                    "message": "The database is not reachable; try again shortly.",
                    "request_id": KNOWN_REQUEST_ID,
                    "details": [],
                }
            },
        )

    ui.sign_in("customer")
    ui.settle()
    ui.expect_failure(r"/api/vehicles/?\?")
    ui.page.route(re.compile(r".*/api/vehicles/?\?.*"), vehicles_list)
    ui.page.locator("nav.sidenav a", has_text="Vehicles").click()
    banner = ui.page.locator("main .banner-error")
    expect(banner).to_contain_text("The database is not reachable; try again shortly.")
    expect(banner.locator("code")).to_have_text(KNOWN_REQUEST_ID)
    assert failing["answered"] == 4, "the first try and three retries (hosting/sdk/retry.js)"
    expect(ui.page.locator("main table")).to_have_count(0)
    expect(ui.page.locator("main .empty")).to_have_count(0)  # not "No vehicles yet."
    ui.screenshot("list-failed")

    failing["on"] = False
    banner.get_by_role("button", name="Try again").click()
    expect(ui.page.locator("main table a", has_text="Honda")).to_be_visible()
    expect(banner).to_have_count(0)
    ui.assert_clean()


# --- empty and loading states ----------------------------------------------------------------


def test_a_customer_without_vehicles_or_bookings_sees_the_empty_states(
    ui: Ui, world: dict[str, Any]
) -> None:
    from identity import accounts

    email = "new-customer@example.test"
    password = "a-long-test-password-1"
    accounts.create_account(email=email, password=password, full_name="Nina New", role="customer")
    _sign_in_as(ui, email, password)
    ui.settle()
    expect(ui.page.locator("main .empty-title", has_text="No vehicles yet.")).to_be_visible()
    ui.screenshot("overview")

    ui.page.locator("nav.sidenav a", has_text="Vehicles").click()
    ui.page.wait_for_selector("h1.page-title:text-is('Vehicles')")
    ui.settle()
    expect(ui.page.locator("main .empty-title")).to_have_text(["No vehicles yet."])
    expect(ui.page.locator("main table")).to_have_count(0)
    ui.screenshot("vehicles")

    ui.page.locator("nav.sidenav a", has_text="Bookings").click()
    ui.page.wait_for_selector("h1.page-title:text-is('Bookings')")
    ui.settle()
    expect(ui.page.locator("main .empty-title", has_text="No bookings yet.")).to_be_visible()
    expect(
        ui.page.locator("main .empty-title", has_text="Register a vehicle first.")
    ).to_be_visible()
    expect(ui.page.locator("[data-testid=bookings-table]")).to_have_count(0)
    # A filter that matches nothing says so, rather than "no bookings" at all.
    ui.page.select_option("#bookings-status", "completed")
    expect(
        ui.page.locator("main .empty-title", has_text="No booking matches these filters.")
    ).to_be_visible()
    ui.screenshot("bookings")
    ui.assert_clean()


def test_a_slow_list_shows_the_loading_state_then_the_content(
    ui: Ui, world: dict[str, Any]
) -> None:
    """The vehicles list is held back (the request waits in the test) until the loading
    placeholder has been seen; released, the list replaces it."""
    held: list[Any] = []

    def hold_the_first(route: Any) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)

    ui.sign_in("customer")
    ui.settle()
    ui.page.route(re.compile(r".*/api/vehicles/?\?.*"), hold_the_first)
    ui.page.locator("nav.sidenav a", has_text="Vehicles").click()
    loading = ui.page.locator("main .loading[role=status]")
    expect(loading).to_be_visible()
    expect(loading).to_contain_text("Loading vehicles…")
    expect(ui.page.locator("main table")).to_have_count(0)
    assert len(held) == 1, "the list request is waiting"
    ui.screenshot("loading")

    held[0].continue_()
    expect(ui.page.locator("main table a", has_text="Honda")).to_be_visible()
    expect(loading).to_have_count(0)
    ui.assert_clean()


# --- auto-refresh ----------------------------------------------------------------------------


def test_auto_refresh_keeps_the_scroll_position_and_the_loaded_pages(
    ui: Ui, bulk_viewers: dict[str, list[str]]
) -> None:
    ui.sign_in("admin")
    ui.page.evaluate(FAST_REFRESH)
    ui.page.goto("/users?role=viewer")  # the timer reads its period when the app loads
    rows = ui.page.locator("[data-testid=users-table] tbody tr")
    expect(rows).to_have_count(USERS_PAGE_SIZE)
    ui.page.get_by_role("button", name="Load more").click()
    expect(rows).to_have_count(BULK_VIEWERS + 1)
    ui.page.evaluate("window.scrollTo(0, document.body.scrollHeight / 2)")
    scrolled = ui.page.evaluate("window.scrollY")
    assert scrolled > 500, "the list is long enough to scroll"

    # A refresh reloads both pages (the second with the first page's cursor).
    for _ in range(2):
        with ui.page.expect_response(lambda r: "/api/auth/users?" in r.url and "cursor=" in r.url):
            pass
    ui.page.wait_for_timeout(300)  # the answer is on screen
    assert ui.page.evaluate("window.scrollY") == scrolled
    expect(rows).to_have_count(BULK_VIEWERS + 1)
    assert ui.page.locator("#users-role").input_value() == "viewer"
    ui.page.evaluate("localStorage.removeItem('pmi.refreshIntervalMs')")
    ui.assert_clean()


def test_auto_refresh_keeps_the_selected_booking_and_the_scroll_position(
    browser: Any, stack: Any, world: dict[str, Any]
) -> None:
    # A short window, so that the day view scrolls.
    ui = open_ui(
        browser, stack.gateway_url, "refresh-keeps-selection", {"width": 1280, "height": 560}
    )
    try:
        booking = world["bookings"][0]
        day = Api(stack.gateway_url, "admin").call("GET", f"/api/bookings/{booking}")["start"][:10]
        ui.sign_in("service_center")
        ui.page.evaluate(FAST_REFRESH)
        ui.page.goto(f"/bookings/day?date={day}")
        block = ui.page.locator(f"[data-testid=baygrid] [data-booking='{booking}']")
        block.click()
        panel = ui.page.locator("[data-testid=booking-panel]")
        panel.wait_for()
        ui.page.evaluate("document.querySelector('[data-testid=booking-panel]').dataset.mark = 1")
        ui.page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        scrolled = ui.page.evaluate("window.scrollY")
        assert scrolled > 100, "the page is long enough to scroll"

        for _ in range(2):  # two refreshes after the selection
            with ui.page.expect_response(lambda r: "/api/bookings?" in r.url and day in r.url):
                pass
        ui.page.wait_for_timeout(300)
        assert ui.page.evaluate("window.scrollY") == scrolled
        expect(block).to_have_attribute("aria-pressed", "true")
        expect(panel).to_have_attribute("data-mark", "1")  # the same panel, not a new one
        assert f"booking={booking}" in ui.page.url
        ui.screenshot("after-refresh")
        ui.page.evaluate("localStorage.removeItem('pmi.refreshIntervalMs')")
        ui.assert_clean()
    finally:
        ui.page.context.close()


# --- users -----------------------------------------------------------------------------------


def test_users_role_and_status_filters_narrow_the_list_and_load_more_appends_the_next_page(
    ui: Ui, bulk_viewers: dict[str, list[str]]
) -> None:
    ui.sign_in("admin")
    ui.page.locator("nav.sidenav a", has_text="Users").click()
    rows = ui.page.locator("[data-testid=users-table] tbody tr")
    expect(rows).to_have_count(USERS_PAGE_SIZE)  # more users than a page

    ui.page.select_option("#users-role", "mechanic")
    expect(rows).to_have_count(1)
    expect(rows.locator(".role-badge")).to_have_text(["Mechanic"])
    expect(ui.page.get_by_role("button", name="Load more")).to_have_count(0)

    ui.page.select_option("#users-role", "viewer")
    expect(rows).to_have_count(USERS_PAGE_SIZE)
    first_page = [row.get_attribute("data-user") for row in rows.all()]
    assert set(rows.locator(".role-badge").all_inner_texts()) == {"Viewer"}
    expect(ui.page.locator(".load-more")).to_contain_text(f"{USERS_PAGE_SIZE} users shown")
    ui.page.get_by_role("button", name="Load more").click()
    expect(rows).to_have_count(BULK_VIEWERS + 1)
    shown = [row.get_attribute("data-user") for row in rows.all()]
    assert shown[:USERS_PAGE_SIZE] == first_page, "the next page is appended, the first kept"
    assert len(set(shown)) == len(shown)
    assert set(shown) == set(bulk_viewers["all"]) | {email_of("viewer")}
    expect(ui.page.get_by_role("button", name="Load more")).to_have_count(0)
    expect(ui.page.locator(".load-more")).to_contain_text(f"{BULK_VIEWERS + 1} users shown")
    ui.screenshot("viewers")

    ui.page.select_option("#users-status", "inactive")
    expect(rows).to_have_count(BULK_DEACTIVATED)
    assert sorted(r.get_attribute("data-user") or "" for r in rows.all()) == sorted(
        bulk_viewers["deactivated"]
    )
    expect(rows.locator("text=Deactivated")).to_have_count(BULK_DEACTIVATED)
    assert "role=viewer" in ui.page.url and "status=inactive" in ui.page.url

    # 50 active viewers: exactly one page, and the list knows there is no other.
    ui.page.select_option("#users-status", "active")
    expect(rows).to_have_count(BULK_VIEWERS + 1 - BULK_DEACTIVATED)
    expect(rows.locator("text=Deactivated")).to_have_count(0)
    expect(ui.page.get_by_role("button", name="Load more")).to_have_count(0)
    ui.assert_clean()


# --- the vehicle page ------------------------------------------------------------------------

COOLANT_C = [18.0, 62.5, 88.0, 91.0, 90.5, 21.0]
ODOMETER_KM = [18_520.0, 18_534.2, 18_551.8, 18_566.0, 18_580.4, 18_597.9]


def test_vehicle_page_charts_coolant_and_odometer_and_shows_maintenance_and_history(
    ui: Ui, stack: Any, world: dict[str, Any]
) -> None:
    """The Golf gets readings and a service record through the API; its page charts exactly
    those readings and lists the maintenance forecast the API computes and the record."""
    customer = Api(stack.gateway_url, "customer")
    vehicle = world["vehicles"][1]
    now = datetime.now(UTC).replace(microsecond=0)
    times = [now - timedelta(hours=6 * (len(COOLANT_C) - i)) for i in range(len(COOLANT_C))]
    readings = [
        {
            "timestamp": t.isoformat(),
            "odometer_km": km,
            "battery_voltage": 12.6 if coolant < 50 else 14.1,
            "engine_running": coolant >= 50,
            "coolant_temp_c": coolant,
            "dtc_codes": [],
        }
        for t, coolant, km in zip(times, COOLANT_C, ODOMETER_KM, strict=True)
    ]
    stored = customer.call(
        "POST", f"/api/vehicles/{vehicle}/telemetry", {"readings": readings}, expect=201
    )
    assert stored["accepted"] == len(readings)
    customer.call(
        "POST",
        f"/api/vehicles/{vehicle}/service-records",
        {
            "performed_at": (now - timedelta(days=2)).isoformat(),
            "mileage_km": 18_510,
            "service_codes": ["oil_change"],
            "work_done": "Oil and filter changed, 5W-30.",
            "cost": 129.5,
        },
        expect=201,
    )
    health = customer.call("GET", f"/api/vehicles/{vehicle}/health")
    assert health["maintenance"], "the API forecasts maintenance for the Golf"

    ui.sign_in("customer")
    ui.page.goto(f"/vehicles/{vehicle}")
    for title, values in (("Coolant temperature", COOLANT_C), ("Odometer", ODOMETER_KM)):
        chart = ui.page.locator(f"[data-testid='chart-{title}']")
        chart.locator(".uplot").wait_for()
        chart.locator("summary").click()
        table = chart.locator(".chart-table tbody tr")
        expect(table).to_have_count(len(readings))
        shown = [row.locator("td").nth(1).inner_text() for row in table.all()]
        assert shown == [str(int(v)) if v.is_integer() else str(v) for v in values], title
        first_time = table.first.locator("td").first.inner_text()
        assert first_time == times[0].strftime("%Y-%m-%d %H:%M UTC")
    ui.settle()

    maintenance = ui.page.locator("h2:text-is('Maintenance') + div table tbody tr")
    expect(maintenance).to_have_count(len(health["maintenance"]))
    names = maintenance.locator("th").all_inner_texts()
    assert sorted(names) == sorted(f["name"] for f in health["maintenance"])
    oil = next(f for f in health["maintenance"] if f["code"] == "oil_change")
    oil_row = maintenance.filter(has_text=oil["name"])
    expect(oil_row.locator(".badge")).to_have_attribute("class", re.compile(oil["urgency"]))
    if oil.get("due_km") is not None:
        expect(oil_row).to_contain_text(f"or at {oil['due_km']:,.0f} km")

    history = ui.page.locator(".history li")
    expect(history).to_have_count(1)
    expect(history).to_contain_text("18,510 km")
    expect(history).to_contain_text("Oil change")
    expect(history).to_contain_text("Oil and filter changed, 5W-30.")
    expect(history).to_contain_text("129.50")
    ui.screenshot("vehicle")
    ui.assert_clean()
