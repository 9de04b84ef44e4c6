"""Plausibility rules: values far from an EPN's own history (tenfold jumps, robust
outliers) or beyond its capacity are flagged; nothing is flagged without enough history."""

from __future__ import annotations

import pytest

from appliance.federation.hub.plausibility import (
    MIN_HISTORY,
    capacity_bound,
    check_period,
    check_report,
    history_rule,
    mad,
)

STEADY = [70, 72, 68, 75, 71, 69]


def test_mad_is_the_median_absolute_deviation():
    assert mad([1, 2, 3, 4, 100], 3) == 1


@pytest.mark.parametrize("value, rule", [(710, "jump"), (7, "jump"), (140, "outlier"), (20, "outlier"),
                                         (80, None), (62, None), (71, None)])
def test_values_are_judged_against_the_epns_own_history(value, rule):
    found = history_rule(value, STEADY)
    assert (found[0] if found else None) == rule
    if found:
        assert found[1] == 70.5  # the history's median


def test_small_counts_are_not_tenfold_jumps():
    assert history_rule(3, [0, 0, 1, 0, 0]) is None  # 0 -> 3 loans is not news
    assert history_rule(500, [0, 0, 0, 0, 0]) is None  # a service that just started
    assert history_rule(0, [70, 72, 68, 75]) == ("jump", 71.0)  # a drop to nothing is
    assert history_rule(9, [1, 1, 1, 1]) is None
    assert history_rule(10, [1, 1, 1, 1]) == ("jump", 1.0)


def test_a_history_that_does_not_vary_only_flags_jumps():
    assert history_rule(13, [12, 12, 12, 12, 12]) is None  # one computer more: fine
    assert history_rule(120, [12, 12, 12, 12, 12]) == ("jump", 12.0)


def test_nothing_is_flagged_before_enough_history():
    assert history_rule(7000, STEADY[:MIN_HISTORY - 1]) is None
    assert history_rule(7000, STEADY[:MIN_HISTORY]) is not None


def test_the_capacity_bound_needs_computers_and_opening_hours():
    # 6 computers x 20 hours x 4 visits per seat-hour.
    assert capacity_bound({"capacity.computers": 6, "hours.open_minutes": 1200}) == 480
    assert capacity_bound({"capacity.computers": 6}) is None
    assert capacity_bound({"hours.open_minutes": 1200}) is None


def test_more_visits_than_seats_and_hours_allow_are_flagged():
    figures = {"visits.total": 481, "capacity.computers": 6, "hours.open_minutes": 1200}
    flags = check_report("epn-1", "2026-W47", figures, [])
    assert [(f.key, f.rule, f.value, f.reference) for f in flags] == [("visits.total", "capacity", 481, 480)]
    assert check_report("epn-1", "2026-W47", {**figures, "visits.total": 480}, []) == []


def test_visits_while_closed_are_flagged():
    flags = check_report("epn-1", "2026-W47", {"visits.total": 5, "capacity.computers": 6,
                                               "hours.open_minutes": 0}, [])
    assert [f.rule for f in flags] == ["capacity"]


def test_a_report_is_checked_figure_by_figure_against_its_history():
    history = [{"visits.total": v, "capacity.computers": 10} for v in STEADY]
    flags = check_report("epn-1", "2026-W47", {"visits.total": 900, "capacity.computers": 10,
                                               "wifi.sessions": 5000}, history)
    assert [(f.key, f.rule) for f in flags] == [("visits.total", "jump")]
    assert flags[0].as_dict() == {"epn": "epn-1", "period": "2026-W47", "key": "visits.total",
                                  "value": 900, "rule": "jump", "reference": 70.5}


def test_a_period_is_checked_epn_by_epn():
    histories = {"epn-1": [{"visits.total": v} for v in STEADY]}
    flags = check_period("2026-W47", {"epn-2": {"visits.total": 900}, "epn-1": {"visits.total": 900}}, histories)
    assert [f.epn for f in flags] == ["epn-1"]  # epn-2 has no history yet
