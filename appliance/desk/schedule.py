"""Opening hours per weekday, mediator presence, closures, and what follows from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from appliance.db import database
from appliance.errors import N_, InvalidInput, NotFound
from appliance.models import Closure, MediatorShift, OpeningHours, StaffUser

Interval = tuple[time, time]
WEEKDAYS = range(7)
MAX_INTERVALS_PER_DAY = 3


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def check_intervals(weekday: int, intervals: list[Interval]) -> list[Interval]:
    """Sorted intervals of one day; each opens before it closes and none overlap."""
    if weekday not in WEEKDAYS:
        raise InvalidInput("weekday", N_("Unknown day of the week."))
    ordered = sorted(intervals)
    for opens, closes in ordered:
        if opens >= closes:
            raise InvalidInput(f"day{weekday}", N_("A period must start before it ends."))
    for (_, first_end), (second_start, _) in zip(ordered, ordered[1:]):
        if second_start < first_end:
            raise InvalidInput(f"day{weekday}", N_("Two periods of the same day overlap."))
    if len(ordered) > MAX_INTERVALS_PER_DAY:
        raise InvalidInput(f"day{weekday}", N_("At most %(n)s periods a day."), n=MAX_INTERVALS_PER_DAY)
    return ordered


def weekly_hours() -> dict[int, list[Interval]]:
    """Opening hours: weekday (0 = Monday) -> sorted intervals."""
    week: dict[int, list[Interval]] = {day: [] for day in WEEKDAYS}
    for row in OpeningHours.select().order_by(OpeningHours.weekday, OpeningHours.opens):
        week[row.weekday].append((row.opens, row.closes))
    return week


def set_weekly_hours(week: dict[int, list[Interval]]) -> None:
    """Replace the whole week's opening hours at once, or change nothing."""
    checked = {day: check_intervals(day, week.get(day, [])) for day in WEEKDAYS}
    with database.atomic():
        OpeningHours.delete().execute()
        OpeningHours.insert_many(
            [
                {"weekday": day, "opens": opens, "closes": closes}
                for day, intervals in checked.items()
                for opens, closes in intervals
            ]
        ).execute()


def shifts() -> list[MediatorShift]:
    return list(
        MediatorShift.select(MediatorShift, StaffUser)
        .join(StaffUser)
        .order_by(MediatorShift.weekday, MediatorShift.starts)
    )


def add_shift(weekday: int, starts: time, ends: time, mediator_id: int) -> MediatorShift:
    """Add a weekly presence of one mediator."""
    check_intervals(weekday, [(starts, ends)])
    mediator = StaffUser.get_or_none((StaffUser.id == mediator_id) & StaffUser.active)
    if mediator is None:
        raise InvalidInput("mediator", N_("Choose a mediator from the list."))
    same = [
        (s.starts, s.ends)
        for s in MediatorShift.select().where(
            (MediatorShift.weekday == weekday) & (MediatorShift.mediator == mediator)
        )
    ]
    if any(starts < other_end and other_start < ends for other_start, other_end in same):
        raise InvalidInput(f"day{weekday}", N_("This mediator is already present at that time."))
    return MediatorShift.create(weekday=weekday, starts=starts, ends=ends, mediator=mediator)


def delete_shift(shift_id: int) -> None:
    if not MediatorShift.delete().where(MediatorShift.id == shift_id).execute():
        raise NotFound(shift_id)


def closures(from_day: date | None = None) -> list[Closure]:
    query = Closure.select().order_by(Closure.first_day)
    if from_day is not None:
        query = query.where(Closure.last_day >= from_day)
    return list(query)


def add_closure(first_day: date, last_day: date, reason: str) -> Closure:
    """Close the EPN on whole days (holidays, exceptional days)."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("reason", N_("Say why the EPN is closed."))
    if len(reason) > 100:
        raise InvalidInput("reason", N_("At most %(n)s characters."), n=100)
    if last_day < first_day:
        raise InvalidInput("last_day", N_("The last day comes before the first day."))
    if (last_day - first_day).days > 366:
        raise InvalidInput("last_day", N_("A closure lasts at most a year."))
    return Closure.create(first_day=first_day, last_day=last_day, reason=reason)


def delete_closure(closure_id: int) -> None:
    if not Closure.delete().where(Closure.id == closure_id).execute():
        raise NotFound(closure_id)


@dataclass(frozen=True)
class Calendar:
    """The schedule loaded once, so a period's figures need three queries, not one a day."""

    week: dict[int, list[Interval]]
    shifts: list[tuple[int, time, time, str]]  # weekday, starts, ends, mediator's name
    closures: list[Closure]

    @classmethod
    def load(cls) -> "Calendar":
        return cls(
            weekly_hours(),
            [(s.weekday, s.starts, s.ends, s.mediator.display_name) for s in shifts()],
            closures(),
        )

    def is_closed(self, day: date) -> bool:
        return any(c.first_day <= day <= c.last_day for c in self.closures)

    def opening(self, day: date) -> list[Interval]:
        return [] if self.is_closed(day) else self.week[day.weekday()]

    def opening_minutes(self, day: date) -> int:
        return sum(_minutes(b) - _minutes(a) for a, b in self.opening(day))

    def mediator_minutes(self, day: date) -> int:
        """Minutes open with at least one mediator present (overlapping shifts count once)."""
        covered = _union([(a, b) for weekday, a, b, _ in self.shifts if weekday == day.weekday()])
        total = 0
        for opens, closes in self.opening(day):
            for starts, ends in covered:
                total += max(0, min(_minutes(closes), ends) - max(_minutes(opens), starts))
        return total


def _union(intervals: list[Interval]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for starts, ends in sorted(intervals):
        a, b = _minutes(starts), _minutes(ends)
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


@dataclass(frozen=True)
class OpenState:
    open_now: bool
    until: time | None  # closing time of the current period when open
    next_opening: datetime | None  # when closed: the next opening within two weeks
    closure: Closure | None  # the closure covering today, if any


def open_state(now: datetime, calendar: Calendar | None = None) -> OpenState:
    """Whether the EPN is open at `now` (local), and until when or from when."""
    calendar = calendar or Calendar.load()
    today = now.date()
    closure = next(
        (c for c in calendar.closures if c.first_day <= today <= c.last_day), None
    )
    for opens, closes in calendar.opening(today):
        if opens <= now.time() < closes:
            return OpenState(True, closes, None, None)
    for offset in range(0, 15):
        day = today + timedelta(days=offset)
        for opens, _ in calendar.opening(day):
            moment = datetime.combine(day, opens)
            if moment > now:
                return OpenState(False, None, moment, closure)
    return OpenState(False, None, None, closure)


def mediators_on_duty(now: datetime, calendar: Calendar | None = None) -> list[str]:
    """Display names of the mediators whose shift covers `now`, unless the EPN is closed."""
    calendar = calendar or Calendar.load()
    if not calendar.opening(now.date()):
        return []
    moment = now.time()
    names = {
        name
        for weekday, starts, ends, name in calendar.shifts
        if weekday == now.weekday() and starts <= moment < ends
    }
    return sorted(names)
