"""The Wi-Fi portal in a real headless Chromium against a real `epn serve`: the landing
page in each language (Arabic right-to-left), accepting with JavaScript off, the welcome
page with its code, and axe-core (WCAG 2.1 A/AA) on each page."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EPN, LiveServer
from tests.test_browser import browser  # noqa: F401  (a fixture)
from tests.test_browser import MISSING, axe_violations, describe

pytestmark = [pytest.mark.system, pytest.mark.skipif(MISSING is not None, reason=str(MISSING))]
TITLES = {"fr": "Wi-Fi gratuit", "nl": "Gratis wifi", "en": "Free Wi-Fi", "ar": "واي فاي مجاني"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from appliance.config import load_config
    from appliance.db import init_database

    root = tmp_path_factory.mktemp("wifi-browser")
    data = root / "data"
    data.mkdir()
    (data / "config.yaml").write_text("site:\n  name: EPN Wi-Fi\n", encoding="utf-8")
    init_database(load_config(data, environ={}).database_path)
    subprocess.run([EPN, "user", "add", "mina", "--role", "mediator", "--data", str(data)],
                   input="mediator-pass-22\n", text=True, capture_output=True, check=True, timeout=60)
    live = LiveServer(data, root / "serve.log")
    yield live
    live.stop()


def phone(browser: Any, javascript: bool = True) -> Any:
    context = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True,
                                  java_script_enabled=javascript)
    context.set_default_timeout(5000)
    return context.new_page()


def check_axe(page: Any, what: str) -> None:
    violations = axe_violations(page)
    assert not violations, f"axe: {what} has violations:\n{describe(violations)}"


@pytest.mark.parametrize("lang", ["fr", "nl", "en", "ar"])
def test_the_landing_page_in_each_language_passes_axe(browser: Any, server: LiveServer, lang: str) -> None:
    page = phone(browser)
    page.goto(f"{server.url}/lang/{lang}?next=/portal/wifi")
    assert page.locator("h1").inner_text().strip() == TITLES[lang]
    assert page.get_attribute("html", "dir") == ("rtl" if lang == "ar" else "ltr")
    check_axe(page, f"the landing page ({lang})")
    page.context.close()


def test_a_visitor_accepts_without_javascript_and_gets_a_code(browser: Any, server: LiveServer,
                                                               tmp_path: Path) -> None:
    page = phone(browser, javascript=False)
    page.goto(f"{server.url}/lang/ar?next=/portal/wifi")
    page.locator("button.go-big").click()  # the box is not ticked: the browser asks for it
    assert page.url.endswith("/portal/wifi")
    page.locator("#rules").check()
    page.locator("button.go-big").click()
    page.wait_for_url("**/portal/wifi/welcome")
    code = page.locator("p.code").inner_text().strip()
    assert len(code) == 6 and code.isalnum()
    page.screenshot(path=str(tmp_path / "welcome-ar.png"))
    page.context.close()
    checked = phone(browser)
    checked.goto(f"{server.url}/lang/ar?next=/portal/wifi/welcome")
    check_axe(checked, "the welcome page (ar)")
    checked.goto(f"{server.url}/portal/wifi")
    assert checked.locator("a.go-big").count() == 1  # connected: a way to the code, no form
    check_axe(checked, "the landing page when connected (ar)")
    checked.context.close()


def test_the_staff_wifi_page_and_a_voucher_sheet_pass_axe(browser: Any, server: LiveServer) -> None:
    page = phone(browser)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(server.url + "/staff/login")
    page.locator("#username").fill("mina")
    page.locator("#password").fill("mediator-pass-22")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(server.url + "/staff/")
    page.goto(server.url + "/staff/wifi/")
    assert page.locator("table.list tbody tr").count() >= 1  # the device that accepted above
    check_axe(page, "the staff Wi-Fi page")
    page.locator("#count").fill("4")
    page.locator("#batch").fill("Atelier CV")
    page.locator("form[action$='/staff/wifi/vouchers'] button[type=submit]").click()
    assert page.locator(".card-print").count() == 4
    check_axe(page, "the voucher sheet")
    page.context.close()
