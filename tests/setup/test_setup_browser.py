"""The wizard in a real Chromium, in French and in Dutch, against a real `epn serve`:
without JavaScript (the app sends none; the browser runs it only for axe), every page
checked by axe-core (WCAG 2.1 A/AA), an error state, a failed hub step and its way out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer, free_port
from tests.setup.conftest import mark_pending
from tests.test_browser import browser  # noqa: F401  (a fixture)
from tests.test_browser import MISSING, assert_accessible, new_page

pytestmark = [pytest.mark.system, pytest.mark.skipif(MISSING is not None, reason=str(MISSING))]

WORDS = {
    "fr": {"language": "Français", "continue": "Continuer", "save": "Enregistrer et continuer",
           "skip": "Passer : s'inscrire plus tard", "finish": "Terminer la configuration",
           "retry": "Réessayer", "done": "La configuration est terminée", "postal": "Un code postal belge"},
    "nl": {"language": "Nederlands", "continue": "Verder", "save": "Opslaan en verder",
           "skip": "Overslaan: later aanmelden", "finish": "De configuratie afronden",
           "retry": "Opnieuw proberen", "done": "De configuratie is klaar", "postal": "Een Belgische postcode"},
}




@pytest.fixture
def pending(data_dir: Path, tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    code = mark_pending(data_dir)
    server = LiveServer(data_dir, tmp_path / "serve.log")
    yield server, code
    server.stop()


def press(page: Any, label: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=label, exact=True).click()


@pytest.mark.parametrize("lang", ["fr", "nl"])
def test_the_wizard_in_each_staff_language(browser: Any, pending: tuple[LiveServer, str], lang: str) -> None:
    server, code = pending
    words = WORDS[lang]
    page = new_page(browser, bypass_csp=True, java_script_enabled=True, locale="en-GB")
    page.goto(server.url + "/staff/")
    assert page.url.endswith("/setup/")
    page.get_by_role("link", name=words["language"]).click()  # the wizard's own language links
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("script").count() == 0  # the wizard sends no JavaScript
    assert_accessible(page, f"the code page ({lang})")
    page.locator("#code").fill(code.lower())
    press(page, words["continue"])

    assert page.url.endswith("/setup/site")
    assert_accessible(page, f"the EPN step ({lang})")
    page.locator("#name").fill("EPN Molenbeek")
    page.locator("#commune").fill("Molenbeek-Saint-Jean")
    page.locator("#postal_code").fill("108")
    page.locator("#computers").fill("6")
    press(page, words["save"])
    assert words["postal"] in page.locator("#postal_code-error").inner_text()
    assert page.locator("#postal_code").get_attribute("aria-invalid") == "true"
    assert page.locator("#name").input_value() == "EPN Molenbeek"
    assert_accessible(page, f"the EPN step with an error ({lang})")
    page.locator("#postal_code").fill("1080")
    press(page, words["save"])

    assert_accessible(page, f"the Wi-Fi step ({lang})")
    page.locator("#ssid").fill("Molenbeek-Wifi")
    press(page, words["save"])
    assert_accessible(page, f"the account step ({lang})")
    page.locator("#username").fill("amina")
    page.locator("#display_name").fill("Amina")
    page.locator("#password").fill("amina-password-1")
    page.locator("#password_again").fill("amina-password-1")
    press(page, words["save"])

    assert_accessible(page, f"the hub step ({lang})")
    page.locator("#hub_url").fill(f"http://127.0.0.1:{free_port()}")  # nobody answers there
    page.locator("#token").fill("a-token-that-goes-nowhere")
    press(page, words["save"])
    assert_accessible(page, f"the review page ({lang})")
    press(page, words["finish"])
    page.get_by_role("button", name=words["retry"]).wait_for(timeout=30000)
    assert_accessible(page, f"the progress page with a failed step ({lang})")

    page.locator("main a[href='/setup/hub']").click()
    press(page, words["skip"])
    press(page, words["finish"])
    page.wait_for_url(server.url + "/staff/login", timeout=30000)
    assert words["done"] in page.locator(".flash").inner_text()
    assert page.locator(".brand").inner_text() == "EPN Molenbeek"
    page.context.close()
