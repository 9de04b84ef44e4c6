"""The coordination's dashboard: figures merged from pushed reports, not-reported figures,
the weekday table, suppressed survey cells, label criteria, plausibility flags, the
public page of published periods, access rights and bad input."""

from __future__ import annotations

import html
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from appliance.federation.hub.accounts import AuditEntry, create_account
from appliance.federation.hub.db import database
from appliance.federation.hub.merge import merge_period
from appliance.federation.hub.models import EPN, Publication, Report
from appliance.period import Period
from tests.hub.conftest import WEEK, enrol_appliance
from tests.hub.test_web_auth import PASSWORD, csrf_of, sign_in

TZ = ZoneInfo("Europe/Brussels")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SURVEY = {"survey.responses": 23, "survey.age._total": 23, "survey.age.20_29": 12, "survey.age.30_39": 7,
          "survey.age._suppressed_cells": 4, "survey.age._suppressed_sum": 4}


def month(visits: int, weekdays: tuple[int, ...], computers: int, open_minutes: int, mediator_minutes: int,
          **extra: int) -> dict[str, int]:
    return {"visits.total": visits, **{f"visits.weekday.{d}": n for d, n in zip(DAYS, weekdays, strict=True)},
            "capacity.computers": computers, "hours.open_minutes": open_minutes,
            "hours.mediator_minutes": mediator_minutes, **extra}


# October 2026 (31 days: 4 Mondays to Thursdays... see weekdays_in): two EPNs in Saint-Gilles, one in Ixelles.
OCTOBER = {
    "EPN A": month(620, (100, 120, 130, 110, 100, 60, 0), 12, 31 * 60 * 4, 31 * 60 * 2,
                   **{"visits.purpose.job_search": 300, "visits.purpose.learning_ict": 320}, **SURVEY),
    "EPN B": month(300, (50, 60, 60, 50, 50, 30, 0), 4, 31 * 60, 600,
                   **{"visits.purpose.job_search": 100}),
    "EPN C": {"visits.total": 80},
}


@pytest.fixture
def federation(hub_client):  # type: ignore[no-untyped-def]
    """Three EPNs enrolled since 2025 with October's reports; EPN A's was received late."""
    appliances = {
        "EPN A": enrol_appliance(hub_client, "EPN A"),
        "EPN B": enrol_appliance(hub_client, "EPN B"),
        "EPN C": enrol_appliance(hub_client, "EPN C", commune="21009", postal_code="1050"),
    }
    with database.connection_context():
        EPN.update(enrolled_at=datetime(2025, 1, 1)).execute()
    for name, figures in OCTOBER.items():
        assert appliances[name].report("2026-10", figures).status_code == 201
    return appliances


@pytest.fixture
def coordinator(hub_app):  # type: ignore[no-untyped-def]
    with database.connection_context():
        create_account("ines", PASSWORD, "coordinator", "Inès")
        create_account("admin", PASSWORD, "admin", "Admin")


def enter(client, login: str = "ines"):  # type: ignore[no-untyped-def]
    """Sign in, reading the pages in English."""
    client.set_cookie("hub_lang", "en")
    return sign_in(client, login)


