"""Duplicates, corrections, conflicts and stale reports: a report is never lost and never
counted twice, whatever order the appliance's outbox replays them in."""

from __future__ import annotations

import json

from appliance.federation.hub.db import database
from appliance.federation.hub.models import Report
from tests.hub.conftest import WEEK, Appliance, enrol_appliance, stored


def _current(epn: str, period: str) -> Report:
    with database.connection_context():
        return Report.get((Report.epn == epn) & (Report.period == period))


def test_the_same_report_again_is_a_duplicate_and_changes_nothing(appliance: Appliance):
    raw = appliance.body("2026-W47", WEEK)
    first = appliance.push(raw)
    assert first.status_code == 201 and first.get_json()["status"] == "accepted"
    before = stored()
    again = appliance.push(raw)
    assert again.status_code == 200
    assert again.get_json() == {**first.get_json(), "status": "duplicate"}
    assert stored() == before


def test_a_higher_sequence_for_the_same_period_is_a_correction(appliance: Appliance):
    appliance.report("2026-W47", WEEK)
    response = appliance.report("2026-W47", {**WEEK, "visits.total": 71})
    assert response.status_code == 201
    assert response.get_json()["status"] == "correction"
    current = _current(appliance.epn, "2026-W47")
    assert json.loads(current.figures)["visits.total"] == 71 and current.sequence == 2
    assert stored()[:2] == (1, 2)  # one current report, two accepted versions logged


def test_a_correction_that_drops_a_figure_drops_it(appliance: Appliance):
    appliance.report("2026-W47", WEEK)
    appliance.report("2026-W47", {"visits.total": 70})
    assert json.loads(_current(appliance.epn, "2026-W47").figures) == {"visits.total": 70}


def test_a_lower_sequence_for_the_same_period_is_stale(appliance: Appliance):
    older = appliance.body("2026-W47", WEEK)
    appliance.report("2026-W47", {**WEEK, "visits.total": 71})
    before = stored()
    response = appliance.push(older)
    assert (response.status_code, response.get_json()["reason"]) == (409, "stale")
    assert stored() == before
    assert json.loads(_current(appliance.epn, "2026-W47").figures)["visits.total"] == 71


def test_a_replay_of_an_older_corrected_report_is_a_duplicate_not_stale(appliance: Appliance):
    older = appliance.body("2026-W47", WEEK)
    assert appliance.push(older).status_code == 201
    appliance.report("2026-W47", {**WEEK, "visits.total": 71})
    before = stored()
    response = appliance.push(older)
    assert (response.status_code, response.get_json()["status"]) == (200, "duplicate")
    assert stored() == before
    assert _current(appliance.epn, "2026-W47").sequence == 2


def test_the_same_sequence_with_other_bytes_is_a_conflict(appliance: Appliance):
    appliance.report("2026-W47", WEEK, sequence=5)
    before = stored()
    for other in (appliance.body("2026-W47", {**WEEK, "visits.total": 1}, sequence=5),
                  appliance.body("2026-W46", WEEK, sequence=5)):  # even for another period
        response = appliance.push(other)
        assert (response.status_code, response.get_json()["reason"]) == (409, "conflict")
    assert stored() == before


def test_a_report_id_used_again_with_another_sequence_is_a_conflict(appliance: Appliance):
    appliance.report("2026-W47", WEEK, report_id="11111111-2222-3333-4444-555555555555")
    response = appliance.report("2026-W46", WEEK, report_id="11111111-2222-3333-4444-555555555555")
    assert (response.status_code, response.get_json()["reason"]) == (409, "conflict")


def test_periods_may_arrive_in_any_order_and_last_sequence_is_the_highest(appliance: Appliance):
    # Sequences are per EPN over all periods: week 47 (12) may arrive before October (10).
    assert appliance.report("2026-W47", WEEK, sequence=12).get_json()["last_sequence"] == 12
    late = appliance.report("2026-10", {"visits.total": 300}, sequence=10)
    assert late.status_code == 201
    assert late.get_json() == {"status": "accepted", "report_id": late.get_json()["report_id"],
                               "epn": appliance.epn, "period": "2026-10", "sequence": 10,
                               "last_sequence": 12, "reason": ""}


def test_each_epn_has_its_own_sequences(hub_client):  # type: ignore[no-untyped-def]
    one, two = enrol_appliance(hub_client), enrol_appliance(hub_client, name="EPN Ixelles", commune="Elsene")
    assert one.report("2026-W47", WEEK, sequence=1).status_code == 201
    assert two.report("2026-W47", WEEK, sequence=1).status_code == 201
    assert stored() == (2, 2, [1, 1])


def test_enrolling_again_tells_the_appliance_where_to_carry_on(hub_client):  # type: ignore[no-untyped-def]
    from appliance.federation.hub.epns import new_enrolment_token
    from tests.hub.conftest import NOW, enrolment_request

    appliance = enrol_appliance(hub_client)
    appliance.report("2026-W47", WEEK, sequence=41)
    # Restored from an old backup, the appliance enrols its (same) key again.
    with database.connection_context():
        token = new_enrolment_token(appliance.epn, NOW, 72)
    answer = hub_client.post("/api/v1/enrol", json=enrolment_request(token, appliance.key)).get_json()
    assert answer["last_sequence"] == 41 and answer["key_id"] == appliance.key_id
    assert appliance.report("2026-W47", {**WEEK, "visits.total": 1}, sequence=42).status_code == 201
