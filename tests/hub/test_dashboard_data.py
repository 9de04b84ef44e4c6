"""The dashboard's data assembly without the web: periods, headline figures (absent is
None, never 0), label criteria per week, the fast figure reader, and agreement with
merge_period."""

# ruff: noqa: F401, F811  (pytest fixtures imported from test_dashboard)
from __future__ import annotations

import json
import random
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from appliance.federation.canonical import canonical_bytes
from appliance.federation.hub import dashboard
from appliance.federation.hub.db import database
from appliance.federation.hub.merge import merge_period
from appliance.federation.schema import SCHEMAS
from appliance.period import Period
from tests.hub.test_dashboard import coordinator, federation

TZ = ZoneInfo("Europe/Brussels")


def test_the_default_period_is_the_last_closed_month():
    assert str(dashboard.default_period(date(2026, 11, 25))) == "2026-10"
    assert str(dashboard.default_period(date(2027, 1, 1))) == "2026-12"


def test_trends_cover_the_last_twelve_periods_or_the_months_of_a_year():
    weeks = dashboard.trend_periods(Period.parse("2026-W02"))
    assert len(weeks) == 12 and str(weeks[0]) == "2025-W43" and str(weeks[-1]) == "2026-W02"
    assert [str(p) for p in dashboard.trend_periods(Period.parse("2026"))][::11] == ["2026-01", "2026-12"]
    history = dashboard.history_periods(Period.parse("2026-03"))
    assert len(history) == 12 and str(history[0]) == "2025-03" and str(history[-1]) == "2026-02"


def test_a_headline_no_report_has_is_none_and_pages_add_both_kinds():
    values = dashboard.headlines({"visits.total": 10, "print.pages.colour": 4, "training.minutes": 90})
    assert values == {"visits": 10, "training_hours": 1.5, "training_participants": None, "loans": None,
                      "pages_printed": 4, "wifi_sessions": None}
    assert dashboard.headlines({"print.pages.bw": 0})["pages_printed"] == 0  # reported zero stays 0


@pytest.mark.parametrize("period, minutes, status", [("2026-W47", 15 * 60, "met"), ("2026-W47", 15 * 60 - 1, "not_met"),
                                                     ("2026-02", 4 * 15 * 60, "met"), ("2026-03", 4 * 15 * 60, "not_met"),
                                                     ("2026", 52 * 15 * 60, "not_met"), ("2026", 53 * 15 * 60, "met")])
def test_opening_hours_are_compared_per_week_on_average(period, minutes, status):
    # February 2026 has exactly 4 weeks; March 31 days (4.43 weeks); 2026 has 365 days (52.14 weeks).
    rows = {r["code"]: r for r in dashboard.label_criteria({"hours.open_minutes": minutes}, Period.parse(period))}
    assert rows["open_hours"]["status"] == status
    assert rows["computers"]["status"] == rows["training_hours"]["status"] == "not_reported"


def test_the_figure_reader_agrees_with_json_on_canonical_reports():
    rng = random.Random(3)
    allowed = sorted(SCHEMAS[max(SCHEMAS)])
    for _ in range(200):
        figures = {key: rng.choice([0, 1, 7, 10**9, rng.randint(0, 5000)]) for key in rng.sample(allowed, 40)}
        for key in rng.sample(dashboard.WANTED, 5):
            figures[key] = rng.randint(0, 99999)
        text = canonical_bytes(figures).decode()
        expected = {k: v for k, v in json.loads(text).items() if k in dashboard.WANTED}
        assert dashboard.some_figures(text) == expected


def test_the_dashboard_uses_merge_periods_numbers(hub_app, coordinator, federation):
    with database.connection_context():
        data = dashboard.build_dashboard(Period.parse("2026-10"), TZ, 7)
        merged = merge_period(Period.parse("2026-10"), TZ, 7)
    assert data["merged"] == merged
    assert data["headlines"]["visits"] == merged["totals"]["visits.total"] == 1000
    assert data["trend"][-1] == {"period": "2026-10", "reports": 3, **data["headlines"]}
    assert data["trend"][-2] == {"period": "2026-09", "reports": 0, **dict.fromkeys(data["headlines"])}
    assert data["municipalities"]["21013"]["headlines"]["visits"] == 920


def test_the_figure_reader_also_reads_json_with_spaces():
    assert dashboard.some_figures('{"visits.total": 12, "wifi.sessions": 3}') == {"visits.total": 12, "wifi.sessions": 3}
