"""The printing pages with the fake CUPS: a visitor sends a PDF from a phone and prints by
code, staff release held jobs (for a member or a guest) or cancel them, manage printers
and quotas; bad input gets a message in the visitor's language and nothing is charged."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from appliance.db import database
from appliance.hardware.printing import FakePrintSystem
from appliance.members import create_member
from appliance.models import PrintJob, PrintLedgerEntry, PrintQuotaGrant
from appliance.printing.jobs import sync
from appliance.web import create_app
from tests.conftest import FIXED_NOW, csrf_token
from tests.printing.conftest import QUEUE, make_pdf

EN = {"Accept-Language": "en"}


@pytest.fixture
def fake() -> FakePrintSystem:
    return FakePrintSystem(printers=(QUEUE,))


@pytest.fixture
def app(data_dir: Path, fake: FakePrintSystem):  # type: ignore[no-untyped-def]
    settings = {"printing": {"backend": "fake", "public_queues": [QUEUE], "guest_bw": 5}}
    application = create_app({"DATA_DIR": data_dir, "TESTING": True, "SETTINGS": settings})
    application.extensions["epn_clock"] = lambda: FIXED_NOW
    application.extensions["epn_print_system"] = fake
    return application


def _send(client, data: bytes, name: str = "cv.pdf", **fields):  # type: ignore[no-untyped-def]
    form = {"csrf_token": csrf_token(client, "/print/"), "copies": "1",
            "file": (io.BytesIO(data), name), **fields}
    return client.post("/print/upload", data=form, headers=EN, content_type="multipart/form-data")


def _codes(html: str) -> list[str]:
    return re.findall(r'class="print-code" dir="ltr">([A-Z0-9]{6})<', html)


def test_a_visitor_sends_a_pdf_from_a_phone_and_prints_it_with_the_code(client, app, fake):
    response = _send(client, make_pdf(2))
    assert response.status_code == 303
    page = client.get("/print/", headers=EN).get_data(as_text=True)
    [code] = _codes(page)
    assert f"Your code: {code}" in page and "cv.pdf" in page
    response = client.post("/print/release", data={"csrf_token": csrf_token(client, "/print/"), "code": code},
                           headers=EN, follow_redirects=True)
    assert "Printing: 2 pages." in response.get_data(as_text=True)
    with app.app_context(), database.connection_context():
        sync(fake, app.extensions["epn_config"], FIXED_NOW)
        assert [(e.kind, e.units) for e in PrintLedgerEntry.select()] == [("reserve", 2), ("charge", 2)]


@pytest.mark.parametrize("data, name, message", [
    (b"just some text", "notes.txt", "Only PDF files can be printed."),
    (make_pdf(3)[:200], "broken.pdf", "This PDF is damaged and cannot be read."),
    (make_pdf(101), "thesis.pdf", "This document has 101 pages; at most 100 can be printed."),
    (b"%!PS-Adobe-3.0\n%%Pages: 0\n%%EOF\n", "empty.ps", "This document has no page to print."),
])
def test_a_bad_upload_gets_a_clear_message_and_nothing_is_queued(client, app, fake, data, name, message):
    response = _send(client, data, name, copies="3", duplex="y")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert 'value="3"' in html  # the form keeps what was chosen
    assert re.search(r'<input checked id="duplex"|<input[^>]*id="duplex"[^>]*checked', html)
    assert fake.held_jobs() == []
    with app.app_context(), database.connection_context():
        assert PrintJob.select().count() == 0


def test_a_file_over_the_size_limit_is_refused_with_a_message(client, app, fake):
    too_big = make_pdf(1) + b"%" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = _send(client, too_big)
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)
    assert fake.held_jobs() == []


def test_a_wrong_code_is_refused_and_the_form_keeps_what_was_typed(client):
    response = client.post("/print/release", data={"csrf_token": csrf_token(client, "/print/"), "code": "zz-99"},
                           headers=EN)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "No document waits under this code." in html and 'value="zz-99"' in html


def test_the_print_page_speaks_arabic_right_to_left(client):
    client.set_cookie("epn_lang", "ar")
    html = client.get("/print/").get_data(as_text=True)
    assert 'dir="rtl"' in html and 'lang="ar"' in html


def test_staff_see_held_jobs_and_release_one_for_a_member_within_their_quota(client, app, fake, auth):
    _send(client, make_pdf(30))
    token = auth("mediator")
    with app.app_context(), database.connection_context():
        member = create_member("Amina", "", "fr", "visitor", True, None, FIXED_NOW.date())
        job = PrintJob.get()
    page = client.get("/staff/printing/", headers=EN).get_data(as_text=True)
    assert "cv.pdf" in page and job.code in page
    response = client.post(f"/staff/printing/jobs/{job.id}/release", headers=EN,
                           data={"csrf_token": token, "member": member.number})
    assert response.status_code == 400
    assert "this job needs 30, 20 left" in response.get_data(as_text=True)
    response = client.post("/staff/printing/quota", headers=EN, query_string={"member": member.number},
                           data={"csrf_token": token, "kind": "bw", "pages": "10", "reason": "CV week"})
    assert response.status_code == 302
    response = client.post(f"/staff/printing/jobs/{job.id}/release", headers=EN,
                           data={"csrf_token": token, "member": member.number}, follow_redirects=True)
    assert "Printing: 30 pages." in response.get_data(as_text=True)
    with app.app_context(), database.connection_context():
        assert PrintJob.get_by_id(job.id).member_id == member.id
        assert PrintQuotaGrant.get().reason == "CV week"


def test_staff_release_by_code_and_cancel_a_held_job(client, app, fake, auth):
    _send(client, make_pdf(1))
    _send(client, make_pdf(1), "second.pdf")
    token = auth("mediator")
    with app.app_context(), database.connection_context():
        first, second = PrintJob.select().order_by(PrintJob.id)
    response = client.post(f"/staff/printing/jobs/{second.id}/cancel", data={"csrf_token": token})
    assert response.status_code == 302
    response = client.post("/staff/printing/release-code", data={"csrf_token": token, "code": first.code},
                           headers=EN, follow_redirects=True)
    assert "Printing: 1 page." in response.get_data(as_text=True)
    with app.app_context(), database.connection_context():
        assert [j.state for j in PrintJob.select().order_by(PrintJob.id)] == ["released", "cancelled"]


def test_a_member_card_that_does_not_exist_is_refused(client, app, fake, auth):
    _send(client, make_pdf(1))
    token = auth("mediator")
    with app.app_context(), database.connection_context():
        job = PrintJob.get()
    response = client.post(f"/staff/printing/jobs/{job.id}/release", headers=EN,
                           data={"csrf_token": token, "member": "1234 5678 9"})
    assert response.status_code == 400
    assert "No member has this card number." in response.get_data(as_text=True)


def test_staff_pause_and_resume_a_printer_and_a_coordinator_adds_one(client, fake, auth):
    token = auth("coordinator")
    page = client.get("/staff/printing/printers", headers=EN).get_data(as_text=True)
    assert QUEUE in page and "Ready" in page
    client.post(f"/staff/printing/printers/{QUEUE}/pause", data={"csrf_token": token})
    assert fake.printer(QUEUE).state == "stopped"
    assert "Paused" in client.get("/staff/printing/printers", headers=EN).get_data(as_text=True)
    client.post(f"/staff/printing/printers/{QUEUE}/resume", data={"csrf_token": token})
    assert fake.printer(QUEUE).state == "idle"
    response = client.post("/staff/printing/printers", headers=EN,
                           data={"csrf_token": token, "name": "office", "uri": "telnet://x"})
    assert response.status_code == 400 and 'value="telnet://x"' in response.get_data(as_text=True)
    response = client.post("/staff/printing/printers",
                           data={"csrf_token": token, "name": "office", "uri": "ipp://192.168.1.20/ipp/print"})
    assert response.status_code == 302 and fake.printer("office") is not None


def test_a_mediator_cannot_add_a_printer(client, auth):
    token = auth("mediator")
    response = client.post("/staff/printing/printers",
                           data={"csrf_token": token, "name": "office", "uri": "ipp://192.168.1.20/ipp/print"})
    assert response.status_code == 403


def test_a_quota_change_needs_a_reason_and_a_known_card(client, app, auth):
    token = auth("mediator")
    with app.app_context(), database.connection_context():
        member = create_member("Amina", "", "fr", "trainee", True, None, FIXED_NOW.date())
    page = client.get("/staff/printing/quota", query_string={"member": member.number}, headers=EN)
    assert "0 used of 50" in page.get_data(as_text=True)
    response = client.post("/staff/printing/quota", query_string={"member": member.number}, headers=EN,
                           data={"csrf_token": token, "kind": "bw", "pages": "5", "reason": ""})
    assert response.status_code == 400
    response = client.get("/staff/printing/quota", query_string={"member": "42"}, headers=EN)
    assert response.status_code == 400 and "No member has this card number." in response.get_data(as_text=True)


# --- The JSON API ---------------------------------------------------------------------------


@pytest.fixture
def bearer(data_dir: Path) -> dict:
    from appliance.accounts import create_token

    with database.connection_context():
        return {"Authorization": f"Bearer {create_token('desk-kiosk')}"}


def test_the_api_lists_held_jobs_without_document_names_and_releases_one(client, app, bearer):
    _send(client, make_pdf(2), "private letter.pdf")
    listed = client.get("/api/v1/printing/jobs", headers=bearer).get_json()["jobs"]
    assert [(j["pages"], j["state"]) for j in listed] == [(2, "held")]
    assert "private letter" not in str(listed)
    response = client.post(f"/api/v1/printing/jobs/{listed[0]['id']}/release", json={}, headers=bearer)
    assert response.status_code == 200 and response.get_json()["state"] == "released"
    again = client.post(f"/api/v1/printing/jobs/{listed[0]['id']}/release", json={}, headers={**bearer, **EN})
    assert again.status_code == 400 and "already released" in again.get_json()["message"]
    assert client.get("/api/v1/printing/jobs?state=nope", headers=bearer).status_code == 400


def test_the_api_tells_a_members_quota(client, app, bearer):
    with app.app_context(), database.connection_context():
        member = create_member("Jan", "", "nl", "partner", True, None, FIXED_NOW.date())
    body = client.get(f"/api/v1/printing/quotas/{member.number}", headers=bearer).get_json()
    assert body["bw"] == {"allowed": 100, "used": 0, "left": 100} and body["period"] == "2026-W47"
    assert client.get("/api/v1/printing/quotas/123", headers=bearer).status_code == 404
