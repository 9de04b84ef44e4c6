"""Booking fixtures: opening hours, a mediator's shifts, a few seats and a workshop,
around the test clock (Tuesday 17 November 2026, 10:30)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from appliance.booking.catalogue import WorkshopDraft, add_seat, create_workshops
from appliance.config import BookingConfig
from appliance.db import database
from appliance.desk.schedule import add_shift, set_weekly_hours
from appliance.models import StaffUser
from tests.conftest import FIXED_NOW

NOW = FIXED_NOW
TOMORROW = NOW.date() + timedelta(days=1)  # a Wednesday
CONFIG = BookingConfig()


def set_up_epn(seats: int = 3) -> dict:
    """Open Monday to Saturday 9:00-12:30 and 13:30-17:00; Mehdi on duty every morning."""
    set_weekly_hours({day: [(time(9), time(12, 30)), (time(13, 30), time(17))] for day in range(6)})
    mehdi = StaffUser.get(StaffUser.username == "mehdi")
    for day in range(6):
        add_shift(day, time(9), time(12, 30), mehdi.id)
    made = [add_seat(f"PC {n}", ["eid_reader"] if n == 1 else []) for n in range(1, seats + 1)]
    return {"mediator": mehdi, "seats": made}


def workshop_draft(day: date = TOMORROW, capacity: int = 2, weeks: int = 1, **changes) -> WorkshopDraft:
    fields = {"title": "Mon smartphone", "description": "Les bases", "language": "fr", "level": "beginner",
              "audience": "Seniors", "day": day, "starts": time(10), "minutes": 90, "capacity": capacity,
              "mediator_id": None, "room": "Salle 1", "weeks": weeks}
    fields.update(changes)
    return WorkshopDraft(**fields)


@pytest.fixture
def epn(db) -> dict:  # type: ignore[no-untyped-def]
    return set_up_epn()


@pytest.fixture
def app_epn(app) -> dict:  # type: ignore[no-untyped-def]
    """The same EPN, for tests that go through the web app."""
    with database.connection_context():
        cast = set_up_epn()
        workshop = create_workshops(workshop_draft(), NOW)[0][0]
    return {**cast, "workshop_id": workshop.id}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute))
