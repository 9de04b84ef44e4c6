"""Each EPN's page: identity, key fingerprint, last report, reports expected vs received
on time / late / missing, the label criteria of a period, and plausibility flags."""

# ruff: noqa: F401, F811  (pytest fixtures imported from the other dashboard test modules)
from __future__ import annotations

from datetime import datetime, time

import pytest

from appliance.federation import keys
from appliance.federation.hub.db import database
from appliance.federation.hub.models import EPN, Report
from appliance.period import Period
from tests.hub.conftest import enrol_appliance
from tests.hub.test_dashboard import OCTOBER, cell, coordinator, enter, federation, page_of

STEADY = (70, 72, 68, 75, 71, 69, 70)
WEEKS = [f"2026-W{n}" for n in range(38, 47)]  # W38..W46


def week(visits: int) -> dict[str, int]:
    return {"visits.total": visits, "capacity.computers": 12, "hours.open_minutes": 20 * 60,
            "hours.mediator_minutes": 5 * 60}


@pytest.fixture
def history(hub_client):  # type: ignore[no-untyped-def]
    """EPN A reported W38-W46 (W44 missing, W45 late) steadily, then 900 visits in W47."""
    a = enrol_appliance(hub_client, "EPN A")
    with database.connection_context():
        EPN.update(enrolled_at=datetime(2025, 1, 1)).execute()
    for name, visits in zip([w for w in WEEKS if w != "2026-W44"], STEADY + (71,), strict=True):
        assert a.report(name, week(visits)).status_code == 201
    assert a.report("2026-W47", week(900)).status_code == 201
    with database.connection_context():
        Report.update(first_received_at=datetime(2026, 11, 20, 12)).where(Report.period == "2026-W45").execute()
        for name in WEEKS:  # the others the day after their week
            if name != "2026-W45":
                Report.update(first_received_at=datetime.combine(Period.parse(name).end, time(12))).where(
                    Report.period == name).execute()
    return a


def test_the_epn_page_shows_identity_key_and_last_report(hub_client, coordinator, history):  # type: ignore[no-untyped-def]
    enter(hub_client)
    page = page_of(hub_client, f"/epns/{history.epn}?period=2026-W47")
    assert "EPN A" in page and "Saint-Gilles (21013)" in page and "1060" in page and "Non-profit" in page
    assert keys.fingerprint(keys.public_bytes(history.key)) in page
    assert "2026-W47," in page  # the last report received


def test_completeness_and_timeliness_per_period(hub_client, coordinator, history):  # type: ignore[no-untyped-def]
    enter(hub_client)
    page = page_of(hub_client, f"/epns/{history.epn}?period=2026-W47")
    assert 'data-period="2026-W44" data-status="missing"' in page
    assert 'data-period="2026-W45" data-status="late"' in page
    assert 'data-period="2026-W46" data-status="on_time"' in page
    assert 'data-period="2026-W47" data-status="on_time"' in page  # within its 7 days
    assert 'data-period="2026-W37" data-status="missing"' in page
    # 12 weeks expected (W36-W47): 10 received, 9 on time, 1 late, 2 missing (W36, W37, W44: 3).
    assert "9 of 12 expected reports received (8 on time, 1 late, 3 missing)" in page


def test_label_criteria_of_a_week_are_met_not_met_or_not_reported(hub_client, coordinator, history):  # type: ignore[no-untyped-def]
    enter(hub_client)
    page = page_of(hub_client, f"/epns/{history.epn}?period=2026-W46")
    assert 'data-criterion="computers" data-status="met"' in page
    assert 'data-criterion="open_hours" data-status="met"' in page
    assert 'data-criterion="mediator_hours" data-status="not_met"' in page  # 5 h < 6 h
    assert 'data-criterion="training_hours" data-status="not_reported"' in page


def test_label_criteria_of_a_month_use_hours_per_week_on_average(hub_client, coordinator, federation):  # type: ignore[no-untyped-def]
    enter(hub_client)
    a = page_of(hub_client, f"/epns/{federation['EPN A'].epn}?period=2026-10")
    # 31 x 4 h open in 31 days (4.43 weeks) = 28 h a week; mediator 14 h a week.
    assert 'data-criterion="open_hours" data-status="met"' in a and "<td>28.0</td>" in a
    assert 'data-criterion="mediator_hours" data-status="met"' in a and "<td>14.0</td>" in a
    b = page_of(hub_client, f"/epns/{federation['EPN B'].epn}?period=2026-10")
    for code in ("computers", "open_hours", "mediator_hours"):  # 4 computers, 7 h, 2.3 h a week
        assert f'data-criterion="{code}" data-status="not_met"' in b
    assert "<td>7.0</td>" in b and "<td>2.3</td>" in b


def test_a_tenfold_jump_is_flagged_on_the_epn_page_and_the_dashboard(hub_client, coordinator, history):  # type: ignore[no-untyped-def]
    enter(hub_client)
    page = page_of(hub_client, f"/epns/{history.epn}?period=2026-W47")
    assert 'data-rule="jump"' in page and "<td>900</td>" in page
    # 900 visits also exceed 12 computers x 20 h x 4 = 960? No: within capacity.
    assert 'data-rule="capacity"' not in page
    dashboard = page_of(hub_client, "/dashboard?period=2026-W47")
    assert f'data-epn="{history.epn}" data-rule="jump"' in dashboard
    assert "900" in dashboard  # the value is shown as reported, not dropped
    assert "Nothing to check." in page_of(hub_client, "/dashboard?period=2026-W46")


def test_the_list_of_epns_links_to_each_page(hub_client, coordinator, federation):  # type: ignore[no-untyped-def]
    enter(hub_client)
    page = page_of(hub_client, "/epns")
    for appliance in federation.values():
        assert f'href="/epns/{appliance.epn}"' in page
    assert page.count("<tr>") == 4  # the header and three EPNs


def test_an_unknown_epn_is_a_404_page(hub_client, coordinator):  # type: ignore[no-untyped-def]
    enter(hub_client)
    response = hub_client.get("/epns/epn-404")
    assert response.status_code == 404 and "text/html" in response.content_type
