"""The staff pages and the visitor page in a real Chromium, against a real `epn serve`:
accessibility (axe-core, WCAG 2.1 A/AA), keyboard use, use without JavaScript, accessible
error states, and screenshots of the layout on a desk PC and on a phone.

One demo data directory, one server and one Chromium serve the whole module."""

from __future__ import annotations

import importlib.resources
import importlib.util
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import pytest

from appliance.demo import DEMO_ACCOUNTS
from tests.conftest import EPN, LiveServer

CHROMIUM = Path("/usr/lib/chromium/chromium")
ARGS = ["--disable-quic", "--disable-gpu",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost"]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
ARTIFACTS = Path(__file__).parent / ".artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
COORDINATOR = next((u, p) for u, p, role in DEMO_ACCOUNTS if role == "coordinator")


def _missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "the playwright Python package is not installed (pip install -e '.[test]')"
    if importlib.util.find_spec("axe_playwright_python") is None:
        return "axe-core is missing: pip install axe-playwright-python (in the test extras)"
    if not CHROMIUM.is_file():
        return f"Chromium is not installed at {CHROMIUM} (make system-deps)"
    return None


MISSING = _missing()
# A skipif mark (not a module-level skip) so that each test reports the skip, and the
# conftest turns it into a failure under CI=true.
pytestmark = [pytest.mark.system, pytest.mark.skipif(MISSING is not None, reason=str(MISSING))]


# --- Fixtures: one demo server, one browser, one signed-in coordinator ------------------

def _log_visits_now(data_dir: Path) -> None:
    """A few walk-in visits today, so the desk shows its list and a visit can be corrected."""
    from appliance.config import load_config
    from appliance.db import database, init_database
    from appliance.desk.visits import log_visit

    config = load_config(data_dir)
    init_database(config.database_path)
    now = datetime.now(config.tz).replace(tzinfo=None)
    with database.connection_context():
        log_visit("job_search", ["computer", "printing"], now)
        log_visit("admin_procedures", ["mediator"], now)
        log_visit("learning_ict", [], now)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("browser")
    data_dir = root / "data"
    subprocess.run([EPN, "demo", "--data", str(data_dir), "--no-serve"],
                   check=True, capture_output=True, timeout=60)
    _log_visits_now(data_dir)
    live = LiveServer(data_dir, root / "serve.log")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def new_page(browser: Any, **options: Any) -> Any:
    """A page in a fresh context: a Brussels desk PC unless told otherwise."""
    context = browser.new_context(**{"viewport": DESKTOP, "locale": "fr-BE", **options})
    context.set_default_timeout(5000)
    return context.new_page()


def sign_in(page: Any, base_url: str, username: str, password: str) -> None:
    """Through the real login form: fill in the username and password, press the button."""
    page.goto(base_url + "/staff/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(base_url + "/staff/")


@pytest.fixture(scope="module")
def staff(browser: Any, server: LiveServer) -> Iterator[Any]:
    """A page signed in as the demo coordinator. axe is injected as an inline script,
    which the app's Content-Security-Policy forbids: this context bypasses the CSP."""
    page = new_page(browser, bypass_csp=True)
    sign_in(page, server.url, *COORDINATOR)
    yield page
    page.context.close()


# --- Helpers --------------------------------------------------------------------------

def axe_violations(page: Any) -> list[dict]:
    axe_js = importlib.resources.files("axe_playwright_python") / "axe.min.js"
    page.add_script_tag(path=str(axe_js))
    return page.evaluate(
        "async (tags) => (await axe.run(document,"
        " {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})).violations",
        AXE_TAGS,
    )


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:8]:
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    {' > '.join(map(str, node['target']))}  {summary[:300]}")
        if len(violation["nodes"]) > 8:
            lines.append(f"    … and {len(violation['nodes']) - 8} more")
    return "\n".join(lines)


def duplicate_ids(page: Any) -> list[str]:
    """axe 4.7+ no longer reports duplicate ids under the WCAG tags: checked here."""
    return page.evaluate("""() => {
        const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
        return [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
    }""")


def assert_accessible(page: Any, what: str) -> None:
    violations = axe_violations(page)
    assert not violations, f"axe: {what} ({page.url}) has violations:\n{describe(violations)}"
    assert not (duplicated := duplicate_ids(page)), f"{what} ({page.url}): duplicate ids {duplicated}"


def visits_so_far(page: Any) -> int:
    return int(page.locator(".glance .cards .big").first.inner_text().strip())


def first_href(page: Any, url: str, selector: str) -> str:
    page.goto(url)
    href = page.locator(selector).first.get_attribute("href")
    assert href, f"no link {selector} on {url}"
    return href


def phone_page(browser: Any, storage: Any = None) -> Any:
    return new_page(browser, viewport=PHONE, is_mobile=True, has_touch=True,
                    storage_state=storage)


def sideways_overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the screen (wide tables scroll in a box)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def screenshot(browser: Any, server: LiveServer, url: str, name: str, storage: Any = None) -> None:
    """Full-page PNGs on a desk PC and a phone, under the app's real Content-Security-Policy."""
    ARTIFACTS.mkdir(exist_ok=True)
    for label in ("desktop", "phone"):
        page = phone_page(browser, storage) if label == "phone" else new_page(browser, storage_state=storage)
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
        page.goto(server.url + url)
        overflow = sideways_overflow(page)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
        page.context.close()
        assert overflow <= 0, f"{url} is {overflow}px wider than a {label} screen"
        assert not console, f"{url} on a {label}: browser errors (CSP?): {console}"


# --- Sign-in --------------------------------------------------------------------------

def test_coordinator_signs_in_through_the_login_form(browser: Any, server: LiveServer) -> None:
    page = new_page(browser, bypass_csp=True)
    page.goto(server.url + "/staff/")
    assert "/staff/login" in page.url
    assert_accessible(page, "the login page")
    assert page.evaluate("document.activeElement.id") == "username"  # autofocus

    username, password = COORDINATOR
    page.locator("#username").press_sequentially(username)
    page.locator("#password").press_sequentially("not-the-password")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.locator(".error-summary[role=alert]").is_visible()
    assert page.locator("#username").input_value() == username
    assert page.locator("#password").input_value() == ""
    assert_accessible(page, "the login page after a wrong password")

    page.locator("#password").press_sequentially(password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.url == server.url + "/staff/"
    assert page.locator(".staff-nav .who").inner_text() == username.capitalize()
    page.context.close()


# --- axe on every page ----------------------------------------------------------------

STAFF_PAGES = {
    "desk": "/staff/",
    "visits": "/staff/visits",
    "visit-edit": "visit",
    "schedule": "/staff/schedule/",
    "import": "/staff/import",
    "members": "/staff/members/",
    "member-new": "/staff/members/new",
    "member": "member",
    "member-card": "card",
    "not-found": "/staff/visits/999999999",
}


def resolve(page: Any, server: LiveServer, path: str) -> str:
    """The path of a page; a visit or member one is found through the links a person follows."""
    if path == "visit":
        return first_href(page, server.url + "/staff/", "main table a[href*='/staff/visits/']")
    if path in ("member", "card"):
        member = first_href(page, server.url + "/staff/members/", "main table a")
        return member + ("/card" if path == "card" else "")
    return path


@pytest.mark.parametrize("path", STAFF_PAGES.values(), ids=STAFF_PAGES.keys())
def test_staff_page_has_no_axe_violation(staff: Any, server: LiveServer, path: str) -> None:
    path = resolve(staff, server, path)
    staff.goto(server.url + path)
    assert_accessible(staff, path)


def test_no_page_scrolls_sideways_on_a_phone(browser: Any, staff: Any, server: LiveServer) -> None:
    """WCAG 1.4.10 (reflow): on a 390 px wide phone only a wide table may scroll, in its box."""
    page = phone_page(browser, staff.context.storage_state())
    wide = {}
    for path in [*STAFF_PAGES.values(), "/"]:
        path = resolve(page, server, path)
        page.goto(server.url + path)
        if (overflow := sideways_overflow(page)) > 0:
            wide[path] = overflow
    page.context.close()
    assert not wide, f"pages wider than a phone (px too wide): {wide}"


def test_visitor_page_in_arabic_is_right_to_left_and_accessible(browser: Any, server: LiveServer) -> None:
    page = new_page(browser, bypass_csp=True)
    page.goto(server.url + "/")
    with page.expect_navigation():
        page.locator("nav.langs a[hreflang=ar]").click()
    html = page.locator("html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
    assert_accessible(page, "the visitor page in Arabic")
    page.context.close()


@pytest.mark.parametrize("lang", ["fr", "nl", "en"])
def test_desk_in_each_staff_language_is_accessible(staff: Any, server: LiveServer, lang: str) -> None:
    staff.goto(server.url + "/staff/")
    with staff.expect_navigation():
        staff.locator(f"nav.langs a[hreflang={lang}]").click()
    html = staff.locator("html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == (lang, "ltr")
    assert staff.locator(f"nav.langs a[hreflang={lang}]").get_attribute("aria-current") == "true"
    assert_accessible(staff, f"the desk in {lang}")


# --- Keyboard -------------------------------------------------------------------------

def focused(page: Any) -> dict:
    return page.evaluate("""() => {
        const e = document.activeElement, s = getComputedStyle(e), r = e.getBoundingClientRect();
        return {tag: e.tagName, cls: e.className, id: e.id, inMain: !!e.closest('main'),
                outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
                visible: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0
                         && r.top < innerHeight && r.left < innerWidth};
    }""")


def test_desk_works_with_the_keyboard_alone(staff: Any, server: LiveServer) -> None:
    staff.goto(server.url + "/lang/fr?next=/staff/")
    before = visits_so_far(staff)

    staff.keyboard.press("Tab")
    skip = focused(staff)
    assert "skip" in skip["cls"] and skip["visible"] and skip["outline"], skip
    staff.keyboard.press("Enter")
    assert staff.evaluate("document.activeElement.id") == "main"
    staff.keyboard.press("Tab")
    assert focused(staff)["inMain"], "Tab after the skip link leaves the content"

    for _ in range(20):
        now = focused(staff)
        assert now["inMain"] and now["visible"] and now["outline"], now
        if "purpose" in now["cls"]:
            break
        staff.keyboard.press("Tab")
    else:
        pytest.fail("no purpose button reached with Tab")
    with staff.expect_navigation():
        staff.keyboard.press("Enter")
    assert visits_so_far(staff) == before + 1
    assert staff.locator("main .flash[role=status]").is_visible()
    assert_accessible(staff, "the desk after logging a visit (message, undo button)")


# --- Without JavaScript ---------------------------------------------------------------

def test_sign_in_and_one_tap_logging_work_without_javascript(browser: Any, server: LiveServer) -> None:
    page = new_page(browser, java_script_enabled=False)
    sign_in(page, server.url, *COORDINATOR)
    before = visits_so_far(page)
    with page.expect_navigation():
        page.locator("button.purpose").nth(1).click()
    assert page.url == server.url + "/staff/"
    assert visits_so_far(page) == before + 1
    page.context.close()


# --- Error states ---------------------------------------------------------------------

def test_member_form_errors_are_accessible_and_keep_what_was_typed(staff: Any, server: LiveServer) -> None:
    staff.goto(server.url + "/lang/fr?next=/staff/members/new")
    with staff.expect_navigation():
        staff.locator("main form button.primary").click()
    assert staff.locator(".error-summary[role=alert]").is_visible()
    name = staff.locator("#display_name")
    assert name.get_attribute("aria-invalid") == "true"
    described = (name.get_attribute("aria-describedby") or "").split()
    assert described, "the name field is not linked to its error message"
    messages = [staff.locator(f"#{id_}").inner_text().strip() for id_ in described]
    assert any(staff.locator(f"#{id_}.error").count() for id_ in described), messages
    assert_accessible(staff, "the member form with errors")

    # Only the name is wrong (empty): everything else typed or chosen is kept.
    staff.locator("#contact").fill("0470 12 34 56")
    staff.locator("#language").select_option("nl")
    staff.locator("#category").select_option(index=1)
    category = staff.locator("#category").input_value()
    staff.locator("#terms_accepted").check()
    with staff.expect_navigation():
        staff.locator("main form button.primary").click()
    assert staff.locator("#display_name").get_attribute("aria-invalid") == "true"
    assert staff.locator("#contact").input_value() == "0470 12 34 56"
    assert staff.locator("#contact").get_attribute("aria-invalid") is None
    assert staff.locator("#language").input_value() == "nl"
    assert staff.locator("#category").input_value() == category
    assert staff.locator("#terms_accepted").is_checked()
    assert not staff.locator("#id_seen").is_checked()
    assert_accessible(staff, "the member form with one wrong field")


def test_opening_hours_error_is_linked_to_both_times(staff: Any, server: LiveServer) -> None:
    staff.goto(server.url + "/lang/fr?next=/staff/schedule/")
    closes = staff.locator("#d0_0_closes").input_value()
    staff.locator("#d0_0_opens").fill("23:00")  # after Monday's first period closes: refused
    with staff.expect_navigation():
        staff.locator("section[aria-labelledby=hours-title] button[type=submit]").click()
    assert staff.locator(".error-summary[role=alert]").is_visible()
    assert staff.locator("#d0_0_opens").input_value() == "23:00"
    assert staff.locator("#d0_0_closes").input_value() == closes
    cell = staff.locator("td.has-error")
    assert cell.locator("[aria-invalid=true]").count() >= 1
    for time_input in cell.locator("input").all():
        error_id = time_input.get_attribute("aria-describedby")
        assert error_id and staff.locator(f"#{error_id}.error").inner_text().strip()
    assert_accessible(staff, "the opening hours with an error")


# --- Layout ---------------------------------------------------------------------------

def test_screenshots_of_the_desk_and_the_arabic_visitor_page(
    browser: Any, staff: Any, server: LiveServer
) -> None:
    staff.goto(server.url + "/lang/fr?next=/staff/")
    storage = staff.context.storage_state()
    screenshot(browser, server, "/staff/", "desk-fr", storage)
    screenshot(browser, server, "/lang/ar?next=/", "visitor-ar")
    for name in ("desk-fr", "visitor-ar"):
        for label in ("desktop", "phone"):
            assert (ARTIFACTS / f"{name}-{label}.png").stat().st_size > 5000


# --- The visitor survey ----------------------------------------------------------------

def submit(page: Any, selector: str) -> None:
    """Press a form's button and wait for the page it brings."""
    with page.expect_navigation():
        page.locator(selector).click()


@pytest.fixture(scope="module")
def survey_opened(staff: Any, server: LiveServer) -> None:
    """The demo coordinator opens the survey on its staff page, as a person would."""
    staff.goto(server.url + "/lang/fr?next=/staff/survey/")
    assert_accessible(staff, "the survey's staff page")
    submit(staff, "main button[name=preset][value=until_closed]")
    assert staff.locator("main .flash[role=status]").is_visible()
    assert staff.locator("main button.danger").is_visible()  # "close now": it is open
    assert_accessible(staff, "the survey's staff page, survey open")


def survey_answers_this_month(staff: Any, server: LiveServer) -> int:
    staff.goto(server.url + "/staff/survey/")
    return int(staff.locator("main .cards .card").nth(1).locator(".big").inner_text().strip())


@pytest.mark.parametrize("lang, direction", [("fr", "ltr"), ("ar", "rtl")])
def test_survey_pages_have_no_axe_violation(
    browser: Any, server: LiveServer, survey_opened: None, lang: str, direction: str
) -> None:
    page = new_page(browser, bypass_csp=True)
    page.goto(server.url + f"/lang/{lang}?next=/survey/")
    html = page.locator("html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == (lang, direction)
    assert_accessible(page, f"the survey's start page in {lang}")
    submit(page, "main button[value=start]")
    assert_accessible(page, f"a one-tap question in {lang}")
    for answer in ("student", "30_39", "woman", "higher"):
        submit(page, f"main button[name=answer][value='{answer}']")
    assert page.locator("main input[type=checkbox]").count() == 4  # devices: several answers
    assert_accessible(page, f"a question with several answers in {lang}")
    page.locator("main input[value=smartphone]").check()
    submit(page, "main button[value=next]")
    for _ in range(7):
        submit(page, "main button[value=skip]")
    page.locator("#postal_code").fill("12")
    submit(page, "main button[value=next]")
    assert page.locator("#postal_code").get_attribute("aria-invalid") == "true"
    assert page.locator("#answer-error").inner_text().strip()
    assert_accessible(page, f"the postal code question with an error in {lang}")
    for _ in range(3):
        submit(page, "main button[value=skip]")
    assert page.url == server.url + "/survey/thanks"
    assert_accessible(page, f"the survey's thank-you page in {lang}")
    page.context.close()


def test_the_survey_is_completed_on_a_phone_without_javascript(
    browser: Any, staff: Any, server: LiveServer, survey_opened: None
) -> None:
    before = survey_answers_this_month(staff, server)
    page = new_page(browser, viewport=PHONE, is_mobile=True, has_touch=True, java_script_enabled=False)
    page.goto(server.url + "/lang/ar?next=/")
    submit(page, "main a[href='/survey/']")  # the way in, from the visitor home page
    submit(page, "main button[value=start]")
    too_wide = {}
    for step in range(1, 16):
        assert page.locator("main .progress").inner_text().strip().startswith(f"{step} / 15")
        if (overflow := sideways_overflow(page)) > 0:
            too_wide[step] = overflow
        boxes = page.locator("main input[type=checkbox]")
        if page.locator("#postal_code").count():
            page.locator("#postal_code").fill("1080")
            with page.expect_navigation():
                page.locator("#postal_code").press("Enter")  # the form's first button: next
        elif boxes.count():
            boxes.nth(1).check()
            boxes.nth(2).check()
            submit(page, "main button[value=next]")
        else:
            submit(page, "main button[name=answer] >> nth=1")
    assert not too_wide, f"survey pages wider than a phone (px): {too_wide}"
    assert page.url == server.url + "/survey/thanks"
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.context.close()
    assert survey_answers_this_month(staff, server) == before + 1
