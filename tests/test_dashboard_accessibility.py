"""The dashboard's accessibility, checked in a real browser (Debian's Chromium under
Playwright) against the whole local stack: an axe-core audit (WCAG 2 A/AA rules) of every
page each role may see, the keyboard path through sign-in, navigation and a confirmation
dialog with visible focus, and no sideways scrolling of the page at 1280 px or on a tablet.

axe-core (npm, pinned in package.json) is injected by the test only; Hosting never serves
it, so the Content-Security-Policy stays as deployed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dashboard_kit import (  # the fixtures by name: browser, world
    PAGES_BY_ROLE,
    ROOT,
    TABLET,
    Ui,
    browser_fixture,  # noqa: F401
    email_of,
    open_ui,
    password,
    ui_session,
    world_fixture,  # noqa: F401
)
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# The WCAG 2.0 and 2.1 level A and AA rules (color-contrast, label, button-name, link-name,
# the aria-* rules, ...); best-practice rules are left out.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = {"serious", "critical"}
PAGES = PAGES_BY_ROLE
WIDE = {"width": 1280, "height": 800}
# Tab presses allowed to reach a control before the test gives up (the users table has a
# handful of buttons per row).
MAX_TABS = 80


@pytest.fixture
def ui(
    browser: Any, stack: Any, world: dict[str, Any], request: pytest.FixtureRequest
) -> Iterator[Ui]:
    yield from ui_session(browser, stack, request, viewport=WIDE)


def _serious_violations(ui: Ui) -> list[str]:
    """Runs axe-core on the page as it is now; one line per serious or critical violation."""
    page = ui.page
    if not page.evaluate("typeof window.axe === 'object'"):
        # add_script_tag(path=...) would insert an inline <script>, which the page's CSP
        # (script-src 'self') refuses; evaluating the file's text through the DevTools
        # protocol is not subject to the CSP, and nothing about the page changes.
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    results: dict[str, Any] = page.evaluate(
        "tags => axe.run(document,"
        " {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_TAGS,
    )
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} -> "
        + "; ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        for violation in results["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]


def _open_page(ui: Ui, label: str) -> None:
    ui.page.locator("nav.sidenav a", has_text=label).click()
    ui.page.wait_for_selector(f"h1.page-title:text-is('{label}')")
    ui.settle()


def _has_no_horizontal_overflow(ui: Ui) -> tuple[bool, int, int]:
    width, client = ui.page.evaluate(
        "() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]"
    )
    return width <= client, width, client


def _focused(ui: Ui) -> dict[str, Any]:
    """What has the keyboard focus: its id, text, whether it sits in an open dialog, and
    the outline and box-shadow that show it."""
    focused: dict[str, Any] = ui.page.evaluate(
        """() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            return {
                id: el.id, tag: el.tagName.toLowerCase(), text: (el.textContent || '').trim(),
                inDialog: el.closest('dialog[open]') !== null,
                outline: style.outlineStyle === 'none'
                    ? 'none' : `${style.outlineStyle} ${style.outlineWidth}`,
                shadow: style.boxShadow,
            };
        }"""
    )
    return focused


def _tab_to(ui: Ui, matches: Any, what: str) -> dict[str, Any]:
    for _ in range(MAX_TABS):
        ui.page.keyboard.press("Tab")
        focused = _focused(ui)
        if matches(focused):
            return focused
    raise AssertionError(f"{MAX_TABS} Tab presses never reached {what}")


def _focus_is_visible(focused: dict[str, Any]) -> bool:
    return focused["outline"] != "none" or focused["shadow"] not in ("", "none")


def test_sign_in_page_has_no_serious_accessibility_violations(ui: Ui) -> None:
    ui.page.goto("/")
    ui.page.wait_for_selector("#signin-email")
    assert _serious_violations(ui) == []
    ui.assert_clean()


@pytest.mark.parametrize("role", list(PAGES))
def test_every_page_a_role_may_see_has_no_serious_accessibility_violations(
    ui: Ui, role: str
) -> None:
    ui.sign_in(role)
    found: dict[str, list[str]] = {}
    for label in PAGES[role]:
        _open_page(ui, label)
        found[label] = _serious_violations(ui)
    # The vehicle detail: findings, the telemetry chart and its table.
    _open_page(ui, "Vehicles")
    ui.page.locator("table a", has_text="Honda").click()
    ui.page.wait_for_selector("text=Findings")
    ui.settle()
    ui.page.wait_for_selector(".chart .uplot")
    found["Vehicle"] = _serious_violations(ui)
    problems = {page: lines for page, lines in found.items() if lines}
    assert problems == {}, "\n".join(
        f"{page}:\n  " + "\n  ".join(lines) for page, lines in problems.items()
    )
    ui.assert_clean()


def test_open_confirmation_dialog_has_no_serious_accessibility_violations(ui: Ui) -> None:
    ui.sign_in("admin")
    _open_page(ui, "Users")
    ui.page.locator("[data-testid=users-table] button", has_text="Change role…").first.click()
    ui.page.wait_for_selector("dialog[open] #role-new")
    assert _serious_violations(ui) == []
    ui.assert_clean()


def test_keyboard_alone_signs_in_opens_a_page_and_a_dialog_with_visible_focus(ui: Ui) -> None:
    page = ui.page
    page.goto("/")
    page.wait_for_selector("#signin-email")
    _tab_to(ui, lambda f: f["id"] == "signin-email", "the email field")
    page.keyboard.type(email_of("admin"))
    _tab_to(ui, lambda f: f["id"] == "signin-password", "the password field")
    page.keyboard.type(password())
    page.keyboard.press("Enter")
    page.wait_for_selector("nav.sidenav")

    link = _tab_to(ui, lambda f: f["tag"] == "a" and f["text"] == "Users", "the Users link")
    assert _focus_is_visible(link), link
    page.keyboard.press("Enter")
    page.wait_for_selector("h1.page-title:text-is('Users')")
    ui.settle()
    expect(page.locator("[data-testid=users-table] tbody tr").first).to_be_visible()

    opener = _tab_to(ui, lambda f: f["text"] == "Deactivate…", "a Deactivate… button")
    assert _focus_is_visible(opener), opener
    page.evaluate("() => document.activeElement.setAttribute('data-opener', 'yes')")
    page.keyboard.press("Enter")
    page.wait_for_selector("dialog[open]")
    inside = _focused(ui)
    assert inside["inDialog"], f"focus stayed outside the dialog: {inside}"
    assert _focus_is_visible(inside), inside
    # Where focus is at the moment the dialog leaves the page (a mutation observer's callback
    # runs right after that change): already back on the opener, not on <body> for a frame
    # until some later clean-up puts it back, which a screen reader announces as a jump.
    page.evaluate(
        """() => {
            const dialog = document.querySelector('dialog[open]');
            window.__focusWhenDialogLeft = null;
            new MutationObserver((changes, observer) => {
                if (dialog.isConnected) return;
                const now = document.activeElement;
                window.__focusWhenDialogLeft = now.getAttribute('data-opener') ?? now.tagName;
                observer.disconnect();
            }).observe(document.body, {childList: true, subtree: true});
        }"""
    )
    page.keyboard.press("Escape")
    expect(page.locator("dialog[open]")).to_have_count(0)
    assert page.evaluate("() => document.activeElement.getAttribute('data-opener')") == "yes", (
        f"focus did not return to the button that opened the dialog: {_focused(ui)}"
    )
    assert page.evaluate("() => window.__focusWhenDialogLeft") == "yes", (
        "focus was not on the opener when the dialog left the page"
    )
    # Escape cancelled: the user is still active.
    expect(page.locator("[data-opener=yes]")).to_have_text("Deactivate…")
    ui.assert_clean()


@pytest.mark.parametrize(
    "viewport",
    [pytest.param(WIDE, id="1280px"), pytest.param(TABLET, id="tablet")],
)
@pytest.mark.parametrize("role", ["admin", "service_center"])
def test_no_page_scrolls_sideways(
    browser: Any, stack: Any, world: dict[str, Any], role: str, viewport: dict[str, int]
) -> None:
    ui = open_ui(browser, stack.gateway_url, f"overflow-{role}-{viewport['width']}", viewport)
    try:
        ui.sign_in(role)
        overflowing = {}
        for label in PAGES[role]:
            _open_page(ui, label)
            fits, width, client = _has_no_horizontal_overflow(ui)
            if not fits:
                overflowing[label] = f"scrollWidth {width} > clientWidth {client}"
                ui.screenshot(f"overflow-{label}")
        assert overflowing == {}
        ui.assert_clean()
    finally:
        ui.page.context.close()