def page_of(client, url: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def cell(page: str, table: str, row: str, column: str) -> str:
    """The text of the cell `data-…="column"` in the row `data-…="row"` of table #table."""
    body = page[page.index(f'id="{table}"'):]
    body = body[:body.index("</table>")]
    line = re.search(rf'<tr data-\w+="{re.escape(row)}"[^>]*>(.*?)</tr>', body, re.DOTALL)[1]
    found = re.search(rf'data-\w+="{re.escape(column)}"[^>]*>(.*?)</t[dh]>', line, re.DOTALL)[1]
    return html.unescape(re.sub(r"<[^>]+>", "", found)).strip()


def test_the_default_period_is_the_last_closed_month(hub_client, coordinator, federation):  # type: ignore[no-untyped-def]
    enter(hub_client)
    page = page_of(hub_client, "/dashboard")
    assert "2026-10" in page and 'value="2026-10"' in page


def test_the_dashboard_shows_the_merged_figures_and_not_reported_for_absent_ones(  # type: ignore[no-untyped-def]
        hub_client, coordinator, federation):
    enter(hub_client)
    page = page_of(hub_client, "/dashboard?period=2026-10")
    assert re.search(r'data-figure="visits">1000<', page)
    # No EPN reports training, loans, printing or Wi-Fi: "not reported", never 0.
    for code in ("training_hours", "loans", "pages_printed", "wifi_sessions"):
        assert re.search(rf'data-figure="{code}"><span class="not-reported">not reported</span>', page), code
    assert re.search(r'data-figure="reporting">3<', page) and "of 3 expected" in page


def test_the_weekday_table_matches_the_merge(hub_client, coordinator, federation):  # type: ignore[no-untyped-def]
    enter(hub_client)
    page = page_of(hub_client, "/dashboard?period=2026-10")
    with database.connection_context():
        merged = merge_period(Period.parse("2026-10"), TZ, 7)
    assert set(merged["weekdays"]) == {*DAYS, "total"}
    for day in (*DAYS, "total"):
        for stat in ("mean", "min", "max", "sum"):
            assert cell(page, "weekdays", day, stat) == str(merged["weekdays"][day][stat]), (day, stat)
    # October has 4 Mondays: EPN A's mean Monday is 100 / 4 = 25, EPN B's 12.5.
    assert merged["weekdays"]["mon"]["max"] == 25 and merged["weekdays"]["mon"]["min"] == 12.5


def test_breakdowns_by_municipality_epn_and_purpose(hub_client, coordinator, federation):  # type: ignore[no-untyped-def]
    enter(hub_client)
    page = page_of(hub_client, "/dashboard?period=2026-10")
    assert cell(page, "municipalities", "21013", "visits") == "920"
    assert cell(page, "municipalities", "21009", "visits") == "80"
    assert "Saint-Gilles" in page and "Ixelles" in page
    assert cell(page, "epns", federation["EPN C"].epn, "visits") == "80"
    assert cell(page, "purposes", "job_search", "value") == "400"
    assert cell(page, "purposes", "admin_procedures", "value") == "not reported"
    assert "Job search" in page


def test_suppressed_survey_cells_are_shown_as_suppressed_not_zero(hub_client, coordinator, federation):  # type: ignore[no-untyped-def]
    enter(hub_client)
    page = page_of(hub_client, "/dashboard?period=2026-10")
    table = page[page.index('id="survey-age"'):]
    table = table[:table.index("</table>")]
    rows = dict(re.findall(r'data-option="(\w+)"><th scope="row">[^<]*</th>\s*<td>(.*?)</td>', table, re.DOTALL))
    assert rows["20_29"] == "12" and rows["30_39"] == "7"
    for hidden in ("under_20", "40_49", "50_59", "60_plus"):
        assert "suppressed" in rows[hidden] and "0" not in re.sub(r"<[^>]+>", "", rows[hidden])
    assert re.search(r'data-figure="suppressed">4 \(4 answers in all\)', table)


def test_a_coordinator_may_not_publish_and_an_admin_may(hub_app, coordinator, federation):  # type: ignore[no-untyped-def]
    coordinator_client, admin_client = hub_app.test_client(), hub_app.test_client()
    enter(coordinator_client)
    token = csrf_of(page_of(coordinator_client, "/dashboard?period=2026-10"))
    refused = coordinator_client.post("/dashboard/publish", data={"period": "2026-10", "csrf_token": token})
    assert refused.status_code == 403
    enter(admin_client, "admin")
    token = csrf_of(page_of(admin_client, "/dashboard?period=2026-10"))
    done = admin_client.post("/dashboard/publish", data={"period": "2026-10", "csrf_token": token})
    assert done.status_code == 302
    with database.connection_context():
        assert [p.period for p in Publication.select()] == ["2026-10"]
        assert [(e.action, e.target) for e in AuditEntry.select()] == [("publish", "2026-10")]


def test_an_open_period_cannot_be_published(hub_app, coordinator, federation):  # type: ignore[no-untyped-def]
    client = hub_app.test_client()
    enter(client, "admin")
    token = csrf_of(page_of(client, "/dashboard?period=2026-10"))
    response = client.post("/dashboard/publish", data={"period": "2026-11", "csrf_token": token})
    assert response.status_code == 400 and "Only a closed period can be published." in response.get_data(as_text=True)
    with database.connection_context():
        assert Publication.select().count() == 0 and AuditEntry.select().count() == 0


def test_the_public_page_shows_only_published_periods_without_login(hub_app, coordinator, federation):  # type: ignore[no-untyped-def]
    public = hub_app.test_client()
    public.set_cookie("hub_lang", "en")
    empty = page_of(public, "/")
    assert "No figures have been published yet." in empty and "1000" not in empty
    assert public.get("/?period=2026-10").status_code == 404
    admin = hub_app.test_client()
    enter(admin, "admin")
    token = csrf_of(page_of(admin, "/dashboard?period=2026-10"))
    admin.post("/dashboard/publish", data={"period": "2026-10", "csrf_token": token})
    page = page_of(public, "/")
    assert re.search(r'data-figure="visits">1000<', page) and 'id="weekdays"' in page
    assert 'id="municipalities"' in page
    # Federation level only: no EPN's own row, no survey, no flags.
    assert "EPN A" not in page and "survey-age" not in page and 'id="flags"' not in page
    admin.post("/dashboard/publish", data={"period": "2026-10", "action": "unpublish", "csrf_token": token})
    assert public.get("/?period=2026-10").status_code == 404
    with database.connection_context():
        assert [e.action for e in AuditEntry.select().order_by(AuditEntry.id)] == ["publish", "unpublish"]


@pytest.mark.parametrize("url", ["/dashboard?period=2026-13", "/dashboard?period=nonsense",
                                 "/dashboard?period=" + "9" * 300, "/epns/x?period=2026-W99",
                                 "/dashboard/export.csv?from=2026-10&to=2025-01",
                                 "/dashboard/export.csv?from=2026-W01&to=2026-11",
                                 "/dashboard/export.json?period=20x6", "/dashboard/export.csv",
                                 "/dashboard/summary?year=2026-10", "/dashboard/summary.csv?year=x",
                                 "/?period=nope"])
def test_bad_input_is_a_400_page_in_the_readers_language(hub_client, coordinator, url):  # type: ignore[no-untyped-def]
    sign_in(hub_client)
    hub_client.set_cookie("hub_lang", "nl")
    response = hub_client.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 400, url
    assert "text/html" in response.content_type and 'lang="nl"' in page


def test_a_bad_period_keeps_what_was_typed(hub_client, coordinator):  # type: ignore[no-untyped-def]
    enter(hub_client)
    response = hub_client.get("/dashboard?period=2026-13")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'value="2026-13"' in page and 'aria-invalid="true"' in page


def test_pages_need_a_signed_in_account(hub_client, coordinator):  # type: ignore[no-untyped-def]
    for url in ("/dashboard", "/dashboard/export.csv?period=2026", "/dashboard/export.json?period=2026",
                "/dashboard/summary", "/epns", "/epns/epn-1"):
        response = hub_client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    assert hub_client.post("/dashboard/publish", data={"period": "2026-10"}).status_code in (302, 400)


def test_a_week_shows_its_trend_as_an_accessible_chart_with_its_table(hub_client, coordinator, federation):  # type: ignore[no-untyped-def]
    a = federation["EPN A"]
    for week, visits in (("2026-W45", 60), ("2026-W46", 65), ("2026-W47", 70)):
        assert a.report(week, {**WEEK, "visits.total": visits}).status_code == 201
    enter(hub_client)
    page = page_of(hub_client, "/dashboard?period=2026-W47")
    svg = page[page.index('<svg class="chart" id="chart-visits"'):]
    svg = svg[:svg.index("</svg>")]
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert svg.count('class="chart-bar"') == 3  # nine earlier weeks were not reported
    trend = page[page.index('id="trend-visits"'):]
    trend = trend[:trend.index("</table>")]
    assert "<th scope=\"row\">2026-W46</th><td>65</td>" in trend
    assert "<th scope=\"row\">2026-W40</th><td><span class=\"not-reported\">" in trend
    with database.connection_context():
        assert Report.select().where(Report.period == "2026-W46").count() == 1


def test_a_cell_some_epns_suppressed_is_shown_as_a_lower_bound(hub_client, coordinator, federation):  # type: ignore[no-untyped-def]
    a, b = federation["EPN A"], federation["EPN B"]
    assert a.report("2026-09", {"survey.age._total": 20, "survey.age.20_29": 12, "survey.age.30_39": 8,
                                "survey.age._suppressed_cells": 4, "survey.age._suppressed_sum": 0}).status_code == 201
    assert b.report("2026-09", {"survey.age._total": 15, "survey.age.30_39": 9,
                                "survey.age._suppressed_cells": 5, "survey.age._suppressed_sum": 6}).status_code == 201
    enter(hub_client)
    page = page_of(hub_client, "/dashboard?period=2026-09")
    table = page[page.index('id="survey-age"'):]
    table = table[:table.index("</table>")]
    rows = dict(re.findall(r'data-option="(\w+)"><th scope="row">[^<]*</th>\s*<td>(.*?)</td>', table, re.DOTALL))
    assert rows["20_29"] == '<span class="partial">at least 12</span>'  # EPN B hid its cell
    assert rows["30_39"] == "17"
    assert "suppressed" in rows["under_20"]
