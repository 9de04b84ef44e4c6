"""Reporting periods: ISO weeks (2026-W47), months (2026-11) and years (2026), local time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterator
from zoneinfo import ZoneInfo

# ASCII digits only, whole string (no trailing newline); years 1000-9998 keep arithmetic safe.
_WEEK = re.compile(r"([1-9]\d{3})-W(\d{2})", re.ASCII)
_MONTH = re.compile(r"([1-9]\d{3})-(\d{2})", re.ASCII)
_YEAR = re.compile(r"([1-9]\d{3})", re.ASCII)


@dataclass(frozen=True, order=True)
class Period:
    """A closed-open range of local days [start, end) with its canonical name."""

    kind: str  # week | month | year
    start: date
    end: date

    @classmethod
    def parse(cls, text: str) -> "Period":
        """Parse `2026-W47`, `2026-11` or `2026`; ValueError says what is expected."""
        text = text.strip()
        if match := _WEEK.fullmatch(text):
            year, week = int(match[1]), int(match[2])
            try:
                start = date.fromisocalendar(year, week, 1)
                start + timedelta(days=7)
            except (ValueError, OverflowError):
                raise ValueError(f"{text!r}: week {week} does not exist in {year}") from None
            return cls("week", start, start + timedelta(days=7))
        if match := _MONTH.fullmatch(text):
            year, month = int(match[1]), int(match[2])
            if not 1 <= month <= 12 or (year, month) == (9999, 12):
                raise ValueError(f"{text!r}: month must be 01 to 12")
            start = date(year, month, 1)
            return cls("month", start, _next_month(start))
        if (match := _YEAR.fullmatch(text)) and text != "9999":
            year = int(match[1])
            return cls("year", date(year, 1, 1), date(year + 1, 1, 1))
        raise ValueError(f"{text!r} is not a period: use 2026-W47, 2026-11 or 2026")

    @classmethod
    def containing(cls, day: date, kind: str) -> "Period":
        """The week, month or year that contains `day`."""
        if kind == "week":
            year, week, _ = day.isocalendar()
            return cls.parse(f"{year}-W{week:02d}")
        if kind == "month":
            return cls.parse(f"{day.year}-{day.month:02d}")
        if kind == "year":
            return cls.parse(f"{day.year}")
        raise ValueError(f"unknown period kind {kind!r}")

    @classmethod
    def range(cls, first: str, last: str) -> list["Period"]:
        """Every period from `first` to `last` inclusive (both of the same kind)."""
        start, stop = cls.parse(first), cls.parse(last)
        if start.kind != stop.kind:
            raise ValueError(f"{first!r} and {last!r} are not the same kind of period")
        if stop < start:
            raise ValueError(f"{last!r} comes before {first!r}")
        out = [start]
        while out[-1] != stop:
            out.append(out[-1].next())
        return out

    def __str__(self) -> str:
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        return f"{self.start.year}"

    def next(self) -> "Period":
        return Period.containing(self.end, self.kind)

    def previous(self) -> "Period":
        return Period.containing(self.start - timedelta(days=1), self.kind)

    def days(self) -> Iterator[date]:
        day = self.start
        while day < self.end:
            yield day
            day += timedelta(days=1)

    def __contains__(self, day: date) -> bool:
        return self.start <= day < self.end

    def is_closed(self, today: date) -> bool:
        """True once the period's last day is over."""
        return today >= self.end

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as aware datetimes in `tz` (daylight saving handled by zoneinfo)."""
        return (
            datetime.combine(self.start, datetime.min.time(), tz),
            datetime.combine(self.end, datetime.min.time(), tz),
        )


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)
