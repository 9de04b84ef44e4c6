"""One ingest-and-merge run, the same on SQLite (test_scenario.py) and on a real
PostgreSQL cluster (test_postgres.py): the hub's code must not care which it runs on."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from appliance.federation.hub.access import create_api_token
from appliance.federation.hub.db import database
from appliance.federation.hub.merge import merge_period
from appliance.federation.hub.models import EPN
from appliance.period import Period
from tests.hub.conftest import WEEK, enrol_appliance, stored

SURVEY = {"survey.responses": 12, "survey.age._total": 12, "survey.age.20_29": 7,
          "survey.age._suppressed_cells": 2, "survey.age._suppressed_sum": 5}


def _status(response) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    body = response.get_json()
    return response.status_code, body.get("reason") or body["status"]


def check_ingest_and_merge(client) -> None:  # type: ignore[no-untyped-def]
    """Enrol two EPNs, deliver, replay, correct and refuse reports, then merge."""
    a = enrol_appliance(client, "EPN A")
    b = enrol_appliance(client, "EPN B", commune="Elsene", postal_code="1050")
    with database.connection_context():
        EPN.update(enrolled_at=datetime(2025, 1, 1)).execute()

    first = a.body("2026-W47", WEEK)
    assert _status(a.push(first)) == (201, "accepted")
    assert _status(a.push(first)) == (200, "duplicate")
    assert _status(a.report("2026-W47", {**WEEK, "visits.weekday.mon": 11, "visits.total": 71})) == (
        201, "correction")
    assert _status(a.push(first)) == (200, "duplicate")  # replay of the corrected one
    assert _status(a.report("2026-W47", WEEK, sequence=1)) == (409, "conflict")
    assert _status(a.report("2026-10", {"visits.total": 300, **SURVEY})) == (201, "accepted")
    assert _status(b.report("2026-10", {"visits.total": 200, **SURVEY})) == (201, "accepted")
    stale = b.body("2026-W47", {**WEEK, "visits.total": 1})
    assert _status(b.report("2026-W47", {**WEEK, "visits.weekday.mon": 30, "visits.total": 90})) == (
        201, "accepted")
    assert _status(b.push(stale)) == (409, "stale")
    before = stored()
    tampered = stale.replace(b'"visits.total":1', b'"visits.total":2')
    assert _status(client.post("/api/v1/reports", data=tampered, headers=b.headers(stale))) == (
        401, "bad_signature")
    assert stored() == before == (4, 5, [3, 3])

    with database.connection_context():
        week = merge_period(Period.parse("2026-W47"), ZoneInfo("Europe/Brussels"), 7)
        month = merge_period(Period.parse("2026-10"), ZoneInfo("Europe/Brussels"), 7)
        token = create_api_token("scenario")
    assert week["totals"]["visits.total"] == 71 + 90
    assert week["weekdays"]["mon"] == {"epns": 2, "mean": 20.5, "min": 11, "max": 30, "sum": 41}
    assert set(week["municipalities"]) == {"21013", "21009"}
    assert week["completeness"]["expected"] == 2 and week["completeness"]["on_time"] == 2
    assert month["survey"]["questions"]["age"] == {"reports": 2, "answers": {"20_29": 14}, "total": 24,
                                                   "suppressed_cells": 4, "suppressed_sum": 10,
                                                   "without_suppressed_sum": 0}
    over_http = client.get("/api/v1/figures?period=2026-W47", headers={"Authorization": f"Bearer {token}"})
    assert over_http.get_json()["totals"] == week["totals"]
