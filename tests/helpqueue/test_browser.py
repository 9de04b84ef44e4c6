"""The help queue in a real Chromium against a real `epn serve` on the demo data: a
visitor takes a number on a phone in each visitor language, without JavaScript; the
entrance screen on a TV. axe-core checks WCAG 2.1 A/AA on every page."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import time
from typing import Any

import pytest

from tests.conftest import EPN, LiveServer
from tests.test_browser import browser  # noqa: F401  (a fixture)
from tests.test_browser import (
    AXE_TAGS,
    MISSING,
    assert_accessible,
    describe,
    new_page,
    sideways_overflow,
)

pytestmark = [pytest.mark.system, pytest.mark.skipif(MISSING is not None, reason=str(MISSING))]
PHONE = {"width": 390, "height": 844}
TV = {"width": 1920, "height": 1080}


def assert_accessible_but_refreshing(page: Any, what: str) -> None:
    """axe without its meta-refresh rule, for a page that updates itself on purpose.

    WCAG 2.2.1 lets a page refresh when the visitor can turn it off first: the ticket
    page offers that switch (checked here, and its still page gets every rule); the
    entrance screen is a real-time display nobody interacts with (2.2.1's exception)."""
    import importlib.resources

    page.add_script_tag(path=str(importlib.resources.files("axe_playwright_python") / "axe.min.js"))
    violations = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " rules: {'meta-refresh': {enabled: false}}, resultTypes: ['violations']})).violations",
        AXE_TAGS,
    )
    assert not violations, f"axe: {what} ({page.url}) has violations:\n{describe(violations)}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The demo, open around the clock (so the queue takes numbers whenever this runs),
    with no per-phone limit (every page here comes from 127.0.0.1)."""
    from appliance.config import load_config, write_config_file
    from appliance.db import database, init_database
    from appliance.desk.schedule import set_weekly_hours

    root = tmp_path_factory.mktemp("queue-browser")
    data_dir = root / "data"
    subprocess.run([EPN, "demo", "--data", str(data_dir), "--no-serve"], check=True, capture_output=True, timeout=90)
    write_config_file(data_dir, {"queue": {"client_tickets_per_hour": 100, "stop_minutes_before_closing": 0}})
    init_database(load_config(data_dir).database_path)
    with database.connection_context():
        set_weekly_hours({day: [(time(0, 0), time(23, 59))] for day in range(7)})
    live = LiveServer(data_dir, root / "serve.log")
    yield live
    live.stop()


@pytest.mark.parametrize("lang, direction", [("fr", "ltr"), ("nl", "ltr"), ("en", "ltr"), ("ar", "rtl")])
def test_a_visitor_takes_a_number_on_a_phone(browser: Any, server: LiveServer, lang: str, direction: str) -> None:
    page = new_page(browser, viewport=PHONE, is_mobile=True, has_touch=True, bypass_csp=True)
    page.goto(server.url + f"/lang/{lang}?next=/")
    with page.expect_navigation():
        page.locator("main a[href='/queue/']").click()  # the way in, from the visitor home page
    html = page.locator("html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == (lang, direction)
    assert sideways_overflow(page) <= 0
    assert_accessible(page, f"the ticket choice in {lang}")
    with page.expect_navigation():
        page.locator("main button[name=kind][value=job]").click()
    assert "/queue/t/" in page.url
    number = int(page.locator("main .ticket .number").inner_text())
    assert number >= 1
    assert page.locator("meta[http-equiv=refresh]").count() == 1
    assert sideways_overflow(page) <= 0
    assert_accessible_but_refreshing(page, f"the ticket page in {lang}")
    with page.expect_navigation():
        page.locator("main a[href$='still=1']").click()  # the visitor stops the updates
    assert page.locator("meta[http-equiv=refresh]").count() == 0
    assert int(page.locator("main .ticket .number").inner_text()) == number
    assert_accessible(page, f"the ticket page without updates in {lang}")
    page.goto(server.url + "/queue/")  # the cookie brings the visitor back to their number
    assert "/queue/t/" in page.url and int(page.locator("main .ticket .number").inner_text()) == number
    page.context.close()


def test_a_number_is_taken_and_cancelled_without_javascript(browser: Any, server: LiveServer) -> None:
    page = new_page(browser, viewport=PHONE, is_mobile=True, has_touch=True, java_script_enabled=False)
    page.goto(server.url + "/lang/en?next=/queue/")
    with page.expect_navigation():
        page.locator("main button[name=kind]").first.click()
    assert page.locator("main .ticket.state-waiting").is_visible()
    with page.expect_navigation():
        page.locator("main form.moves button").click()
    assert page.locator("main .ticket.state-cancelled").is_visible()
    page.context.close()


@pytest.mark.parametrize("lang, direction", [("fr", "ltr"), ("ar", "rtl")])
def test_the_entrance_screen_is_large_accessible_and_refreshes_itself(
    browser: Any, server: LiveServer, lang: str, direction: str
) -> None:
    page = new_page(browser, viewport=TV, bypass_csp=True, java_script_enabled=False)
    page.goto(server.url + f"/now?lang={lang}&cycle=1")
    html = page.locator("html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == (lang, direction)
    assert page.locator("main .now-number").first.inner_text().strip() == "4"  # the demo's number being called
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.now-number')).fontSize)")
    assert size >= 96
    assert page.locator("meta[http-equiv=refresh]").get_attribute("content").startswith("15;url=/now?lang=")
    assert page.locator("main .now-seats").count() == 1  # the booking domain's seats
    assert sideways_overflow(page) <= 0
    page.context.close()
    page = new_page(browser, viewport=TV, bypass_csp=True)
    page.goto(server.url + f"/now?lang={lang}")
    assert_accessible_but_refreshing(page, f"the entrance screen in {lang}")
    page.context.close()


def test_the_desk_calls_and_serves_a_number_with_an_accessible_page(browser: Any, server: LiveServer) -> None:
    from tests.test_browser import COORDINATOR, sign_in

    page = new_page(browser, bypass_csp=True)
    sign_in(page, server.url, *COORDINATOR)
    page.goto(server.url + "/lang/fr?next=/staff/queue/")
    assert_accessible(page, "the desk's help queue")
    called_before = page.locator("main ul.tickets > li").count()
    with page.expect_navigation():
        page.locator("main .queue-call button[type=submit]").click()
    assert page.locator("main .flash[role=status]").is_visible()
    assert page.locator("main ul.tickets > li").count() == called_before + 1
    assert_accessible(page, "the desk's help queue after a call")
    with page.expect_navigation():
        page.locator("main ul.tickets > li").last.locator("button.primary").click()  # served
    assert page.locator("main ul.tickets > li").count() == called_before
    page.context.close()
