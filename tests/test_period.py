"""Periods: ISO weeks, months, years in local time."""

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from appliance.period import Period


def test_an_iso_week_starts_on_monday_and_lasts_seven_days():
    week = Period.parse("2026-W47")
    assert (week.start, week.end) == (date(2026, 11, 16), date(2026, 11, 23))
    assert str(week) == "2026-W47"


def test_week_one_can_start_in_the_previous_year_and_week_53_exists_only_some_years():
    assert Period.parse("2026-W01").start == date(2025, 12, 29)
    assert Period.parse("2026-W53").start == date(2026, 12, 28)
    with pytest.raises(ValueError, match="does not exist"):
        Period.parse("2025-W53")


def test_months_and_years_cover_their_days_exactly():
    assert len(list(Period.parse("2028-02").days())) == 29
    assert Period.parse("2026-12").end == date(2027, 1, 1)
    assert len(list(Period.parse("2026").days())) == 365


@pytest.mark.parametrize("text", ["2026-13", "2026-W", "26-11", "2026/11", "", "2026-W99", "week 47"])
def test_malformed_periods_are_refused_with_the_expected_forms(text):
    with pytest.raises(ValueError):
        Period.parse(text)


def test_the_period_containing_a_day_and_its_neighbours():
    week = Period.containing(date(2027, 1, 1), "week")
    assert str(week) == "2026-W53"
    assert str(week.next()) == "2027-W01"
    assert str(Period.parse("2026-01").previous()) == "2025-12"


def test_a_range_lists_every_period_in_between():
    assert [str(p) for p in Period.range("2026-11", "2027-02")] == ["2026-11", "2026-12", "2027-01", "2027-02"]
    with pytest.raises(ValueError):
        Period.range("2026-11", "2026-W47")
    with pytest.raises(ValueError):
        Period.range("2027-01", "2026-01")


def test_a_period_is_closed_only_after_its_last_day():
    week = Period.parse("2026-W47")
    assert not week.is_closed(date(2026, 11, 22))
    assert week.is_closed(date(2026, 11, 23))


def test_local_bounds_follow_daylight_saving_time():
    start, end = Period.parse("2026-03").bounds(ZoneInfo("Europe/Brussels"))
    assert start.utcoffset().total_seconds() == 3600
    assert end.utcoffset().total_seconds() == 7200
