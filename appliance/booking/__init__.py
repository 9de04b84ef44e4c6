"""Booking: computer seats, one-to-one help appointments and workshops (with a waitlist).

Plain rules, no Flask: the visitor pages, the desk, the JSON API and the CLI all call
these functions. Times are the appliance's local time (naive), like the desk's.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from peewee import fn

from appliance.booking.catalogue import upcoming_workshops
from appliance.booking.slots import holding
from appliance.config import BookingConfig, RetentionConfig
from appliance.desk.schedule import Calendar, open_state
from appliance.models import Booking, Member, Seat, Workshop
from appliance.period import Period
from appliance.registry import register_figures, register_personal_data

KINDS = ("seat", "help", "workshop")
BOARD_WORKSHOPS = 5


def _config() -> BookingConfig:
    """The running app's (or worker's) booking settings; defaults outside them."""
    from appliance.taskqueue import runtime

    config = runtime.get("config")
    return config.booking if config is not None else BookingConfig()


def _local_now() -> datetime:
    from appliance.taskqueue import runtime

    config = runtime.get("config")
    if config is None:
        return datetime.now()
    return datetime.now(config.tz).replace(tzinfo=None)


def now_board(now: datetime) -> dict:
    """For the public screen at the entrance: seats free now, today's remaining workshops
    and the next ones. Counts and titles only, never a name."""
    config = _config()
    seats_total = Seat.select().where(Seat.active).count()
    busy = (Booking.select(fn.COUNT(fn.DISTINCT(Booking.seat)))
            .join(Seat).where(Seat.active & (Booking.kind == "seat") & (Booking.starts <= now)
                              & (Booking.ends > now) & holding(now, config)).scalar() or 0)
    is_open = open_state(now, Calendar.load()).open_now
    workshops = [
        {"title": view.workshop.title, "starts": view.workshop.starts, "ends": view.ends,
         "places_left": view.places_left}
        for view in upcoming_workshops(now, limit=BOARD_WORKSHOPS)
    ]
    return {"seats_total": seats_total, "seats_free": max(0, seats_total - busy) if is_open else 0,
            "workshops": workshops}


def figures(period: Period) -> dict[str, int]:
    """Bookings and trainings of a period (slots starting in it). Counts only; none at
    all while the EPN has neither seats nor workshops to book.

    - training.sessions / training.minutes: workshop sessions not cancelled that started;
    - training.participants: workshop places checked in;
    - bookings.<kind>: bookings that got a place (waitlist entries that never did left out);
    - bookings.no_show: places not checked in by the end of the grace period;
    - bookings.cancelled, bookings.checked_in, bookings.waitlist_promoted.
    """
    if not (Seat.select().exists() or Workshop.select().exists()):
        return {}  # booking is not used here: its figures are absent, not zero
    config = _config()
    now = _local_now()
    start = datetime.combine(period.start, datetime.min.time())
    end = datetime.combine(period.end, datetime.min.time())
    held = (~Workshop.cancelled & (Workshop.starts >= start) & (Workshop.starts < end)
            & (Workshop.starts <= now))
    sessions, minutes = Workshop.select(fn.COUNT(Workshop.id), fn.COALESCE(fn.SUM(Workshop.minutes), 0)).where(
        held).tuples().get()
    in_period = (Booking.starts >= start) & (Booking.starts < end)
    out = {"training.sessions": int(sessions), "training.minutes": int(minutes)}
    out["training.participants"] = Booking.select().where(
        in_period & (Booking.kind == "workshop") & (Booking.status == "checked_in")).count()
    placed = in_period & Booking.status.in_(("booked", "checked_in", "cancelled"))
    for kind in KINDS:
        out[f"bookings.{kind}"] = Booking.select().where(placed & (Booking.kind == kind)).count()
    grace = now - timedelta(minutes=config.no_show_minutes)
    out["bookings.no_show"] = Booking.select().where(
        in_period & (Booking.status == "booked") & (Booking.starts <= grace)).count()
    out["bookings.cancelled"] = Booking.select().where(in_period & (Booking.status == "cancelled")).count()
    out["bookings.checked_in"] = Booking.select().where(in_period & (Booking.status == "checked_in")).count()
    out["bookings.waitlist_promoted"] = Booking.select().where(
        in_period & Booking.promoted_at.is_null(False)).count()
    return out


def figure_keys() -> set[str]:
    return ({"training.sessions", "training.minutes", "training.participants", "bookings.no_show",
             "bookings.cancelled", "bookings.checked_in", "bookings.waitlist_promoted"}
            | {f"bookings.{kind}" for kind in KINDS})


def purge_bookings(today: date, retention: RetentionConfig) -> int:
    """Blank the nickname, phone and code of bookings whose slot ended more than
    `booking.retention_days` ago; the rows stay, so the counts remain."""
    limit = datetime.combine(today - timedelta(days=_config().retention_days), datetime.min.time())
    return (Booking.update(code=None, nickname="", phone="", purged=True)
            .where((Booking.ends < limit) & ~Booking.purged).execute())


def export_member(member: Member) -> list:
    """Nothing: a booking is made with a nickname and a code, never linked to a member."""
    return []


def erase_member(member: Member) -> int:
    """0: bookings are not linked to members; one booking is erased by its code
    (see `erase_booking`), and all of them by the retention purge."""
    return 0


register_figures("booking", figures)
register_personal_data("booking", export=export_member, erase=erase_member, purge=purge_bookings)

__all__ = ["KINDS", "figure_keys", "figures", "now_board", "purge_bookings"]
