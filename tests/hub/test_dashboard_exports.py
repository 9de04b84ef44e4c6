"""The dashboard's exports (CSV and JSON, a period or a range) and the yearly summary carry
the same numbers as the page and as merge_period, plausibility flags included."""

# ruff: noqa: F401, F811  (pytest fixtures imported from the other dashboard test modules)
from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

from appliance.federation.hub.db import database
from appliance.federation.hub.merge import merge_period
from appliance.period import Period
from tests.hub.test_dashboard import DAYS, cell, coordinator, enter, federation, page_of
from tests.hub.test_dashboard_epns import history, week

TZ = ZoneInfo("Europe/Brussels")


def rows_of(client, url: str) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/csv", url
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def pick(rows: list[dict[str, str]], section: str, scope: str = "") -> dict[str, str]:
    return {r["key"]: r["value"] for r in rows if r["section"] == section and r["scope"] == scope}


def test_the_csv_has_the_numbers_of_the_page_and_of_the_merge(hub_client, coordinator, federation):  # type: ignore[no-untyped-def]
    enter(hub_client)
    page = page_of(hub_client, "/dashboard?period=2026-10")
    rows = rows_of(hub_client, "/dashboard/export.csv?period=2026-10")
    with database.connection_context():
        merged = merge_period(Period.parse("2026-10"), TZ, 7)
    assert {k: int(v) for k, v in pick(rows, "total").items()} == merged["totals"]
    for day in (*DAYS, "total"):
        exported = pick(rows, "weekday", day)
        for stat in ("mean", "min", "max", "sum"):
            assert exported[stat] == cell(page, "weekdays", day, stat) == str(merged["weekdays"][day][stat])
    headlines = pick(rows, "headline")
    assert headlines["visits"] == "1000" and headlines["loans"] == ""  # not reported, not 0
    assert pick(rows, "municipality", "21013")["visits.total"] == cell(page, "municipalities", "21013", "visits")
    assert pick(rows, "survey", "age") == {"20_29": "12", "30_39": "7", "_total": "23", "_suppressed_cells": "4",
                                           "_suppressed_sum": "4", "_without_suppressed_sum": "0"}
    b = federation["EPN B"].epn
    assert pick(rows, "label", b) == {"computers": "not_met", "open_hours": "not_met",
                                      "training_hours": "not_reported", "mediator_hours": "not_met"}
    assert pick(rows, "completeness")["expected"] == "3"


def test_the_json_has_the_same_tables(hub_client, coordinator, federation):  # type: ignore[no-untyped-def]
    enter(hub_client)
    document = hub_client.get("/dashboard/export.json?period=2026-10").get_json()
    with database.connection_context():
        merged = merge_period(Period.parse("2026-10"), TZ, 7)
    assert document["hub"] == "brussels" and document["period"] == "2026-10"
    assert document["weekdays"] == merged["weekdays"] and document["merged"]["totals"] == merged["totals"]
    assert document["headlines"]["visits"] == 1000 and document["headlines"]["wifi_sessions"] is None
    question = next(t for t in document["survey_tables"] if t["question"] == "age")
    assert {c["option"]: c["value"] for c in question["cells"]}["under_20"] is None  # suppressed


def test_plausibility_flags_are_in_the_exports(hub_client, coordinator, history):  # type: ignore[no-untyped-def]
    enter(hub_client)
    rows = rows_of(hub_client, "/dashboard/export.csv?period=2026-W47")
    assert pick(rows, "plausibility", history.epn) == {"visits.total:jump": "70.5"}
    assert pick(rows, "epn", history.epn)["visits.total"] == "900"  # reported as is
    flags = hub_client.get("/dashboard/export.json?period=2026-W47").get_json()["plausibility"]
    assert flags == [{"epn": history.epn, "period": "2026-W47", "key": "visits.total", "value": 900,
                      "rule": "jump", "reference": 70.5}]


def test_a_range_exports_each_period(hub_client, coordinator, history):  # type: ignore[no-untyped-def]
    enter(hub_client)
    rows = rows_of(hub_client, "/dashboard/export.csv?from=2026-W45&to=2026-W47")
    assert sorted({r["period"] for r in rows}) == ["2026-W45", "2026-W46", "2026-W47"]
    assert {r["period"]: r["value"] for r in rows if r["section"] == "headline" and r["key"] == "visits"} == {
        "2026-W45": "70", "2026-W46": "71", "2026-W47": "900"}
    document = hub_client.get("/dashboard/export.json?from=2026-W45&to=2026-W47").get_json()
    assert [p["period"] for p in document["periods"]] == ["2026-W45", "2026-W46", "2026-W47"]


def test_the_yearly_summary_is_printable_and_has_a_csv(hub_client, coordinator, federation):  # type: ignore[no-untyped-def]
    a = federation["EPN A"]
    assert a.report("2025-10", {"visits.total": 800}).status_code == 201
    assert a.report("2025", {"visits.total": 9000, "capacity.computers": 12}).status_code == 201
    enter(hub_client)
    page = page_of(hub_client, "/dashboard/summary?year=2025")
    assert "Yearly summary 2025" in page and 'data-figure="visits">9000<' in page
    assert 'id="trend-visits"' in page and '<th scope="row">2025-10</th><td>800</td>' in page
    rows = rows_of(hub_client, "/dashboard/summary.csv?year=2025")
    assert pick(rows, "headline")["visits"] == "9000"
    assert pick(rows, "trend", "2025-10")["visits"] == "800"
    assert rows == rows_of(hub_client, "/dashboard/export.csv?period=2025")
