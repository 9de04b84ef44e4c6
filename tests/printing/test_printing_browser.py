"""Done when: in a real Chromium, against a real `epn serve` and a real (private) cupsd,
a visitor sends a PDF from a phone on the portal (accessible, Arabic right-to-left, no
JavaScript needed) and staff release it at the desk; CUPS prints it and it is charged."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from appliance.config import load_config
from appliance.db import database, init_database
from appliance.hardware.printing import COMPLETED, CupsPrintSystem
from appliance.models import PrintJob
from tests.conftest import CAST, EPN, LiveServer
from tests.printing.conftest import make_pdf
from tests.printing.cupsd import PrivateCups, missing
from tests.test_browser import browser  # noqa: F401  (a fixture)
from tests.test_browser import PHONE, _missing, assert_accessible, new_page

MISSING = missing() or _missing()
pytestmark = [pytest.mark.system, pytest.mark.skipif(MISSING is not None, reason=str(MISSING))]
QUEUE = "epn-public"


@pytest.fixture(scope="module")
def cups() -> Iterator[PrivateCups]:
    server = PrivateCups()
    try:
        server.add_queue(QUEUE)
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(data_dir: Path, tmp_path: Path, cups: PrivateCups) -> Iterator[LiveServer]:
    with (data_dir / "config.yaml").open("a", encoding="utf-8") as config:
        config.write(f"printing:\n  backend: cups\n  cups_server: '{cups.server}'\n"
                     f"  public_queues: [{QUEUE}]\n  guest_bw: 5\n")
    live = LiveServer(data_dir, tmp_path / "serve.log")
    yield live
    live.stop()


def test_a_visitor_uploads_a_pdf_from_a_phone_and_staff_release_it_at_the_desk(
        browser: Any, server: LiveServer, cups: PrivateCups, data_dir: Path, tmp_path: Path) -> None:
    document = tmp_path / "CV Amina.pdf"
    document.write_bytes(make_pdf(2))
    phone = new_page(browser, viewport=PHONE, is_mobile=True, has_touch=True, java_script_enabled=False,
                     bypass_csp=True, locale="ar")
    phone.goto(server.url + "/print/")
    assert phone.locator("html").get_attribute("dir") == "rtl"
    phone.locator("#file").set_input_files(str(document))
    phone.locator("#copies").fill("1")
    phone.locator("form[enctype] button[type=submit]").click()
    code = phone.locator(".print-jobs .print-code").first.inner_text().strip()
    assert len(code) == 6 and "CV Amina.pdf" in phone.locator(".print-jobs").inner_text()
    phone.context.close()

    visitor = new_page(browser, viewport=PHONE, bypass_csp=True, locale="fr-BE")
    visitor.goto(server.url + "/print/")
    assert_accessible(visitor, "the print page")
    visitor.locator("#code").fill("nope")
    visitor.locator("form:has(#code) button[type=submit]").click()
    assert visitor.locator("#code[aria-invalid=true]").count() == 1
    assert_accessible(visitor, "the print page with an error")
    visitor.context.close()

    desk = new_page(browser, bypass_csp=True)
    username, password = CAST["mediator"]
    desk.goto(server.url + "/staff/login")
    desk.locator("#username").fill(username)
    desk.locator("#password").fill(password)
    desk.locator("main form button[type=submit]").click()
    desk.goto(server.url + "/staff/printing/")
    row = desk.locator("tr", has_text=code)
    assert "CV Amina.pdf" in row.inner_text()
    assert_accessible(desk, "the staff printing page")
    row.locator("button", has_text="Libérer").click()
    assert "Impression : 2 pages." in desk.locator(".flash").inner_text()
    desk.context.close()

    system = CupsPrintSystem(cups.server)
    init_database(load_config(data_dir).database_path)
    with database.connection_context():
        job_id = PrintJob.get(PrintJob.code == code).cups_job_id
    deadline = time.monotonic() + 15
    while system.job(job_id).state != COMPLETED and time.monotonic() < deadline:
        time.sleep(0.1)
    assert system.job(job_id).state == COMPLETED
    done = subprocess.run([EPN, "printing", "sync", "--data", str(data_dir)], capture_output=True, text=True,
                          timeout=60, check=True)
    assert "charge=1" in done.stdout
