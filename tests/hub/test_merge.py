"""Federation-wide figures: totals and per municipality, the weekday table, survey
breakdowns with their suppressed remainders, completeness and timeliness."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from appliance.federation.hub.db import database
from appliance.federation.hub.epns import deactivate_epn
from appliance.federation.hub.merge import merge_period, weekdays_in
from appliance.federation.hub.models import EPN
from appliance.period import Period
from tests.hub.conftest import NOW, Appliance, enrol_appliance

TZ = ZoneInfo("Europe/Brussels")
EARLY = datetime(2025, 1, 1)


def _week(mon: int, tue: int, wed: int, thu: int, fri: int, sat: int, sun: int = 0) -> dict[str, int]:
    days = dict(zip(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), (mon, tue, wed, thu, fri, sat, sun),
                    strict=True))
    return {"visits.total": sum(days.values()), **{f"visits.weekday.{d}": n for d, n in days.items()}}


def _enrolled_on(appliance: Appliance, moment: datetime) -> None:
    with database.connection_context():
        EPN.update(enrolled_at=moment).where(EPN.id == appliance.epn).execute()


def _merge(period: str) -> dict:
    with database.connection_context():
        return merge_period(Period.parse(period), TZ, 7)


@pytest.fixture
def three(hub_client) -> tuple[Appliance, Appliance, Appliance]:  # type: ignore[no-untyped-def]
    """Two EPNs in Saint-Gilles, one in Ixelles, all enrolled long ago."""
    epns = (enrol_appliance(hub_client, "EPN A"), enrol_appliance(hub_client, "EPN B"),
            enrol_appliance(hub_client, "EPN C", commune="Ixelles", postal_code="1050"))
    for appliance in epns:
        _enrolled_on(appliance, EARLY)
    return epns


def test_totals_sum_each_key_over_the_epns_that_reported_it(three):  # type: ignore[no-untyped-def]
    a, b, c = three
    a.report("2026-W47", {**_week(10, 10, 10, 10, 10, 5), "capacity.computers": 12})
    b.report("2026-W47", _week(20, 0, 0, 0, 0, 0))
    c.report("2026-W47", {"visits.total": 7})
    merged = _merge("2026-W47")
    assert merged["reports"] == 3
    assert merged["totals"]["visits.total"] == 55 + 20 + 7
    assert merged["totals"]["capacity.computers"] == 12
    assert "hours.open_minutes" not in merged["totals"]  # nobody reported it: absent, not 0
    assert merged["municipalities"]["21013"] == {
        "name": "Saint-Gilles", "epns": 2, "figures": {**_week(30, 10, 10, 10, 10, 5), "capacity.computers": 12}}
    assert merged["municipalities"]["21009"]["figures"] == {"visits.total": 7}
    assert merged["epns"][c.epn]["figures"] == {"visits.total": 7}
    assert merged["epns"][a.epn]["on_time"] is True


def test_the_weekday_table_of_a_week(three):  # type: ignore[no-untyped-def]
    a, b, c = three
    a.report("2026-W47", _week(10, 12, 14, 16, 18, 6))
    b.report("2026-W47", _week(20, 0, 4, 0, 2, 0))
    c.report("2026-W47", {"visits.total": 7})  # no weekday figures: not in the table
    table = _merge("2026-W47")["weekdays"]
    assert table["mon"] == {"epns": 2, "mean": 15, "min": 10, "max": 20, "sum": 30}
    assert table["wed"] == {"epns": 2, "mean": 9, "min": 4, "max": 14, "sum": 18}
    assert table["sun"] == {"epns": 2, "mean": 0, "min": 0, "max": 0, "sum": 0}
    assert table["total"] == {"epns": 2, "mean": 51, "min": 26, "max": 76, "sum": 102}


def test_the_weekday_table_of_a_month_uses_mean_daily_visits(three):  # type: ignore[no-untyped-def]
    a, b, _ = three
    october = Period.parse("2026-10")
    assert weekdays_in(october) == {"mon": 4, "tue": 4, "wed": 4, "thu": 5, "fri": 5, "sat": 5, "sun": 4}
    a.report("2026-10", {"visits.weekday.mon": 40, "visits.weekday.thu": 50})
    b.report("2026-10", {"visits.weekday.mon": 8, "visits.weekday.thu": 25})
    table = _merge("2026-10")["weekdays"]
    assert table["mon"] == {"epns": 2, "mean": 6.0, "min": 2.0, "max": 10.0, "sum": 12.0}
    assert table["thu"] == {"epns": 2, "mean": 7.5, "min": 5.0, "max": 10.0, "sum": 15.0}
    assert table["total"] == {"epns": 2, "mean": 13.5, "min": 7.0, "max": 20.0, "sum": 27.0}
    assert "tue" not in table


def test_a_period_is_answered_from_its_own_reports_only(three):  # type: ignore[no-untyped-def]
    a, _, _ = three
    a.report("2026-W46", _week(1, 1, 1, 1, 1, 1))
    a.report("2026-10", {"visits.total": 100})
    assert _merge("2026-W47")["reports"] == 0 and _merge("2026-W47")["totals"] == {}
    assert _merge("2026-10")["totals"] == {"visits.total": 100}


SURVEY_A = {"survey.responses": 12, "survey.age._total": 12, "survey.age.20_29": 7, "survey.age.30_39": 0,
            "survey.age._suppressed_cells": 2, "survey.age._suppressed_sum": 5}
SURVEY_B = {"survey.responses": 9, "survey.age._total": 9, "survey.age.20_29": 9,
            "survey.age._suppressed_cells": 0, "survey.age._suppressed_sum": 0,
            "survey.gender._total": 9, "survey.gender.woman": 9, "survey.gender._suppressed_cells": 0,
            "survey.gender._suppressed_sum": 0}


def test_survey_breakdowns_are_summed_with_their_suppressed_remainders(three):  # type: ignore[no-untyped-def]
    a, b, _ = three
    a.report("2026-10", {"visits.total": 50, **SURVEY_A})
    b.report("2026-10", {"visits.total": 60, **SURVEY_B})
    merged = _merge("2026-10")
    survey = merged["survey"]
    assert survey["responses"] == 21 and survey["reports"] == 2
    assert survey["questions"]["age"] == {"reports": 2, "answers": {"20_29": 16, "30_39": 0},
                                          "total": 21, "suppressed_cells": 2, "suppressed_sum": 5,
                                          "without_suppressed_sum": 0}
    # Visible cells plus the suppressed remainder give the exact total.
    age = survey["questions"]["age"]
    assert sum(age["answers"].values()) + age["suppressed_sum"] == age["total"]
    assert survey["questions"]["gender"]["reports"] == 1
    assert "survey.responses" not in merged["totals"] and merged["totals"] == {"visits.total": 110}


def test_a_breakdown_without_its_suppressed_sum_is_flagged(three):  # type: ignore[no-untyped-def]
    a, b, _ = three
    # Two people ticked devices at A: every cell is absent and so is the sum (k = 5).
    a.report("2026-10", {"survey.devices._total": 2, "survey.devices._suppressed_cells": 4})
    b.report("2026-10", {"survey.devices._total": 7, "survey.devices.smartphone": 7, "survey.devices.none": 0,
                         "survey.devices._suppressed_cells": 0, "survey.devices._suppressed_sum": 0})
    devices = _merge("2026-10")["survey"]["questions"]["devices"]
    assert devices == {"reports": 2, "answers": {"none": 0, "smartphone": 7}, "total": 9, "suppressed_cells": 4,
                       "suppressed_sum": 0, "without_suppressed_sum": 1}


def test_a_years_survey_is_the_sum_of_its_month_reports(three):  # type: ignore[no-untyped-def]
    a, b, _ = three
    a.report("2025-01", SURVEY_A)
    a.report("2025-02", SURVEY_A)
    b.report("2025-11", SURVEY_B)
    b.report("2024-12", SURVEY_B)  # another year
    a.report("2025", {"visits.total": 5000})
    merged = _merge("2025")
    assert merged["survey"]["responses"] == 12 + 12 + 9 and merged["survey"]["reports"] == 3
    assert merged["survey"]["questions"]["age"]["answers"]["20_29"] == 7 + 7 + 9
    assert merged["totals"] == {"visits.total": 5000} and merged["reports"] == 1
    assert _merge("2026-W47")["survey"] == {}


def test_completeness_counts_expected_received_and_on_time(hub_app, hub_client):  # type: ignore[no-untyped-def]
    on_time, late, missing, newcomer, closed = (enrol_appliance(hub_client, f"EPN {n}") for n in "ABCDE")
    for appliance in (on_time, late, missing, closed):
        _enrolled_on(appliance, EARLY)
    _enrolled_on(newcomer, datetime(2026, 11, 24))  # after the week ended: sends it as history
    with database.connection_context():
        deactivate_epn(closed.epn, NOW)
    on_time.report("2026-W47", _week(1, 1, 1, 1, 1, 1))
    newcomer.report("2026-W47", _week(2, 2, 2, 2, 2, 2))
    # The week ended on Sunday 22 November at midnight in Brussels (23:00 UTC): 7 days later is
    # the deadline, so a report first received on 1 December is late.
    hub_app.extensions["hub_clock"] = lambda: NOW + timedelta(days=6)
    late.report("2026-W47", _week(3, 3, 3, 3, 3, 3))
    completeness = _merge("2026-W47")["completeness"]
    assert completeness == {
        "expected": 3, "received": 2, "on_time": 1, "rate": 0.6667,
        "on_time_deadline": "2026-11-29T23:00:00Z",
        "missing": [missing.epn], "late": [late.epn], "unexpected": [newcomer.epn],
    }
    assert _merge("2026-W47")["totals"]["visits.total"] == 6 + 12 + 18


def test_a_correction_keeps_the_period_on_time(hub_app, three):  # type: ignore[no-untyped-def]
    a, _, _ = three
    a.report("2026-W47", _week(1, 1, 1, 1, 1, 1))
    hub_app.extensions["hub_clock"] = lambda: NOW + timedelta(days=30)
    assert a.report("2026-W47", _week(2, 1, 1, 1, 1, 1)).get_json()["status"] == "correction"
    merged = _merge("2026-W47")
    assert merged["completeness"]["on_time"] == 1 and merged["totals"]["visits.weekday.mon"] == 2
