"""The front desk: visits, opening hours, mediator presence, closures; its report figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from peewee import fn

from appliance.desk.schedule import Calendar, OpenState, mediators_on_duty, open_state
from appliance.desk.visits import PURPOSES, SERVICES, SOURCES, DayCount, count_on
from appliance.models import Closure, Visit
from appliance.period import Period
from appliance.registry import register_figures

WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOUR_BANDS = tuple(f"{hour:02d}" for hour in range(24)) + ("unknown",)


@dataclass(frozen=True)
class Glance:
    """Today at a glance, for the desk's home screen."""

    now: datetime
    visits: DayCount
    state: OpenState
    mediators: list[str]
    next_closure: Closure | None


def glance(now: datetime) -> Glance:
    """What the desk shows at `now` (local time)."""
    calendar = Calendar.load()
    upcoming = [c for c in calendar.closures if c.last_day >= now.date()]
    return Glance(
        now=now,
        visits=count_on(now.date()),
        state=open_state(now, calendar),
        mediators=mediators_on_duty(now, calendar),
        next_closure=upcoming[0] if upcoming else None,
    )


def figures(period: Period) -> dict[str, int]:
    """The desk's figures for a period: visits by weekday, hour band, purpose, origin,
    services used, and minutes open and open with a mediator present. Zeros are explicit.

    Each dimension is one aggregate query (a handful of rows back), not a Python walk over
    every (day, hour, purpose, source) group: a busy EPN's year is tens of thousands of
    visits."""
    in_period = (Visit.day >= period.start) & (Visit.day < period.end)
    out: dict[str, int] = {"visits.total": 0}
    out.update({f"visits.weekday.{key}": 0 for key in WEEKDAY_KEYS})
    out.update({f"visits.hour.{band}": 0 for band in HOUR_BANDS})
    out.update({f"visits.purpose.{code}": 0 for code in PURPOSES})
    out.update({f"visits.source.{code}": 0 for code in SOURCES})

    def counts_by(column):  # type: ignore[no-untyped-def]
        return Visit.select(column, fn.COUNT(Visit.id)).where(in_period).group_by(column).tuples()

    # Weekdays from one count per day (at most 366 rows): grouping by the day reads only
    # the `day` index, where grouping by strftime('%w', day) needs a temporary B-tree
    # and is about three times slower; date.weekday() also counts from Monday, as
    # WEEKDAY_KEYS does (SQLite's %w counts from Sunday).
    for day, n in counts_by(Visit.day):
        day = day if isinstance(day, date) else date.fromisoformat(day)
        out[f"visits.weekday.{WEEKDAY_KEYS[day.weekday()]}"] += n
    for hour, n in counts_by(Visit.hour):
        out[f"visits.hour.{'unknown' if hour is None else f'{hour:02d}'}"] += n
    for purpose, n in counts_by(Visit.purpose):
        out[f"visits.purpose.{purpose}"] = out.get(f"visits.purpose.{purpose}", 0) + n
    for source, n in counts_by(Visit.source):
        out[f"visits.source.{source}"] = out.get(f"visits.source.{source}", 0) + n
    total, *service_counts = Visit.select(
        fn.COUNT(Visit.id),
        *[fn.COALESCE(fn.SUM(getattr(Visit, f"used_{name}")), 0) for name in SERVICES],
    ).where(in_period).tuples().get()
    out["visits.total"] = int(total)
    out.update({f"visits.service.{name}": int(n) for name, n in zip(SERVICES, service_counts)})
    calendar = Calendar.load()
    out["hours.open_minutes"] = sum(calendar.opening_minutes(day) for day in period.days())
    out["hours.mediator_minutes"] = sum(calendar.mediator_minutes(day) for day in period.days())
    return out


register_figures("desk", figures)

__all__ = ["Glance", "glance", "figures", "PURPOSES", "SERVICES", "WEEKDAY_KEYS", "HOUR_BANDS"]
