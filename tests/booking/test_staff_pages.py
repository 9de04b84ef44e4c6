"""The desk's side: agenda, booking for a visitor, check-in into one visit, cancel with the
waitlist moving up, attendance list, the programme; the API with a token."""

from __future__ import annotations

from datetime import timedelta

import pytest

from appliance.accounts import create_token
from appliance.booking.bookings import Visitor, book_seat, book_workshop
from appliance.db import database
from appliance.desk.visits import log_visit
from appliance.models import Booking, Seat, Visit, Workshop
from tests.booking.conftest import CONFIG, NOW, TOMORROW, at


def _book_today(name: str = "Ali") -> Booking:
    with database.connection_context():
        return book_seat(at(NOW.date(), 11), Visitor(name, "0470 00 00 " + str(ord(name[0]))), NOW, CONFIG)


def test_the_day_agenda_lists_bookings_with_their_state(client, auth, app_epn):
    booking = _book_today()
    auth("mediator")
    page = client.get("/staff/booking/").get_data(as_text=True)
    assert "Ali" in page and "0470 00 00 65" in page and f'id="b{booking.id}"' in page
    week = client.get(f"/staff/booking/week?day={NOW.date().isoformat()}")
    assert week.status_code == 200 and "Ali" in week.get_data(as_text=True)


def test_check_in_makes_a_visit_or_joins_the_visit_already_logged(client, auth, app_epn):
    booking = _book_today()
    token = auth("mediator")
    with database.connection_context():
        visit = log_visit("job_search", ["printing"], NOW)
    response = client.post(f"/staff/booking/{booking.id}/check-in",
                           data={"csrf_token": token, "purpose": "job_search", "attach_to": str(visit.id)})
    assert response.status_code == 303
    with database.connection_context():
        assert Visit.select().count() == 1
        assert Visit.get_by_id(visit.id).used_computer
        assert Booking.get_by_id(booking.id).status == "checked_in"
    other = _book_today("Bea")
    client.post(f"/staff/booking/{other.id}/check-in", data={"csrf_token": token, "purpose": "learning_ict"})
    with database.connection_context():
        assert Visit.select().where(Visit.source == "booking").count() == 1


def test_staff_book_for_a_visitor_and_bad_input_keeps_the_form(client, auth, app_epn):
    token = auth("mediator")
    data = {"csrf_token": token, "kind": "seat", "day": TOMORROW.isoformat(), "starts": "12:45",
            "nickname": "Omar", "phone": ""}
    refused = client.post("/staff/booking/new", data=data)
    assert refused.status_code == 400 and 'value="Omar"' in refused.get_data(as_text=True)
    booked = client.post("/staff/booking/new", data={**data, "starts": "14:30"})
    assert booked.status_code == 302
    with database.connection_context():
        assert Booking.get(Booking.nickname == "Omar").by_staff


def test_cancelling_gives_the_place_to_the_first_on_the_waitlist_and_the_desk_sees_it(client, auth, app_epn):
    with database.connection_context():
        first = book_workshop(app_epn["workshop_id"], Visitor("Ana"), NOW)
        book_workshop(app_epn["workshop_id"], Visitor("Ben"), NOW)
        waiting = book_workshop(app_epn["workshop_id"], Visitor("Chloé"), NOW, waitlist=True)
    token = auth("mediator")
    client.set_cookie("epn_lang", "en")
    response = client.post(f"/staff/booking/{first.id}/cancel", data={"csrf_token": token}, follow_redirects=True)
    assert "Chloé, first on the waitlist" in response.get_data(as_text=True)
    with database.connection_context():
        assert Booking.get_by_id(waiting.id).status == "booked"
    listing = client.get(f"/staff/booking/workshops/{app_epn['workshop_id']}/attendance").get_data(as_text=True)
    assert "Chloé" in listing and "Ben" in listing and "Ana" not in listing


def test_a_workshop_series_is_planned_from_the_programme_page(client, auth, app_epn):
    token = auth("mediator")
    data = {"csrf_token": token, "title": "Internet pour tous", "description": "", "language": "fr",
            "level": "beginner", "audience": "", "day": TOMORROW.isoformat(), "starts": "10:00",
            "minutes": "120", "capacity": "8", "mediator": "", "room": "", "weeks": "8"}
    assert client.post("/staff/booking/workshops", data=data).status_code == 303
    with database.connection_context():
        assert Workshop.select().where(Workshop.title == "Internet pour tous").count() == 8
    late = client.post("/staff/booking/workshops", data={**data, "starts": "16:30"})
    assert late.status_code == 400


def test_only_a_coordinator_adds_seats(client, auth, app_epn):
    token = auth("mediator")
    assert client.post("/staff/booking/seats", data={"csrf_token": token, "name": "PC 9"}).status_code == 403


