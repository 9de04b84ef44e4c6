"""Done-when: on a phone-sized screen, in French, Dutch, English and Arabic, a visitor
books a seat, a help appointment and a workshop place through the real pages (headless
Chromium against a real `epn serve` with the demo data), every booking page passes axe
(WCAG 2.1 A/AA) and nothing scrolls sideways. The same works with JavaScript off."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import EPN, LiveServer
from tests.test_browser import browser  # noqa: F401  (a fixture)
from tests.test_browser import MISSING, PHONE, assert_accessible, sideways_overflow

pytestmark = [pytest.mark.system, pytest.mark.skipif(MISSING is not None, reason=str(MISSING))]
LANGUAGES = ("fr", "nl", "en", "ar")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("booking-browser")
    data_dir = root / "data"
    subprocess.run([EPN, "demo", "--data", str(data_dir), "--no-serve"], check=True, capture_output=True, timeout=60)
    live = LiveServer(data_dir, root / "serve.log")
    yield live
    live.stop()


def phone(browser: Any, javascript: bool = True) -> Any:
    # axe is injected as a script, which the app's CSP forbids: bypass it in this context.
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="fr-BE",
                                  bypass_csp=True, java_script_enabled=javascript)
    context.set_default_timeout(8000)
    return context.new_page()


def check(page: Any, what: str, axe: bool = True) -> None:
    assert sideways_overflow(page) <= 0, f"{what} scrolls sideways on a phone"
    if axe:
        assert_accessible(page, what)


def choose_a_free_slot(page: Any) -> None:
    """Today may be over: walk the day links until a day has a free time, then take it."""
    for index in range(page.locator("ul.days a").count()):
        if page.locator("input[name=slot]").count():
            break
        page.locator("ul.days a").nth(index + 1).click()
    page.locator("label.slot").first.click()


def submit(page: Any) -> None:
    with page.expect_navigation():
        page.locator("main form button.go-big").click()


def check_ticket_shown(page: Any) -> str:
    assert "/booking/t/" in page.url, page.url
    code = page.locator(".ticket .code").inner_text().strip()
    assert len(code.replace("-", "")) == 8
    assert page.locator(".ticket svg.qr").count() == 1
    return code


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_visitor_books_a_seat_help_and_a_workshop_on_a_phone(browser: Any, server: LiveServer, lang: str) -> None:
    page = phone(browser)
    page.goto(f"{server.url}/lang/{lang}?next=/booking/")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
    check(page, f"booking home ({lang})")

    page.locator("a.door").nth(0).click()
    choose_a_free_slot(page)
    check(page, f"seat slots ({lang})")
    page.locator("#nickname").fill(f"Seat {lang}")
    submit(page)
    check_ticket_shown(page)
    check(page, f"seat ticket ({lang})")

    page.goto(server.url + "/booking/help")
    page.locator("input[name=help_kind]").first.check()
    choose_a_free_slot(page)
    check(page, f"help slots ({lang})")
    page.locator("#nickname").fill(f"Help {lang}")
    page.locator("#phone").fill("0470 12 34 5" + str(LANGUAGES.index(lang)))
    submit(page)
    check_ticket_shown(page)

    page.goto(server.url + "/booking/workshops")
    check(page, f"workshops ({lang})")
    page.locator("label.answer", has_text="CV et lettre").first.click()
    page.locator("#nickname").fill(f"Workshop {lang}")
    submit(page)
    code = check_ticket_shown(page)
    page.goto(server.url + "/booking/t/" + code.replace("-", "") + "/print")
    check(page, f"printable ticket ({lang})")
    page.context.close()


def test_an_error_is_accessible_and_keeps_the_name(browser: Any, server: LiveServer) -> None:
    page = phone(browser)
    page.goto(f"{server.url}/lang/ar?next=/booking/seat")
    choose_a_free_slot(page)
    page.locator("#nickname").fill("   ")
    submit(page)
    assert page.locator(".error-summary, .has-error").count() >= 1
    check(page, "seat page with an error (ar)")
    page.goto(server.url + "/booking/")
    page.locator("#code").fill("ZZZZ-ZZZZ")
    with page.expect_navigation():
        page.locator("form button.primary").click()
    assert page.locator(".error-summary[role=alert]").is_visible()
    check(page, "unknown code (ar)")
    page.context.close()


def test_a_workshop_place_is_booked_without_javascript(browser: Any, server: LiveServer) -> None:
    page = phone(browser, javascript=False)
    page.goto(f"{server.url}/lang/en?next=/booking/workshops")
    page.locator("label.answer", has_text="CV et lettre").first.click()
    page.locator("#nickname").fill("No script")
    submit(page)
    check_ticket_shown(page)
    check(page, "ticket without JavaScript", axe=False)
    page.context.close()


STAFF_PAGES = ["/staff/booking/", "/staff/booking/week", "/staff/booking/new", "/staff/booking/programme"]


def test_the_desk_booking_pages_are_accessible(browser: Any, server: LiveServer) -> None:
    from tests.test_browser import COORDINATOR, new_page, sign_in

    page = new_page(browser, bypass_csp=True)
    sign_in(page, server.url, *COORDINATOR)
    for path in STAFF_PAGES:
        page.goto(server.url + path)
        assert_accessible(page, path)
    page.goto(server.url + "/staff/booking/programme")
    page.locator("a", has_text="Liste de présence").first.click()
    assert "/attendance" in page.url
    assert_accessible(page, "attendance list")
    page.context.close()
