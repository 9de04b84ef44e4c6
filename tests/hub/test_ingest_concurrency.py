"""Reports of one EPN arriving at once, in threads of one process, on SQLite and on
PostgreSQL: the EPN's lock makes the sequence rules hold as if they came one by one."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from appliance.federation.hub.db import database
from appliance.federation.hub.models import EPN, IngestLog, Report
from tests.hub.conftest import WEEK, Appliance

CLIENTS = 8


def _send_at_once(hub_app, appliance: Appliance, bodies: list[bytes]) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    """POST every body from its own thread and test client; the (status, reason) answers."""

    def send(raw: bytes) -> tuple[int, str]:
        answer = hub_app.test_client().post("/api/v1/reports", data=raw, headers=appliance.headers(raw))
        body = answer.get_json()
        return answer.status_code, body.get("reason") or body["status"]

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(send, bodies))


def test_corrections_of_one_period_sent_at_once_leave_the_highest_sequence(  # type: ignore[no-untyped-def]
        hub_app, appliance: Appliance):
    bodies = [appliance.body("2026-W47", {**WEEK, "visits.total": 70 + n}) for n in range(CLIENTS)]
    answers = _send_at_once(hub_app, appliance, bodies)
    kept = [answer for answer in answers if answer[0] == 201]
    assert [reason for _, reason in kept].count("accepted") == 1
    assert all(answer in {(201, "accepted"), (201, "correction"), (409, "stale")} for answer in answers)
    assert answers[-1][0] == 201  # the highest sequence is never stale
    with database.connection_context():
        report = Report.get()
        assert report.sequence == CLIENTS and '"visits.total":77' in report.figures
        assert IngestLog.select().count() == len(kept)
        assert EPN.get_by_id(appliance.epn).last_sequence == CLIENTS


def test_one_report_sent_at_once_is_stored_once(hub_app, appliance: Appliance):  # type: ignore[no-untyped-def]
    raw = appliance.body("2026-W47", WEEK)
    answers = _send_at_once(hub_app, appliance, [raw] * CLIENTS)
    assert sorted(answers) == [(200, "duplicate")] * (CLIENTS - 1) + [(201, "accepted")]
    with database.connection_context():
        assert Report.select().count() == 1 and IngestLog.select().count() == 1
