"""The visitor's three screens, the ticket and its code, the waitlist seen with the code,
bad input answered in the visitor's language, wrong codes slowed down, the iCal feed."""

from __future__ import annotations

import re

import pytest

from appliance.db import database
from appliance.models import Booking
from tests.booking.conftest import TOMORROW
from tests.conftest import CSRF

TICKET = re.compile(r"/booking/t/([0-9A-Z]{8})$")


def token_of(client, path: str) -> str:  # type: ignore[no-untyped-def]
    page = client.get(path).get_data(as_text=True)
    match = CSRF.search(page) or re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def book_seat(client, slot: str, nickname: str = "Ali", phone: str = "", **extra):  # type: ignore[no-untyped-def]
    data = {"csrf_token": token_of(client, "/booking/seat"), "day": TOMORROW.isoformat(), "slot": slot,
            "nickname": nickname, "phone": phone, **extra}
    return client.post("/booking/seat", data=data)


def code_of(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    match = TICKET.search(response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def test_a_visitor_books_a_seat_in_three_screens_and_sees_the_code_big_with_a_qr(client, app_epn):
    home = client.get("/booking/").get_data(as_text=True)
    assert 'href="/booking/seat"' in home and 'href="/booking/help"' in home
    slots = client.get(f"/booking/seat?day={TOMORROW.isoformat()}").get_data(as_text=True)
    assert f'value="{TOMORROW.isoformat()}T09:00"' in slots
    code = code_of(book_seat(client, f"{TOMORROW.isoformat()}T09:00"))
    ticket = client.get(f"/booking/t/{code}").get_data(as_text=True)
    assert f"{code[:4]}-{code[4:]}" in ticket
    assert "<svg" in ticket and 'class="qr"' in ticket
    printable = client.get(f"/booking/t/{code}/print")
    assert printable.status_code == 200 and code[:4] in printable.get_data(as_text=True)


def test_a_help_appointment_is_booked_with_its_kind(client, app_epn):
    data = {"csrf_token": token_of(client, "/booking/help"), "day": TOMORROW.isoformat(),
            "slot": f"{TOMORROW.isoformat()}T09:30", "help_kind": "itsme", "nickname": "Rosa"}
    code = code_of(client.post("/booking/help", data=data))
    with database.connection_context():
        booking = Booking.get(Booking.code == code)
    assert (booking.kind, booking.help_kind) == ("help", "itsme")


def test_bad_input_is_refused_in_the_visitors_language_and_the_form_keeps_what_was_typed(client, app_epn):
    client.set_cookie("epn_lang", "en")
    past = book_seat(client, "2026-11-17T09:00", nickname="Zoë")
    assert past.status_code == 400
    assert "already past" in past.get_data(as_text=True) and 'value="Zoë"' in past.get_data(as_text=True)
    outside = book_seat(client, f"{TOMORROW.isoformat()}T12:45", nickname="Zoë")
    assert outside.status_code == 400 and "not open" in outside.get_data(as_text=True)
    garbage = book_seat(client, "not-a-time", nickname="Zoë")
    assert garbage.status_code == 400
    no_name = book_seat(client, f"{TOMORROW.isoformat()}T09:00", nickname="  ")
    assert no_name.status_code == 400
    with database.connection_context():
        assert Booking.select().count() == 0


def test_the_pages_speak_arabic_right_to_left(client, app_epn):
    client.set_cookie("epn_lang", "ar")
    page = client.get("/booking/").get_data(as_text=True)
    assert 'dir="rtl"' in page and 'lang="ar"' in page
    refused = book_seat(client, "2026-11-17T09:00")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "This moment is already past" not in text  # translated, not English


def test_double_booking_an_overlapping_slot_is_refused(client, app_epn):
    code_of(book_seat(client, f"{TOMORROW.isoformat()}T09:00", "Ali", "0470 11 22 33"))
    again = book_seat(client, f"{TOMORROW.isoformat()}T09:00", "Ali", "0470 11 22 33")
    assert again.status_code == 400
    with database.connection_context():
        assert Booking.select().count() == 1


def test_a_full_workshop_offers_the_waitlist_and_the_visitor_sees_the_promotion(client, app_epn):
    workshop = app_epn["workshop_id"]

    def book(name: str, **extra):  # type: ignore[no-untyped-def]
        data = {"csrf_token": token_of(client, "/booking/workshops"), "workshop": str(workshop),
                "nickname": name, **extra}
        return client.post("/booking/workshops", data=data)

    first = code_of(book("Ana"))
    code_of(book("Ben"))
    full = book("Chloé")
    assert full.status_code == 409
    assert 'name="waitlist" value="1"' in full.get_data(as_text=True)
    waiting = code_of(book("Chloé", waitlist="1"))
    assert "waitlist" in client.get(f"/booking/t/{waiting}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    cancelled = client.post(f"/booking/t/{first}/cancel", data={"csrf_token": token_of(client, f"/booking/t/{first}")})
    assert cancelled.status_code == 303
    client.set_cookie("epn_lang", "en")
    now_page = client.get(f"/booking/t/{waiting}").get_data(as_text=True)
    assert "A place freed up" in now_page


def test_unknown_codes_are_answered_and_repeated_wrong_codes_are_slowed_down(client, app_epn):
    code = code_of(book_seat(client, f"{TOMORROW.isoformat()}T10:00"))
    assert client.get(f"/booking/t/{code}").status_code == 200
    token = token_of(client, "/booking/")
    for guess in ("AAAA-AAAA", "BBBB-BBBB", "CCCC-CCCC", "DDDD-DDDD", "EEEE-EEEE"):
        assert client.post("/booking/find", data={"csrf_token": token, "code": guess}).status_code == 404
    blocked = client.post("/booking/find", data={"csrf_token": token, "code": code})
    assert blocked.status_code == 429
    assert client.get(f"/booking/t/{code}").status_code == 429


def test_a_code_typed_loosely_still_finds_the_booking(client, app_epn):
    code = code_of(book_seat(client, f"{TOMORROW.isoformat()}T11:00"))
    typed = f" {code[:4].lower()} {code[4:].lower()} "
    found = client.post("/booking/find", data={"csrf_token": token_of(client, "/booking/"), "code": typed})
    assert found.status_code == 303 and found.headers["Location"].endswith(f"/booking/t/{code}")


def test_the_workshop_feed_is_valid_icalendar(client, app_epn):
    response = client.get("/booking/workshops.ics")
    body = response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/calendar")
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.endswith("END:VCALENDAR\r\n")
    assert "\n" not in body.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    unfolded = body.replace("\r\n ", "")
    assert "SUMMARY:Mon smartphone" in unfolded
    assert re.search(r"DTSTART:20261118T090000Z", unfolded)  # 10:00 in Brussels
    assert "UID:" in unfolded and "DTSTAMP:" in unfolded


@pytest.mark.parametrize("workshop", ["abc", "999999", "", "1 OR 1=1"])
def test_a_tampered_workshop_choice_is_refused_and_nothing_is_written(client, app_epn, workshop):
    data = {"csrf_token": token_of(client, "/booking/workshops"), "workshop": workshop, "nickname": "Eve"}
    response = client.post("/booking/workshops", data=data)
    assert response.status_code == 400 and 'value="Eve"' in response.get_data(as_text=True)
    with database.connection_context():
        assert Booking.select().count() == 0


def test_an_oversized_name_or_a_bad_phone_is_refused(client, app_epn):
    assert book_seat(client, f"{TOMORROW.isoformat()}T09:00", nickname="x" * 41).status_code == 400
    bad_phone = book_seat(client, f"{TOMORROW.isoformat()}T09:00", phone="call me")
    assert bad_phone.status_code == 400
    with database.connection_context():
        assert Booking.select().count() == 0


def test_a_past_booking_shows_it_is_over_and_cannot_be_cancelled(client, app, app_epn):
    code = code_of(book_seat(client, f"{TOMORROW.isoformat()}T09:00"))
    token = token_of(client, f"/booking/t/{code}")
    from datetime import datetime

    app.extensions["epn_clock"] = lambda: datetime.combine(TOMORROW, datetime.min.time()).replace(hour=11)
    client.set_cookie("epn_lang", "en")
    page = client.get(f"/booking/t/{code}").get_data(as_text=True)
    assert "This booking is over" in page and "Cancel this booking" not in page
    refused = client.post(f"/booking/t/{code}/cancel", data={"csrf_token": token})
    assert refused.status_code == 400 and "over" in refused.get_data(as_text=True)