def test_a_coordinator_adds_a_seat_with_features(client, auth, app_epn):
    token = auth("coordinator")
    response = client.post("/staff/booking/seats",
                           data={"csrf_token": token, "name": "PC braille", "features": ["accessibility"], "active": "y"})
    assert response.status_code == 303
    with database.connection_context():
        assert Seat.get(Seat.name == "PC braille").accessibility


@pytest.fixture
def bearer(data_dir):  # type: ignore[no-untyped-def]
    with database.connection_context():
        return {"Authorization": f"Bearer {create_token('desk-tablet')}"}


def test_the_api_books_lists_checks_in_and_cancels(client, app_epn, bearer):
    made = client.post("/api/v1/bookings", headers=bearer,
                       json={"kind": "seat", "starts": f"{NOW.date().isoformat()}T11:00", "nickname": "Api"})
    assert made.status_code == 201, made.get_json()
    booking = made.get_json()
    assert booking["state"] == "booked" and len(booking["code"]) == 8
    listed = client.get(f"/api/v1/bookings?day={NOW.date().isoformat()}", headers=bearer).get_json()
    assert [b["nickname"] for b in listed["bookings"]] == ["Api"]
    checked = client.post(f"/api/v1/bookings/{booking['id']}/check-in", headers=bearer, json={"purpose": "job_search"})
    assert checked.status_code == 200 and checked.get_json()["visit"]
    workshops = client.get("/api/v1/workshops", headers=bearer).get_json()["workshops"]
    assert workshops[0]["places_left"] == 2
    place = client.post("/api/v1/bookings", headers=bearer,
                        json={"kind": "workshop", "workshop": workshops[0]["id"], "nickname": "W"}).get_json()
    assert client.post(f"/api/v1/bookings/{place['id']}/cancel", headers=bearer).get_json()["cancelled"] == place["id"]


@pytest.mark.parametrize("body", [
    {"kind": "seat", "nickname": "X"}, {"kind": "seat", "starts": "tomorrow", "nickname": "X"},
    {"kind": "boat", "nickname": "X"}, {"kind": "workshop", "workshop": "1", "nickname": "X"},
    {"kind": "seat", "starts": "2026-11-18T09:00", "nickname": "X", "extra": 1}, [1], "text",
])
def test_the_api_refuses_bad_bookings_with_a_message(client, app_epn, bearer, body):
    response = client.post("/api/v1/bookings", headers=bearer, json=body)
    assert response.status_code == 400 and response.get_json()["message"]
    with database.connection_context():
        assert Booking.select().count() == 0


def test_the_api_answers_409_with_the_next_free_slot(client, app_epn, bearer):
    for name in ("A", "B", "C"):
        client.post("/api/v1/bookings", headers=bearer,
                    json={"kind": "seat", "starts": f"{TOMORROW.isoformat()}T09:00", "nickname": name})
    full = client.post("/api/v1/bookings", headers=bearer,
                       json={"kind": "seat", "starts": f"{TOMORROW.isoformat()}T09:00", "nickname": "D"})
    assert full.status_code == 409 and full.get_json()["next_free"] == f"{TOMORROW.isoformat()}T10:00:00"


def test_the_desk_erases_one_visitors_name_phone_and_code_on_request(client, auth, app_epn):
    booking = _book_today("Zora")
    token = auth("mediator")
    assert client.post(f"/staff/booking/{booking.id}/erase", data={"csrf_token": token}).status_code == 303
    with database.connection_context():
        row = Booking.get_by_id(booking.id)
    assert (row.nickname, row.phone, row.code, row.status) == ("", "", None, "cancelled")
    assert client.get(f"/booking/t/{booking.code}").status_code == 404


def test_a_coordinator_stops_a_seat_from_being_booked(client, auth, app_epn):
    token = auth("coordinator")
    seat = app_epn["seats"][0]
    response = client.post(f"/staff/booking/seats/{seat.id}", data={"csrf_token": token, "name": seat.name})
    assert response.status_code == 303
    with database.connection_context():
        assert not Seat.get_by_id(seat.id).active
    assert "PC 1" in client.get("/staff/booking/programme").get_data(as_text=True)


def test_the_desk_moves_a_workshop_place_to_another_session(client, auth, app_epn):
    from appliance.booking.catalogue import create_workshops
    from tests.booking.conftest import workshop_draft

    with database.connection_context():
        later = create_workshops(workshop_draft(day=TOMORROW + timedelta(weeks=1)), NOW)[0][0]
        place = book_workshop(app_epn["workshop_id"], Visitor("Ana"), NOW)
    token = auth("mediator")
    assert client.get(f"/staff/booking/{place.id}/move").status_code == 200
    response = client.post(f"/staff/booking/{place.id}/move", data={"csrf_token": token, "workshop": str(later.id)})
    assert response.status_code == 303
    with database.connection_context():
        assert Booking.get_by_id(place.id).workshop_id == later.id
