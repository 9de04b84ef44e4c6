"""What can be booked: seats (with their features) and workshops (alone or in series)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from peewee import fn

from appliance.config import VISITOR_LANGUAGES
from appliance.db import database
from appliance.desk.schedule import Calendar
from appliance.errors import N_, InvalidInput, NotFound
from appliance.models import Booking, Seat, StaffUser, Workshop

FEATURES = ("eid_reader", "scanner", "accessibility")
LEVELS = ("beginner", "intermediate", "advanced")
HOLDING = ("booked", "checked_in")  # statuses that hold a place
MAX_WEEKS = 52


# --- Seats ------------------------------------------------------------------------------


def active_seats() -> list[Seat]:
    return list(Seat.select().where(Seat.active).order_by(Seat.name))


def features_of(seat: Seat) -> list[str]:
    return [name for name in FEATURES if getattr(seat, name)]


def _check_seat_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("name", N_("Give the seat a name."))
    if len(name) > 40:
        raise InvalidInput("name", N_("At most %(n)s characters."), n=40)
    return name


def add_seat(name: str, features: list[str] | set[str] | tuple[str, ...] = ()) -> Seat:
    """A bookable computer; `features` among FEATURES."""
    unknown = set(features) - set(FEATURES)
    if unknown:
        raise InvalidInput("features", N_("Unknown feature."))
    return Seat.create(name=_check_seat_name(name), **{f: f in features for f in FEATURES})


def update_seat(seat_id: int, name: str, features: list[str] | set[str], active: bool) -> Seat:
    if set(features) - set(FEATURES):
        raise InvalidInput("features", N_("Unknown feature."))
    seat = Seat.get_or_none(Seat.id == seat_id)
    if seat is None:
        raise NotFound(seat_id)
    seat.name = _check_seat_name(name)
    for feature in FEATURES:
        setattr(seat, feature, feature in features)
    seat.active = active
    seat.save()
    return seat


# --- Workshops --------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkshopDraft:
    """What staff typed for a workshop (or the first session of a series)."""

    title: str
    description: str
    language: str
    level: str
    audience: str
    day: date
    starts: time
    minutes: int
    capacity: int
    mediator_id: int | None
    room: str
    weeks: int = 1


def _check_draft(draft: WorkshopDraft) -> dict:
    title = draft.title.strip()
    if not title:
        raise InvalidInput("title", N_("Give the workshop a title."))
    for name, value, limit in (("title", title, 100), ("description", draft.description.strip(), 300),
                               ("audience", draft.audience.strip(), 80), ("room", draft.room.strip(), 60)):
        if len(value) > limit:
            raise InvalidInput(name, N_("At most %(n)s characters."), n=limit)
    if draft.language not in VISITOR_LANGUAGES:
        raise InvalidInput("language", N_("Choose a language from the list."))
    if draft.level not in LEVELS:
        raise InvalidInput("level", N_("Choose a level from the list."))
    if not 15 <= draft.minutes <= 480:
        raise InvalidInput("minutes", N_("A workshop lasts between %(low)s and %(high)s minutes."), low=15, high=480)
    if not 1 <= draft.capacity <= 200:
        raise InvalidInput("capacity", N_("Between %(low)s and %(high)s places."), low=1, high=200)
    if not 1 <= draft.weeks <= MAX_WEEKS:
        raise InvalidInput("weeks", N_("Between %(low)s and %(high)s weeks."), low=1, high=MAX_WEEKS)
    mediator = None
    if draft.mediator_id is not None:
        mediator = StaffUser.get_or_none((StaffUser.id == draft.mediator_id) & StaffUser.active)
        if mediator is None:
            raise InvalidInput("mediator_id", N_("Choose a mediator from the list."))
    return {"title": title, "description": draft.description.strip(), "language": draft.language,
            "level": draft.level, "audience": draft.audience.strip(), "minutes": draft.minutes,
            "capacity": draft.capacity, "mediator": mediator, "room": draft.room.strip()}


def within_opening(calendar: Calendar, starts: datetime, ends: datetime) -> bool:
    """Whether [starts, ends) lies inside one opening period of a day the EPN is open."""
    if starts.date() != ends.date() or starts >= ends:
        return False
    return any(opens <= starts.time() and ends.time() <= closes for opens, closes in calendar.opening(starts.date()))


def create_workshops(draft: WorkshopDraft, now: datetime, calendar: Calendar | None = None) -> tuple[list[Workshop], int]:
    """One session, or `weeks` weekly sessions sharing a series id; sessions falling on a
    closure are left out. Returns the sessions made and how many were left out. Every
    session must lie inside the opening hours and in the future."""
    fields = _check_draft(draft)
    calendar = calendar or Calendar.load()
    first = datetime.combine(draft.day, draft.starts)
    if first <= now:
        raise InvalidInput("day", N_("Choose a moment in the future."))
    length = timedelta(minutes=draft.minutes)
    last = first + length
    if last.date() != draft.day or not any(
        opens <= draft.starts and last.time() <= closes for opens, closes in calendar.week[draft.day.weekday()]
    ):
        raise InvalidInput("starts", N_("The workshop must fit inside the opening hours."))
    series = secrets.token_hex(8) if draft.weeks > 1 else ""
    made, skipped = [], 0
    with database.atomic():
        for week in range(draft.weeks):
            starts = first + timedelta(weeks=week)
            if not within_opening(calendar, starts, starts + length):
                skipped += 1
                continue
            made.append(Workshop.create(starts=starts, series=series,
                                        uid=f"{secrets.token_hex(12)}@epn", **fields))
    if not made:
        raise InvalidInput("day", N_("The EPN is closed on every one of these days."))
    return made, skipped


def get_workshop(workshop_id: int) -> Workshop:
    workshop = Workshop.get_or_none(Workshop.id == workshop_id)
    if workshop is None:
        raise NotFound(workshop_id)
    return workshop


def ends_of(workshop: Workshop) -> datetime:
    return workshop.starts + timedelta(minutes=workshop.minutes)


def taken_places(workshop_ids: list[int]) -> dict[int, int]:
    """Workshop id -> places held (booked or checked in)."""
    if not workshop_ids:
        return {}
    rows = (Booking.select(Booking.workshop, fn.COUNT(Booking.id))
            .where(Booking.workshop.in_(workshop_ids) & Booking.status.in_(HOLDING))
            .group_by(Booking.workshop).tuples())
    return {workshop_id: n for workshop_id, n in rows}


def places_left(workshop: Workshop) -> int:
    return max(0, workshop.capacity - taken_places([workshop.id]).get(workshop.id, 0))


@dataclass(frozen=True)
class WorkshopView:
    workshop: Workshop
    ends: datetime
    places_left: int
    waiting: int


def upcoming_workshops(now: datetime, until: datetime | None = None, limit: int | None = None) -> list[WorkshopView]:
    """Workshops not cancelled that have not ended yet, soonest first, with places left."""
    query = (Workshop.select().where(~Workshop.cancelled & (Workshop.starts >= now - timedelta(hours=8)))
             .order_by(Workshop.starts, Workshop.id))
    if until is not None:
        query = query.where(Workshop.starts < until)
    workshops = [w for w in query if ends_of(w) > now][:limit]
    ids = [w.id for w in workshops]
    taken = taken_places(ids)
    waiting = dict(Booking.select(Booking.workshop, fn.COUNT(Booking.id))
                   .where(Booking.workshop.in_(ids) & (Booking.status == "waiting"))
                   .group_by(Booking.workshop).tuples()) if ids else {}
    return [WorkshopView(w, ends_of(w), max(0, w.capacity - taken.get(w.id, 0)), waiting.get(w.id, 0))
            for w in workshops]


def cancel_workshop(workshop_id: int, now: datetime) -> int:
    """Cancel a session and every booking and waitlist entry of it; returns how many."""
    with database.atomic():
        workshop = get_workshop(workshop_id)
        workshop.cancelled = True
        workshop.save()
        withdrawn = (Booking.update(status="withdrawn", cancelled_at=now)
                     .where((Booking.workshop == workshop) & (Booking.status == "waiting")).execute())
        return withdrawn + (Booking.update(status="cancelled", cancelled_at=now)
                            .where((Booking.workshop == workshop) & (Booking.status == "booked")).execute())
