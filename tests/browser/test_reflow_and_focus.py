"""Layout evidence for WCAG 2.1 AA in a real browser, beyond what axe-core checks:

- 1.4.10 Reflow: at 320 CSS pixels wide nothing scrolls sideways (`scrollWidth <= clientWidth`); data
  tables may scroll inside their own focusable region, which the criterion allows.
- 1.4.4 Resize text: with the root font size at 200 % the text really grows, the page still does not
  scroll sideways, and no control is cut off (each lies inside the window and shows its whole label).
- 2.4.7 Focus visible: every element reached with Tab shows an outline (or the halo) of at least 2 px.

The public pages, the police's new-referral form (both steps), a report with charts and the auditor's
proof page are checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.pages import sign_in
from tests.browser.support import LiveServer, keep_screenshot

pytestmark = pytest.mark.browser

PUBLIC_PAGES = [
    "/",
    "/anmelden",
    "/barrierefreiheit",
    "/leichte-sprache",
    "/beschwerde",
    "/beschwerde/status",
]
NARROW = {"width": 320, "height": 640}
WIDE = {"width": 1280, "height": 900}

# Elements sticking out of the window horizontally, outside any element that scrolls or clips on its
# own (a table region scrolls sideways by design); visually hidden texts are no content to see.
_OVERFLOWING = """() => {
    const width = document.documentElement.clientWidth;
    const clipped = (el) => {
        for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
            if (getComputedStyle(p).overflowX !== "visible") return true;
        }
        return false;
    };
    const found = [];
    for (const el of document.body.querySelectorAll("*")) {
        if (el.closest(".visually-hidden, .skip-link, [hidden]")) continue;
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue;
        if ((r.right > width + 1 || r.left < -1) && !clipped(el)) {
            found.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${el.className} ` +
                       `[${Math.round(r.left)}, ${Math.round(r.right)}] of ${width}`);
        }
    }
    return found.slice(0, 10);
}"""

# Controls cut off: outside the window, or their own content wider or taller than their box.
_CUT_CONTROLS = """() => {
    const width = document.documentElement.clientWidth;
    const found = [];
    const controls = document.querySelectorAll(
        "main a, main button, main input:not([type=hidden]), main select, main textarea, main label, " +
        "header a, header button, footer a");
    for (const el of controls) {
        if (el.closest(".visually-hidden, .skip-link, [hidden], .table-wrap")) continue;
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue;
        const name = `${el.tagName.toLowerCase()} "${(el.textContent || el.name || "").trim().slice(0, 40)}"`;
        if (r.left < -1 || r.right > width + 1) {
            found.push(`${name} outside the window [${Math.round(r.left)}, ${Math.round(r.right)}]`);
        } else if (["BUTTON", "LABEL", "SELECT"].includes(el.tagName) &&
                   (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)) {
            found.push(`${name} clipped: ${el.scrollWidth}x${el.scrollHeight} content, ` +
                       `${el.clientWidth}x${el.clientHeight} box`);
        }
    }
    return found.slice(0, 10);
}"""

_ZOOM_TEXT = """(percent) => {
    document.documentElement.style.fontSize = percent + "%";
    return parseFloat(getComputedStyle(document.body).fontSize);
}"""

_FOCUS_RING = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2;
    const halo = s.boxShadow !== "none";
    return {
        name: el.tagName.toLowerCase() + " " + (el.textContent || el.name || el.id || "").trim().slice(0, 40),
        visible: (outline || halo) && r.width > 0 && r.height > 0,
        inView: r.bottom > 0 && r.top < window.innerHeight && r.right > 0 && r.left < window.innerWidth,
        key: el.outerHTML.slice(0, 120),
    };
}"""


def _page_width(page: Any) -> tuple[int, int]:
    width: tuple[int, int] = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    return width


def assert_reflows(page: Any, name: str) -> None:
    """At the current (narrow) viewport: no horizontal scrolling, no content sticking out."""
    keep_screenshot(page, f"reflow-{name}")
    scroll_width, client_width = _page_width(page)
    assert scroll_width <= client_width, (name, scroll_width, client_width, page.evaluate(_OVERFLOWING))
    assert page.evaluate(_OVERFLOWING) == [], name


def assert_text_zooms(page: Any, name: str) -> None:
    """Root font size 200 %: the text doubles, nothing scrolls sideways, no control is cut off."""
    before = page.evaluate(_ZOOM_TEXT, 100)
    after = page.evaluate(_ZOOM_TEXT, 200)
    try:
        assert after == pytest.approx(before * 2), (name, before, after)  # no fixed font sizes
        keep_screenshot(page, f"zoom-{name}")
        scroll_width, client_width = _page_width(page)
        assert scroll_width <= client_width, (name, scroll_width, client_width, page.evaluate(_OVERFLOWING))
        assert page.evaluate(_CUT_CONTROLS) == [], name
    finally:
        page.evaluate(_ZOOM_TEXT, 100)


def assert_focus_visible(page: Any, name: str, *, stops: int = 40) -> int:
    """Tab through the page from the top: every focused element shows its focus and is scrolled into
    view. Returns how many distinct elements took the focus."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    seen: set[str] = set()
    for _ in range(stops):
        page.keyboard.press("Tab")
        ring = page.evaluate(_FOCUS_RING)
        if ring is None:
            break
        if ring["key"] in seen:  # wrapped around
            break
        seen.add(ring["key"])
        assert ring["visible"], f"{name}: no visible focus on {ring['name']}"
        assert ring["inView"], f"{name}: focused {ring['name']} is off screen"
    assert len(seen) >= 3, f"{name}: the keyboard reached only {len(seen)} elements"
    return len(seen)


def check_page(page: Any, name: str, *, on_narrow: Callable[[], None] | None = None) -> None:
    """Reflow at 320 px, then text at 200 % and focus at the desktop width, for the page now open."""
    page.set_viewport_size(NARROW)
    assert_reflows(page, name)
    if on_narrow is not None:
        on_narrow()
    page.set_viewport_size(WIDE)
    assert_text_zooms(page, name)
    assert_focus_visible(page, name)


def test_public_pages_reflow_zoom_and_show_the_focus(page: Any, server: LiveServer) -> None:
    for path in PUBLIC_PAGES:
        page.goto(server.url(path))
        check_page(page, f"public{path}")
    # The same in English, where words are often longer or shorter.
    page.get_by_role("link", name="English").click()
    page.goto(server.url("/beschwerde"))
    assert page.get_attribute("html", "lang") == "en"
    check_page(page, "public-en-complaint-form")


def test_the_police_new_referral_form_reflows_zooms_and_shows_the_focus(
    page: Any, server: LiveServer
) -> None:
    sign_in(page, server, "officer.dresden")
    page.goto(server.url("/polizei/vermittlungen/neu"))
    check_page(page, "police-referral-consent")
    # With the error summary and field errors shown.
    page.get_by_role("button", name="Weiter zu den Angaben").click()
    expect(page.get_by_role("alert")).to_be_visible()
    check_page(page, "police-referral-consent-errors")
    page.get_by_label("die betroffene Person selbst").check()
    page.get_by_label("schriftlich").check()
    page.get_by_label("Die Einwilligung umfasst die Übermittlung").check()
    page.get_by_role("button", name="Weiter zu den Angaben").click()
    page.get_by_label("Postleitzahl").wait_for()
    check_page(page, "police-referral-details")


def test_report_with_charts_and_proof_page_reflow(page: Any, server: LiveServer) -> None:
    sign_in(page, server, "auditor.sachsen")
    page.goto(server.url("/berichte/beschwerden"))
    assert page.locator(".chart svg").count() >= 1

    def charts_fit() -> None:
        widths = page.evaluate(
            "() => [...document.querySelectorAll('.chart svg')].map(s => s.getBoundingClientRect().right)"
        )
        client_width = _page_width(page)[1]
        assert all(right <= client_width for right in widths), widths
        keep_screenshot(page.locator(".chart").nth(1), "chart-narrow")

    check_page(page, "report-complaints-annual", on_narrow=charts_fit)
    server.cli("audit", "checkpoint")
    page.goto(server.url("/revision/nachweis?position=0"))
    expect(page.get_by_text("Der Nachweis ist gültig.")).to_be_visible()
    check_page(page, "audit-proof")
