"""Booking rules: slots follow opening hours, shifts and closures; places are never
given twice; the waitlist moves up by itself; check-in makes one visit; no-shows."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from appliance.booking import figures, now_board, purge_bookings
from appliance.booking.bookings import (
    Unavailable,
    Visitor,
    WorkshopFull,
    agenda,
    attendance,
    book_help,
    book_seat,
    book_workshop,
    cancel_booking,
    check_in,
    find_by_code,
    move_booking,
    waitlist_position,
)
from appliance.booking.catalogue import create_workshops, places_left
from appliance.booking.codes import ALPHABET, WrongCodeLimiter, format_code, normalise_code
from appliance.booking.slots import help_slots, seat_slots, state_of
from appliance.config import RetentionConfig
from appliance.desk.schedule import add_closure
from appliance.errors import InvalidInput
from appliance.models import Booking, Visit
from appliance.period import Period
from tests.booking.conftest import CONFIG, NOW, TOMORROW, at, workshop_draft

ALI = Visitor("Ali", "", "ar")
BEA = Visitor("Béa", "0470 12 34 56", "fr")


def test_codes_are_long_unambiguous_and_forgive_typing(epn):
    booking = book_seat(at(TOMORROW, 9), ALI, NOW, CONFIG)
    assert len(booking.code) >= 8 and set(booking.code) <= set(ALPHABET)
    assert not set("ILOU") & set(booking.code)
    typed = format_code(booking.code).lower()
    assert normalise_code(typed) == booking.code
    assert normalise_code("0O1IL-xxxx") is None or "O" not in normalise_code("0O1IL-XXXX")
    assert find_by_code(" " + typed + " ").id == booking.id
    assert find_by_code("AAAA-AAAA") is None


def test_seat_slots_follow_opening_hours_and_skip_the_past(epn):
    today = seat_slots(NOW.date(), NOW, CONFIG, _calendar())
    assert [s.starts.time() for s in today] == [time(11, 0), time(13, 30), time(14, 30), time(15, 30)]
    assert all(s.free == 3 for s in today)
    assert seat_slots(date(2026, 11, 22), NOW, CONFIG, _calendar()) == []  # Sunday: closed


def test_help_slots_exist_only_while_a_mediator_is_on_duty(epn):
    slots = help_slots(TOMORROW, NOW, CONFIG, _calendar())
    assert slots and all(s.ends.time() <= time(12, 30) for s in slots)
    assert all(s.free == 1 for s in slots)


def test_nothing_can_be_booked_outside_hours_in_the_past_or_on_a_closure(epn):
    with pytest.raises(InvalidInput) as past:
        book_seat(at(NOW.date(), 9), ALI, NOW, CONFIG)
    assert "past" in past.value.message
    with pytest.raises(InvalidInput, match="not open"):
        book_seat(at(TOMORROW, 12, 30), ALI, NOW, CONFIG)
    with pytest.raises(InvalidInput, match="No mediator is on duty"):
        book_help(at(TOMORROW, 14), "forms", ALI, NOW, CONFIG)  # no mediator in the afternoon
    add_closure(TOMORROW, TOMORROW, "Staff training")
    with pytest.raises(InvalidInput, match="not open"):
        book_seat(at(TOMORROW, 9), ALI, NOW, CONFIG)
    with pytest.raises(InvalidInput, match="days ahead"):
        book_seat(at(NOW.date() + timedelta(days=30), 9), ALI, NOW, CONFIG)
    assert Booking.select().count() == 0


def test_the_last_seat_goes_once_and_the_next_free_slot_is_offered(epn):
    for name in ("A", "B", "C"):
        book_seat(at(TOMORROW, 9), Visitor(name), NOW, CONFIG)
    with pytest.raises(Unavailable) as full:
        book_seat(at(TOMORROW, 9), Visitor("D"), NOW, CONFIG)
    assert full.value.alternative.starts == at(TOMORROW, 10)
    assert Booking.select().count() == 3
    seats = {b.seat_id for b in Booking.select()}
    assert len(seats) == 3


def test_a_seat_with_a_feature_is_chosen_when_asked(epn):
    booking = book_seat(at(TOMORROW, 9), ALI, NOW, CONFIG, feature="eid_reader")
    assert booking.seat.eid_reader
    with pytest.raises(Unavailable):
        book_seat(at(TOMORROW, 9), BEA, NOW, CONFIG, feature="eid_reader")


def test_one_person_cannot_book_overlapping_slots(epn):
    book_seat(at(TOMORROW, 9), BEA, NOW, CONFIG)
    with pytest.raises(InvalidInput, match="already have"):
        book_help(at(TOMORROW, 9, 30), "eid", Visitor("Béatrice", "0470123456"), NOW, CONFIG)
    # Another person with the same nickname but her own phone may book.
    assert book_seat(at(TOMORROW, 9), Visitor("Béa", "0488 00 00 00"), NOW, CONFIG).id


def test_help_appointments_take_one_mediator_each(epn):
    book_help(at(TOMORROW, 9), "itsme", ALI, NOW, CONFIG)
    with pytest.raises(Unavailable) as taken:
        book_help(at(TOMORROW, 9), "forms", BEA, NOW, CONFIG)
    assert taken.value.alternative.starts == at(TOMORROW, 9, 30)


def test_the_waitlist_moves_up_when_a_place_frees(epn):
    workshop = create_workshops(workshop_draft(capacity=1), NOW)[0][0]
    first = book_workshop(workshop.id, ALI, NOW)
    with pytest.raises(WorkshopFull):
        book_workshop(workshop.id, BEA, NOW)
    waiting = book_workshop(workshop.id, BEA, NOW, waitlist=True)
    third = book_workshop(workshop.id, Visitor("Chris"), NOW, waitlist=True)
    assert (waiting.status, waitlist_position(waiting), waitlist_position(third)) == ("waiting", 1, 2)
    promoted = cancel_booking(first.id, NOW)
    assert promoted.id == waiting.id
    assert Booking.get_by_id(waiting.id).status == "booked"
    assert Booking.get_by_id(waiting.id).promoted_at == NOW
    assert waitlist_position(Booking.get_by_id(third.id)) == 1
    assert places_left(workshop) == 0
    places, queue = attendance(workshop.id)
    assert [b.nickname for b in places] == ["Béa"] and [b.nickname for b in queue] == ["Chris"]


def test_a_series_skips_closures_and_lists_each_session(epn):
    add_closure(TOMORROW + timedelta(weeks=2), TOMORROW + timedelta(weeks=2), "Holiday")
    made, skipped = create_workshops(workshop_draft(weeks=8), NOW)
    assert (len(made), skipped) == (7, 1)
    assert len({w.series for w in made}) == 1 and made[0].series
    assert len({w.uid for w in made}) == 7
    with pytest.raises(InvalidInput, match="opening hours"):
        create_workshops(workshop_draft(starts=time(12)), NOW)


def test_check_in_makes_one_visit_or_joins_todays(epn):
    booking = book_seat(at(NOW.date(), 11), ALI, NOW, CONFIG)
    help_ = book_help(at(NOW.date(), 12), "job_search", ALI, NOW, CONFIG)
    later = NOW.replace(hour=11, minute=2)
    check_in(booking.id, "leisure_culture_info", later)
    visit = Booking.get_by_id(booking.id).visit
    assert visit.source == "booking" and visit.used_computer
    check_in(help_.id, "job_search", later, attach_to=visit.id)
    assert Visit.select().count() == 1
    assert Visit.get_by_id(visit.id).used_mediator
    with pytest.raises(InvalidInput):
        check_in(booking.id, "job_search", later)  # not twice


def test_no_show_after_the_grace_period_frees_the_seat(epn):
    for name in ("A", "B", "C"):
        book_seat(at(NOW.date(), 11), Visitor(name), NOW, CONFIG)
    late = NOW.replace(hour=11, minute=16)
    rows = agenda(NOW.date(), NOW.date(), late, CONFIG)
    assert {row.state for row in rows} == {"no_show"}
    assert now_board(late)["seats_free"] == 3
    assert book_seat(at(NOW.date(), 13, 30), ALI, late, CONFIG)
    assert state_of(rows[0].booking, NOW, CONFIG) == "booked"


def test_a_booking_can_be_moved_to_a_free_slot(epn):
    booking = book_seat(at(TOMORROW, 9), ALI, NOW, CONFIG)
    moved = move_booking(booking.id, at(TOMORROW, 14, 30), NOW, CONFIG)
    assert moved.starts == at(TOMORROW, 14, 30) and moved.code == booking.code
    with pytest.raises(InvalidInput):
        move_booking(booking.id, at(TOMORROW, 12, 0), NOW, CONFIG)


def test_now_board_shows_counts_and_titles_only(epn):
    create_workshops(workshop_draft(day=NOW.date(), starts=time(13, 30)), NOW)
    book_seat(at(NOW.date(), 11), ALI, NOW, CONFIG)
    board = now_board(NOW.replace(hour=11, minute=5))
    assert (board["seats_total"], board["seats_free"]) == (3, 2)
    assert board["workshops"][0]["title"] == "Mon smartphone"
    assert board["workshops"][0]["places_left"] == 2
    assert "Ali" not in repr(board)
    assert now_board(NOW.replace(hour=13, minute=0))["seats_free"] == 0  # closed at lunch


def test_figures_count_sessions_participants_and_outcomes(epn):
    workshop = create_workshops(workshop_draft(day=NOW.date(), starts=time(11)), NOW)[0][0]
    a = book_workshop(workshop.id, ALI, NOW)
    book_workshop(workshop.id, BEA, NOW)
    book_workshop(workshop.id, Visitor("Chris"), NOW, waitlist=True)
    check_in(a.id, "learning_ict", NOW.replace(hour=11))
    seat = book_seat(at(NOW.date(), 13, 30), Visitor("Dan"), NOW, CONFIG)
    cancel_booking(seat.id, NOW)
    import appliance.booking as booking_module

    original = booking_module._local_now
    booking_module._local_now = lambda: NOW.replace(hour=16)
    try:
        out = figures(Period.parse("2026-W47"))
    finally:
        booking_module._local_now = original
    assert out["training.sessions"] == 1 and out["training.minutes"] == 90
    assert out["training.participants"] == 1
    assert out["bookings.workshop"] == 2 and out["bookings.seat"] == 1
    assert out["bookings.no_show"] == 1 and out["bookings.cancelled"] == 1
    assert out["bookings.checked_in"] == 1


def test_retention_blanks_names_phones_and_codes_but_keeps_counts(epn):
    booking = book_seat(at(TOMORROW, 9), BEA, NOW, CONFIG)
    assert purge_bookings(TOMORROW + timedelta(days=30), RetentionConfig()) == 0
    assert purge_bookings(TOMORROW + timedelta(days=31), RetentionConfig()) == 1
    row = Booking.get_by_id(booking.id)
    assert (row.nickname, row.phone, row.code, row.purged) == ("", "", None, True)
    assert find_by_code(booking.code) is None
    assert Booking.select().count() == 1


def test_the_wrong_code_limiter_blocks_after_the_allowed_attempts():
    limiter = WrongCodeLimiter()
    for n in range(5):
        assert limiter.wait_seconds("10.0.0.7", 5, 600, now=100.0 + n) == 0
        limiter.failed("10.0.0.7", 600, now=100.0 + n)
    assert limiter.wait_seconds("10.0.0.7", 5, 600, now=110.0) > 0
    assert limiter.wait_seconds("10.0.0.8", 5, 600, now=110.0) == 0
    assert limiter.wait_seconds("10.0.0.7", 5, 600, now=701.0) == 0
    assert "10.0.0.7" not in repr(limiter._failures)


def _calendar():  # type: ignore[no-untyped-def]
    from appliance.desk.schedule import Calendar

    return Calendar.load()


def test_booking_figures_are_in_the_report_allow_list_and_absent_when_unused(db):
    from appliance.federation.schema import CURRENT_SCHEMA, SCHEMAS
    from tests.booking.conftest import set_up_epn

    assert figures(Period.parse("2026-W47")) == {}  # no seat, no workshop: booking not used
    set_up_epn()
    keys = set(figures(Period.parse("2026-W47")))
    assert {"training.sessions", "training.minutes", "training.participants", "bookings.seat",
            "bookings.help", "bookings.workshop", "bookings.no_show", "bookings.cancelled"} <= keys
    assert keys <= SCHEMAS[CURRENT_SCHEMA]


def test_a_workshop_place_moves_to_next_weeks_session_and_frees_its_place(epn):
    from appliance.booking.bookings import move_to_workshop

    first, second = create_workshops(workshop_draft(capacity=1, weeks=2), NOW)[0]
    place = book_workshop(first.id, ALI, NOW)
    waiting = book_workshop(first.id, BEA, NOW, waitlist=True)
    moved = move_to_workshop(place.id, second.id, NOW)
    assert (moved.workshop_id, moved.starts, moved.code) == (second.id, second.starts, place.code)
    assert Booking.get_by_id(waiting.id).status == "booked"
    with pytest.raises(WorkshopFull):
        move_to_workshop(waiting.id, second.id, NOW)
