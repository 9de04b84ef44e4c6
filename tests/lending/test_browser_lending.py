"""Check-out and check-in in a real headless Chromium against a real `epn serve` with the
demo data: the desk's tag field typed like a USB barcode reader (tag + Enter), the loan,
the checklist with the reset step, and axe-core (WCAG 2.1 A/AA) on each page and error state."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.test_browser import (  # noqa: F401  (browser and server are fixtures)
    COORDINATOR,
    MISSING,
    assert_accessible,
    browser,
    new_page,
    server,
    sign_in,
    submit,
)

pytestmark = [pytest.mark.system, pytest.mark.skipif(MISSING is not None, reason=str(MISSING))]


@pytest.fixture(scope="module")
def desk(browser: Any, server: LiveServer) -> Iterator[Any]:  # noqa: F811
    page = new_page(browser, bypass_csp=True)
    sign_in(page, server.url, *COORDINATOR)
    yield page
    page.context.close()


def test_lend_and_take_back_a_laptop_with_the_barcode_reader_and_the_checklist(
    desk: Any,
    server: LiveServer,  # noqa: F811  (the module-scoped fixture of tests.test_browser)
) -> None:
    desk.goto(server.url + "/lang/en?next=/staff/lending/")
    assert_accessible(desk, "the lending desk")
    assert desk.evaluate("document.activeElement.id") == "tag"  # ready for the reader
    with desk.expect_navigation():
        desk.keyboard.type("lt-002")
        desk.keyboard.press("Enter")  # what a USB barcode reader sends after the tag
    assert desk.url.endswith("/staff/lending/devices/LT-002")
    assert_accessible(desk, "an available device's page")

    submit(desk, "button[name=action][value=checkout]")  # nobody chosen: an accessible error
    assert desk.locator(".error-summary[role=alert]").is_visible()
    assert desk.locator("#borrower[aria-invalid=true]").is_visible()
    assert_accessible(desk, "the check-out form with an error")

    desk.locator("#borrower").fill("Ahmed B.")
    desk.locator("#accept_terms").check()
    submit(desk, "button[name=action][value=checkout]")
    assert "On loan" in desk.locator("main .status").inner_text()
    assert desk.locator("main .flash[role=status]").is_visible()
    assert_accessible(desk, "the device's page, on loan")

    slip = desk.locator("main a[href*='/slip']").first.get_attribute("href")
    desk.goto(server.url + slip)
    assert "Ahmed B." in desk.locator(".slip").inner_text()
    assert_accessible(desk, "the loan slip")

    desk.goto(server.url + "/staff/lending/devices/LT-002")
    for box in desk.locator("fieldset input[name=accessories]").all():
        box.check()
    desk.locator("#condition-1").check()  # good
    desk.locator("#wiped").check()
    desk.locator("#signed_out").check()
    submit(desk, "button[name=action][value=checkin]")
    assert "Available" in desk.locator("main .status").inner_text()
    assert_accessible(desk, "the device's page, taken back")


def test_a_device_returned_without_its_reset_offers_the_reset_step(
    desk: Any,
    server: LiveServer,  # noqa: F811  (the module-scoped fixture of tests.test_browser)
) -> None:
    desk.goto(server.url + "/lang/en?next=/staff/lending/devices/LT-003")
    desk.locator("details.new-borrower summary").click()  # a first-time borrower, registered here
    desk.locator("#new_name").fill("Léa V.")
    desk.locator("#id_seen").check()
    desk.locator("#accept_terms").check()
    submit(desk, "button[name=action][value=checkout]")
    assert "Léa V." in desk.locator("main section.action").first.inner_text()
    assert "On loan" in desk.locator("main .status").inner_text()
    for box in desk.locator("fieldset input[name=accessories]").all():
        box.check()
    submit(desk, "button[name=action][value=checkin]")  # the reset step not ticked
    assert "Waiting for its reset" in desk.locator("main .status").inner_text()
    assert_accessible(desk, "a device waiting for its reset")
    desk.locator("#reset-wiped").check()
    desk.locator("#reset-signed_out").check()
    submit(desk, "button[name=action][value=reset]")
    assert "Available" in desk.locator("main .status").inner_text()


@pytest.mark.parametrize(
    "path",
    [
        "/staff/lending/devices",
        "/staff/lending/overdue",
        "/staff/lending/reservations",
        "/staff/lending/audit",
        "/staff/lending/import",
        "/staff/lending/terms",
    ],
)
def test_lending_page_has_no_axe_violation(desk: Any, server: LiveServer, path: str) -> None:  # noqa: F811
    desk.goto(server.url + "/lang/fr?next=" + path)
    assert desk.locator("main h1").is_visible()
    assert_accessible(desk, path)


def test_the_overdue_list_shows_the_demo_tablet_with_its_reminder(
    desk: Any,
    server: LiveServer,  # noqa: F811  (the module-scoped fixture of tests.test_browser)
) -> None:
    desk.goto(server.url + "/lang/en?next=/staff/lending/overdue")
    first = desk.locator("ol.overdue > li").first
    assert "TB-001" in first.inner_text() and "3 days late" in first.inner_text()
    assert "Hallo Jan P." in first.locator("textarea").input_value()  # in the borrower's language
