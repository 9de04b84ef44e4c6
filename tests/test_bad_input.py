"""Every form gets malformed, oversized and unexpected values: each answer is a clear 4xx
in the user's language, what was typed is kept, and the database is unchanged."""

import io
import sqlite3
from datetime import date, time

import pytest

from appliance.db import database
from appliance.desk.schedule import add_closure, add_shift, set_weekly_hours
from appliance.members import create_member
from appliance.models import StaffUser, Visit

HUGE = "x" * 20000
NL = {"Accept-Language": "nl"}


def snapshot(data_dir) -> dict:
    """Every row of every table, read through a separate connection."""
    connection = sqlite3.connect(data_dir / "epn.sqlite3")
    tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    rows = {t: connection.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables}
    connection.close()
    return rows


@pytest.fixture
def seeded(data_dir):
    with database.connection_context():
        set_weekly_hours({0: [(time(9, 30), time(17, 0))]})
        mediator = StaffUser.get(StaffUser.username == "mehdi")
        add_shift(0, time(9, 30), time(12, 0), mediator.id)
        add_closure(date(2026, 12, 24), date(2026, 12, 26), "Hiver")
        visit = Visit.create(day=date(2026, 11, 17), hour=10, purpose="job_search", source="walk_in")
        member = create_member("Awa", "0470 00 00 00", "fr", "visitor", True, None, date(2026, 11, 1))
    return {"visit": visit.id, "member": member.id, "mediator": mediator.id}


def _forms(ids):
    """(path, valid fields, {case name: changed fields}) for every staff form."""
    visit, member = ids["visit"], ids["member"]
    hours = {"d0_0_opens": "09:30", "d0_0_closes": "17:00"}
    return [
        ("/staff/visits", {"purpose": "job_search", "services": "computer"}, {
            "missing purpose": {"purpose": None},
            "unknown purpose": {"purpose": "gardening"},
            "oversized purpose": {"purpose": HUGE},
            "unknown service": {"services": "teleport"},
        }),
        (f"/staff/visits/{visit}", {"purpose": "job_search", "hour": "10"}, {
            "hour out of range": {"hour": "25"},
            "hour not a number": {"hour": "ten"},
            "unknown purpose": {"purpose": "<script>alert(1)</script>"},
            "oversized service": {"services": HUGE},
        }),
        ("/staff/schedule/hours", hours, {
            "impossible time": {"d0_0_opens": "25:99"},
            "closes before it opens": {"d0_0_opens": "18:00"},
            "opening without closing": {"d0_0_closes": ""},
            "overlapping periods": {"d0_1_opens": "12:00", "d0_1_closes": "13:00"},
            "oversized time": {"d0_0_opens": HUGE},
        }),
        ("/staff/schedule/shifts", {"weekday": "1", "starts": "09:00", "ends": "12:00",
                                    "mediator": str(ids["mediator"])}, {
            "unknown weekday": {"weekday": "9"},
            "weekday not a number": {"weekday": "monday"},
            "unknown mediator": {"mediator": "999"},
            "ends before it starts": {"ends": "08:00"},
            "malformed time": {"starts": "9h"},
        }),
        ("/staff/schedule/closures", {"first_day": "2027-01-02", "last_day": "2027-01-03", "reason": "Inventaire"}, {
            "malformed date": {"first_day": "02/01/2027"},
            "last day first": {"last_day": "2027-01-01"},
            "empty reason": {"reason": "   "},
            "oversized reason": {"reason": HUGE},
            "closure over a year": {"last_day": "2029-01-01"},
        }),
        ("/staff/members/new", {"display_name": "Fatou", "contact": "", "language": "fr", "category": "visitor"}, {
            "empty name": {"display_name": ""},
            "oversized name": {"display_name": HUGE},
            "oversized contact": {"contact": HUGE},
            "unknown language": {"language": "xx"},
            "unknown category": {"category": "boss"},
        }),
        (f"/staff/members/{member}", {"display_name": "Awa", "contact": "", "language": "fr", "category": "visitor"}, {
            "empty name": {"display_name": "  "},
            "unknown category": {"category": "admin"},
            "oversized name": {"display_name": HUGE},
        }),
        (f"/staff/members/{member}/erase", {"confirm": "y"}, {
            "not confirmed": {"confirm": None},
        }),
        ("/staff/login", {"username": "mehdi", "password": "whatever-it-is"}, {
            "missing password": {"password": None},
            "oversized username": {"username": HUGE},
            "oversized password": {"password": HUGE},
        }),
    ]


