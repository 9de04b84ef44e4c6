"""Making, finding, cancelling, moving and checking in bookings.

Every check-then-write runs inside `database.atomic("IMMEDIATE")`: SQLite takes the
write lock before the check, so two visitors asking for the last place at the same
moment are served one after the other and exactly one of them gets it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from peewee import JOIN

from appliance.booking.catalogue import FEATURES, HOLDING, ends_of, places_left
from appliance.booking.codes import new_code, normalise_code
from appliance.booking.slots import (
    HELP_KINDS,
    HELP_PURPOSES,
    Slot,
    _seats,
    free_seats,
    help_free,
    help_slots,
    mediators_covering,
    on_grid,
    overlapping,
    seat_slots,
    state_of,
)
from appliance.config import VISITOR_LANGUAGES, BookingConfig
from appliance.db import database
from appliance.desk.schedule import Calendar
from appliance.desk.visits import arrival_visit, check_purpose
from appliance.errors import N_, InvalidInput, NotFound
from appliance.models import Booking, Seat, Workshop

ACTIVE = ("booked", "waiting", "checked_in")
SERVICES = {"seat": ["computer"], "help": ["mediator"], "workshop": ["training"]}
_PHONE = re.compile(r"^\+?[0-9 ./()-]{6,30}$")


class Unavailable(InvalidInput):
    """The slot was taken (or is not free); `alternative` is the next free slot, if any."""

    def __init__(self, field: str, message: str, alternative: Slot | None = None, **params: object) -> None:
        super().__init__(field, message, **params)
        self.alternative = alternative


class WorkshopFull(InvalidInput):
    """No place left: the visitor may join the waitlist instead."""


@dataclass(frozen=True)
class Visitor:
    """Who books: a nickname, an optional phone, the language of the pages they saw."""

    nickname: str
    phone: str = ""
    language: str = "fr"


def check_visitor(visitor: Visitor) -> Visitor:
    nickname = " ".join(visitor.nickname.split())
    phone = visitor.phone.strip()
    if not nickname:
        raise InvalidInput("nickname", N_("Give a first name or a nickname."))
    if len(nickname) > 40:
        raise InvalidInput("nickname", N_("At most %(n)s characters."), n=40)
    if any(not char.isprintable() for char in nickname):
        raise InvalidInput("nickname", N_("Use letters and digits only."))
    if phone and (not _PHONE.match(phone) or sum(c.isdigit() for c in phone) < 6):
        raise InvalidInput("phone", N_("Type a phone number with digits only, or leave it empty."))
    language = visitor.language if visitor.language in VISITOR_LANGUAGES else "fr"
    return Visitor(nickname, phone, language)


def _same_person(booking: Booking, visitor: Visitor) -> bool:
    if visitor.phone and booking.phone:
        return _digits(booking.phone) == _digits(visitor.phone)
    return booking.nickname.casefold() == visitor.nickname.casefold() and not (booking.phone or visitor.phone)


def _digits(phone: str) -> str:
    return "".join(c for c in phone if c.isdigit())


def _check_no_overlap(visitor: Visitor, starts: datetime, ends: datetime, ignore: int | None = None) -> None:
    query = Booking.select().where(overlapping(starts, ends) & Booking.status.in_(ACTIVE))
    if ignore is not None:
        query = query.where(Booking.id != ignore)
    if any(_same_person(b, visitor) for b in query):
        raise InvalidInput("nickname", N_("You already have a booking at that time."))


def _check_future(starts: datetime, now: datetime, config: BookingConfig) -> None:
    if starts < now:
        raise InvalidInput("slot", N_("This moment is already past. Choose another one."))
    if starts.date() > now.date() + timedelta(days=config.days_ahead):
        raise InvalidInput("slot", N_("You can book at most %(n)s days ahead."), n=config.days_ahead)


def _create(kind: str, visitor: Visitor, starts: datetime, ends: datetime, now: datetime,
            by_staff: bool, **fields: object) -> Booking:
    code = new_code()
    while Booking.select().where(Booking.code == code).exists():  # inside the write lock
        code = new_code()
    return Booking.create(code=code, kind=kind, starts=starts, ends=ends, nickname=visitor.nickname,
                          phone=visitor.phone, language=visitor.language, by_staff=by_staff,
                          created_at=now, **fields)


def _next_free(slots: list[Slot], after: datetime) -> Slot | None:
    return next((s for s in slots if s.starts >= after and s.free > 0), None)


def book_seat(starts: datetime, visitor: Visitor, now: datetime, config: BookingConfig,
              feature: str = "", by_staff: bool = False, calendar: Calendar | None = None) -> Booking:
    """Book a seat (with `feature` if asked) for the slot starting at `starts`."""
    visitor = check_visitor(visitor)
    if feature and feature not in FEATURES:
        raise InvalidInput("feature", N_("Unknown feature."))
    calendar = calendar or Calendar.load()
    _check_future(starts, now, config)
    ends = on_grid(starts, config.seat_slot_minutes, calendar)
    if ends is None:
        raise InvalidInput("slot", N_("The EPN is not open then. Choose a time from the list."))
    with database.atomic("IMMEDIATE"):
        _check_no_overlap(visitor, starts, ends)
        free = free_seats(_seats(feature), starts, ends, now, config)
        if free:
            return _create("seat", visitor, starts, ends, now, by_staff, status="booked", seat=free[0])
    # Looked for after the write lock is released: the next visitor need not wait for it.
    later = _next_free(seat_slots(starts.date(), now, config, calendar, feature), starts)
    raise Unavailable("slot", N_("No seat is free any more at that time."), later)


def book_help(starts: datetime, help_kind: str, visitor: Visitor, now: datetime, config: BookingConfig,
              by_staff: bool = False, calendar: Calendar | None = None) -> Booking:
    """Book a one-to-one help appointment while a mediator is on duty."""
    visitor = check_visitor(visitor)
    if help_kind not in HELP_KINDS:
        raise InvalidInput("help_kind", N_("Choose the kind of help."))
    calendar = calendar or Calendar.load()
    _check_future(starts, now, config)
    ends = on_grid(starts, config.help_minutes, calendar)
    if ends is None:
        raise InvalidInput("slot", N_("The EPN is not open then. Choose a time from the list."))
    if not mediators_covering(starts, ends, calendar):
        raise InvalidInput("slot", N_("No mediator is on duty then. Choose a time from the list."))
    with database.atomic("IMMEDIATE"):
        _check_no_overlap(visitor, starts, ends)
        if help_free(starts, ends, now, config, calendar) > 0:
            return _create("help", visitor, starts, ends, now, by_staff, status="booked", help_kind=help_kind)
    later = _next_free(help_slots(starts.date(), now, config, calendar), starts)
    raise Unavailable("slot", N_("No mediator is free any more at that time."), later)


def book_workshop(workshop_id: int, visitor: Visitor, now: datetime, waitlist: bool = False,
                  by_staff: bool = False) -> Booking:
    """A place in a workshop; when it is full, WorkshopFull, or a waitlist entry if asked."""
    visitor = check_visitor(visitor)
    with database.atomic("IMMEDIATE"):
        workshop = Workshop.get_or_none((Workshop.id == workshop_id) & ~Workshop.cancelled)
        if workshop is None:
            raise InvalidInput("workshop", N_("This workshop does not exist or was cancelled."))
        if workshop.starts < now:
            raise InvalidInput("workshop", N_("This workshop has already started."))
        _check_no_overlap(visitor, workshop.starts, ends_of(workshop))
        if places_left(workshop) > 0:
            status = "booked"
        elif waitlist:
            status = "waiting"
        else:
            raise WorkshopFull("workshop", N_("This workshop is full. You can join the waitlist."))
        return _create("workshop", visitor, workshop.starts, ends_of(workshop), now, by_staff,
                       status=status, workshop=workshop)


# --- Finding, cancelling, moving --------------------------------------------------------


def find_by_code(text: str) -> Booking | None:
    """The booking of a typed code, or None (unknown, malformed, or erased)."""
    code = normalise_code(text)
    if code is None:
        return None
    return Booking.get_or_none(Booking.code == code)


def get_booking(booking_id: int) -> Booking:
    booking = Booking.get_or_none(Booking.id == booking_id)
    if booking is None:
        raise NotFound(booking_id)
    return booking


def waitlist_position(booking: Booking) -> int:
    """1 for the first in line."""
    return Booking.select().where(
        (Booking.workshop == booking.workshop_id) & (Booking.status == "waiting") & (Booking.id <= booking.id)
    ).count()


def _promote_first(workshop_id: int, now: datetime) -> Booking | None:
    """Give a freed workshop place to the first on the waitlist (caller holds the lock)."""
    workshop = Workshop.get_by_id(workshop_id)
    if workshop.cancelled or workshop.starts < now or places_left(workshop) < 1:
        return None
    first = (Booking.select().where((Booking.workshop == workshop_id) & (Booking.status == "waiting"))
             .order_by(Booking.id).first())
    if first is not None:
        first.status = "booked"
        first.promoted_at = now
        first.save()
    return first


def cancel_booking(booking_id: int, now: datetime) -> Booking | None:
    """Cancel a booking or a waitlist entry still to come; a freed workshop place goes to
    the first on the waitlist in the same transaction. Returns the promoted booking."""
    with database.atomic("IMMEDIATE"):
        booking = get_booking(booking_id)
        if booking.status not in ("booked", "waiting"):
            raise InvalidInput("booking", N_("This booking cannot be cancelled any more."))
        if booking.ends <= now:
            raise InvalidInput("booking", N_("This booking is over."))
        held = booking.status == "booked"
        # A waitlist entry that leaves never held a place: "withdrawn", not "cancelled".
        booking.status = "cancelled" if held else "withdrawn"
        booking.cancelled_at = now
        booking.save()
        if held and booking.kind == "workshop":
            return _promote_first(booking.workshop_id, now)
    return None


def move_booking(booking_id: int, starts: datetime, now: datetime, config: BookingConfig,
                 calendar: Calendar | None = None) -> Booking:
    """Move a seat or help booking to another free slot (with the visitor's agreement)."""
    calendar = calendar or Calendar.load()
    with database.atomic("IMMEDIATE"):
        booking = get_booking(booking_id)
        if booking.kind == "workshop" or booking.status != "booked":
            raise InvalidInput("slot", N_("Only a seat or help booking still to come can be moved."))
        _check_future(starts, now, config)
        minutes = config.seat_slot_minutes if booking.kind == "seat" else config.help_minutes
        ends = on_grid(starts, minutes, calendar)
        if ends is None:
            raise InvalidInput("slot", N_("The EPN is not open then. Choose a time from the list."))
        visitor = Visitor(booking.nickname, booking.phone, booking.language)
        _check_no_overlap(visitor, starts, ends, ignore=booking.id)
        if booking.kind == "seat":
            free = free_seats(_seats(), starts, ends, now, config, ignore=booking.id)
            if not free:
                raise Unavailable("slot", N_("No seat is free any more at that time."))
            current = next((s for s in free if s.id == booking.seat_id), free[0])
            booking.seat = current
        elif help_free(starts, ends, now, config, calendar, ignore=booking.id) < 1:
            raise Unavailable("slot", N_("No mediator is free any more at that time."))
        booking.starts, booking.ends = starts, ends
        booking.save()
    return booking


def move_to_workshop(booking_id: int, workshop_id: int, now: datetime) -> Booking:
    """Move a workshop place to another session (e.g. next week's of the same series); the
    place left behind goes to the first on that session's waitlist, in one transaction."""
    with database.atomic("IMMEDIATE"):
        booking = get_booking(booking_id)
        if booking.kind != "workshop" or booking.status != "booked" or booking.starts < now:
            raise InvalidInput("workshop", N_("Only a workshop place still to come can be moved."))
        target = Workshop.get_or_none((Workshop.id == workshop_id) & ~Workshop.cancelled)
        if target is None or target.starts < now or target.id == booking.workshop_id:
            raise InvalidInput("workshop", N_("Choose a workshop from the list."))
        if places_left(target) < 1:
            raise WorkshopFull("workshop", N_("This workshop is full. You can join the waitlist."))
        visitor = Visitor(booking.nickname, booking.phone, booking.language)
        _check_no_overlap(visitor, target.starts, ends_of(target), ignore=booking.id)
        left = booking.workshop_id
        booking.workshop, booking.starts, booking.ends = target, target.starts, ends_of(target)
        booking.save()
        _promote_first(left, now)
    return booking


def check_in(booking_id: int, purpose: str, now: datetime, attach_to: int | None = None) -> Booking:
    """The visitor arrived: the booking becomes a visit (or joins today's visit `attach_to`,
    so a person is counted once), in one transaction."""
    check_purpose(purpose)
    with database.atomic("IMMEDIATE"):
        booking = get_booking(booking_id)
        if booking.status != "booked":
            raise InvalidInput("booking", N_("Only a booking with a place can be checked in."))
        if booking.starts.date() != now.date():
            raise InvalidInput("booking", N_("A booking is checked in on its own day."))
        visit = arrival_visit(purpose, SERVICES[booking.kind], now, "booking", attach_to)
        booking.status = "checked_in"
        booking.checked_in_at = now
        booking.visit = visit
        booking.save()
    return booking


def erase_booking(booking_id: int, now: datetime) -> Booking | None:
    """Erase one visitor's booking on request: nickname, phone and code go, the count stays.
    A place still to come is given back first (a workshop's goes to the waitlist); returns
    the booking promoted from the waitlist, if any."""
    with database.atomic("IMMEDIATE"):
        booking = get_booking(booking_id)
        promoted = None
        if booking.status in ("booked", "waiting") and booking.ends > now:
            promoted = cancel_booking(booking_id, now)  # a savepoint inside this transaction
            booking = get_booking(booking_id)
        booking.code, booking.nickname, booking.phone, booking.purged = None, "", "", True
        booking.save()
    return promoted


def default_purpose(booking: Booking) -> str:
    if booking.kind == "help":
        return HELP_PURPOSES.get(booking.help_kind, "admin_procedures")
    return "learning_ict" if booking.kind == "workshop" else "leisure_culture_info"


# --- The desk's agenda --------------------------------------------------------------------


@dataclass(frozen=True)
class AgendaRow:
    booking: Booking
    state: str  # see state_of


def agenda(first_day: date, last_day: date, now: datetime, config: BookingConfig) -> list[AgendaRow]:
    """Every booking (and waitlist entry) from `first_day` to `last_day`, by start time."""
    start = datetime.combine(first_day, datetime.min.time())
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time())
    query = (Booking.select(Booking, Seat, Workshop)
             .join(Seat, join_type=JOIN.LEFT_OUTER, on=(Booking.seat == Seat.id))
             .switch(Booking).join(Workshop, join_type=JOIN.LEFT_OUTER, on=(Booking.workshop == Workshop.id))
             .where((Booking.starts >= start) & (Booking.starts < end)).order_by(Booking.starts, Booking.id))
    return [AgendaRow(b, state_of(b, now, config)) for b in query]


def attendance(workshop_id: int) -> tuple[list[Booking], list[Booking]]:
    """A workshop's participants (by name) and its waitlist (in order)."""
    rows = list(Booking.select().where(Booking.workshop == workshop_id).order_by(Booking.id))
    places = sorted((b for b in rows if b.status in HOLDING), key=lambda b: b.nickname.casefold())
    return places, [b for b in rows if b.status == "waiting"]
