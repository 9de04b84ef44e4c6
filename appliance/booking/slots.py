"""Bookable slots of seats and help appointments, from the opening hours, the mediators'
shifts and the closures: nothing can be booked outside them.

A booking holds its place while it is booked or checked in; a booking not checked in
`no_show_minutes` after its start is a no-show (worked out when read, see `state_of`)
and stops holding its place, so a seat left empty can be given to someone else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from appliance.config import BookingConfig
from appliance.desk.schedule import Calendar
from appliance.models import Booking, Seat

HELP_KINDS = ("forms", "eid", "itsme", "irisbox", "job_search")
# The visit purpose a help appointment becomes at check-in.
HELP_PURPOSES = {"forms": "admin_procedures", "eid": "admin_procedures", "itsme": "admin_procedures",
                 "irisbox": "admin_procedures", "job_search": "job_search"}


@dataclass(frozen=True)
class Slot:
    starts: datetime
    ends: datetime
    free: int


def state_of(booking: Booking, now: datetime, config: BookingConfig) -> str:
    """booked | waiting | checked_in | cancelled, or no_show once the grace period is over."""
    if booking.status == "booked" and now >= booking.starts + timedelta(minutes=config.no_show_minutes):
        return "no_show"
    return booking.status


def holding(now: datetime, config: BookingConfig):  # type: ignore[no-untyped-def]
    """The peewee condition of a booking that holds its place at `now`."""
    grace = now - timedelta(minutes=config.no_show_minutes)
    return (Booking.status == "checked_in") | ((Booking.status == "booked") & (Booking.starts > grace))


def overlapping(starts: datetime, ends: datetime):  # type: ignore[no-untyped-def]
    return (Booking.starts < ends) & (Booking.ends > starts)


def bookable_days(today: date, config: BookingConfig, calendar: Calendar) -> list[date]:
    """The open days from today to `days_ahead` days later."""
    days = (today + timedelta(days=n) for n in range(config.days_ahead + 1))
    return [day for day in days if calendar.opening(day)]


def _grid(day: date, minutes: int, calendar: Calendar) -> list[tuple[datetime, datetime]]:
    """Slots of `minutes` from each opening time of the day, as long as they fit."""
    out = []
    step = timedelta(minutes=minutes)
    for opens, closes in calendar.opening(day):
        starts, end = datetime.combine(day, opens), datetime.combine(day, closes)
        while starts + step <= end:
            out.append((starts, starts + step))
            starts += step
    return out


def seat_slots(day: date, now: datetime, config: BookingConfig, calendar: Calendar,
               feature: str = "") -> list[Slot]:
    """The day's seat slots still to come, with how many seats (having `feature`) are free."""
    seats = _seats(feature)
    out = []
    for starts, ends in _grid(day, config.seat_slot_minutes, calendar):
        if starts < now:
            continue
        out.append(Slot(starts, ends, len(free_seats(seats, starts, ends, now, config))))
    return out


def _seats(feature: str = "") -> list[Seat]:
    query = Seat.select().where(Seat.active).order_by(Seat.id)
    if feature:
        query = query.where(getattr(Seat, feature))
    return list(query)


def free_seats(seats: list[Seat], starts: datetime, ends: datetime, now: datetime,
               config: BookingConfig, ignore: int | None = None) -> list[Seat]:
    taken_query = Booking.select(Booking.seat).where(
        (Booking.kind == "seat") & overlapping(starts, ends) & holding(now, config)
    )
    if ignore is not None:
        taken_query = taken_query.where(Booking.id != ignore)
    taken = {seat_id for (seat_id,) in taken_query.tuples()}
    return [seat for seat in seats if seat.id not in taken]


def mediators_covering(starts: datetime, ends: datetime, calendar: Calendar) -> int:
    """How many mediators are present for the whole of [starts, ends)."""
    if starts.date() != ends.date() or not calendar.opening(starts.date()):
        return 0
    names = {name for weekday, a, b, name in calendar.shifts
             if weekday == starts.weekday() and a <= starts.time() and ends.time() <= b}
    return len(names)


def help_free(starts: datetime, ends: datetime, now: datetime, config: BookingConfig,
              calendar: Calendar, ignore: int | None = None) -> int:
    query = Booking.select().where((Booking.kind == "help") & overlapping(starts, ends) & holding(now, config))
    if ignore is not None:
        query = query.where(Booking.id != ignore)
    return max(0, mediators_covering(starts, ends, calendar) - query.count())


def help_slots(day: date, now: datetime, config: BookingConfig, calendar: Calendar) -> list[Slot]:
    """The day's help slots still to come while a mediator is on duty, with places free."""
    out = []
    for starts, ends in _grid(day, config.help_minutes, calendar):
        if starts < now or not mediators_covering(starts, ends, calendar):
            continue
        out.append(Slot(starts, ends, help_free(starts, ends, now, config, calendar)))
    return out


def on_grid(starts: datetime, minutes: int, calendar: Calendar) -> datetime | None:
    """The end of the slot starting at `starts`, if it is one of the day's slots."""
    for a, b in _grid(starts.date(), minutes, calendar):
        if a == starts:
            return b
    return None