def _cases(ids):
    for path, valid, cases in _forms(ids):
        for name, change in cases.items():
            data = {**valid, **change}
            yield path, name, {k: v for k, v in data.items() if v is not None}


def test_every_form_answers_bad_input_with_a_clear_4xx_and_changes_nothing(app, client, auth, seeded, data_dir):
    token = auth("coordinator")
    client.set_cookie("epn_lang", "nl")
    checked = 0
    for path, name, data in _cases(seeded):
        before = snapshot(data_dir)
        response = client.post(path, data={"csrf_token": token, **data}, headers=NL)
        text = response.get_data(as_text=True)
        assert 400 <= response.status_code < 500, f"{path} ({name}) answered {response.status_code}"
        assert '<html lang="nl"' in text, f"{path} ({name}) not in the user's language"
        assert 'class="error' in text or 'role="alert"' in text, f"{path} ({name}) shows no message"
        assert snapshot(data_dir) == before, f"{path} ({name}) changed the database"
        if path == "/staff/login":
            token = auth("coordinator")  # the login form ends the session; sign in again
        checked += 1
    assert checked >= 35


def test_what_was_typed_is_kept_when_one_field_is_wrong(client, auth, seeded):
    token = auth("coordinator")
    response = client.post("/staff/schedule/closures", data={
        "csrf_token": token, "first_day": "2027-01-02", "last_day": "2026-01-01", "reason": "Déménagement du local"})
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="Déménagement du local"' in text and 'value="2027-01-02"' in text
    response = client.post("/staff/members/new", data={
        "csrf_token": token, "display_name": "Mariam K.", "contact": "0470 12 34 56",
        "language": "klingon", "category": "visitor"})
    text = response.get_data(as_text=True)
    assert 'value="Mariam K."' in text and 'value="0470 12 34 56"' in text


def test_typed_text_is_escaped_never_executed(client, auth, seeded):
    token = auth("coordinator")
    response = client.post("/staff/members/new", data={
        "csrf_token": token, "display_name": "<script>alert(1)</script>", "language": "xx", "category": "visitor"})
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)


def test_garbage_and_oversized_uploads_are_refused_without_importing(app, client, auth, seeded, data_dir):
    token = auth("coordinator")
    before = snapshot(data_dir)
    for payload in (b"\x00\xff\xfe binary \x89PNG", b"date,purpose,count\n" + b"2026-01-01,job_search,1\n" * 200000):
        response = client.post("/staff/import", data={"csrf_token": token, "file": (io.BytesIO(payload), "x.csv")},
                               content_type="multipart/form-data", headers=NL)
        assert response.status_code in (400, 413)
        assert '<html lang="nl"' in response.get_data(as_text=True)
    response = client.post("/staff/import", data={"csrf_token": token}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert snapshot(data_dir) == before


@pytest.mark.parametrize("path", ["/staff/visits/999999", "/staff/members/999999", "/staff/visits/abc"])
def test_records_that_do_not_exist_give_404_not_500(client, auth, path):
    auth("mediator")
    assert client.get(path).status_code == 404


def test_wrong_methods_and_unknown_pages_give_clear_4xx(client, auth):
    auth("mediator")
    assert client.get("/staff/logout").status_code == 405
    assert client.put("/staff/visits").status_code == 405
    response = client.get("/staff/nowhere", headers=NL)
    assert response.status_code == 404 and '<html lang="nl"' in response.get_data(as_text=True)


def test_a_day_that_is_not_a_date_falls_back_to_today(client, auth):
    auth("mediator")
    assert client.get("/staff/visits?day=yesterday%00").status_code == 200
