"""Building reports: the figures, the envelope, the signature, the outbox row and the
sequence written together, only closed periods, corrections only when figures change."""

import re
import threading
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from peewee import IntegrityError

from appliance import registry
from appliance.db import database
from appliance.federation import keys, outbox
from appliance.federation.canonical import canonical_bytes, is_canonical, parse_strict
from appliance.federation.link import FederationError, NotEnrolled
from appliance.federation.report import (
    PeriodNotClosed,
    build_due,
    build_report,
    envelope,
    figures_digest,
    periods_to_report,
)
from appliance.federation.schema import CURRENT_SCHEMA, HOUR_BANDS, PURPOSES, SCHEMAS, WEEKDAYS, validate_report
from appliance.models import FederationLink, OutboxReport
from appliance.period import Period
from tests.federation.conftest import NOW, SYNCED, add_visits, open_weekdays

W40 = Period.parse("2026-W40")  # Monday 28 September to Sunday 4 October 2026


def build(period: Period | str, config, **kwargs):  # type: ignore[no-untyped-def]
    period = Period.parse(period) if isinstance(period, str) else period
    return build_report(period, config, now=kwargs.pop("now", NOW), clock=SYNCED, **kwargs)


def test_a_week_report_has_every_weekday_hour_band_and_purpose_with_explicit_zeros(linked, config):
    open_weekdays()
    add_visits(date(2026, 9, 29), 3, "job_search", hour=10)
    add_visits(date(2026, 10, 3), 2, "learning_ict", hour=None, source="import")
    figures = build(W40, config)["figures"]
    assert figures["visits.total"] == 5
    assert {f"visits.weekday.{d}" for d in WEEKDAYS} <= set(figures)
    assert figures["visits.weekday.tue"] == 3 and figures["visits.weekday.sat"] == 2
    assert figures["visits.weekday.mon"] == 0 and figures["visits.weekday.sun"] == 0
    assert {f"visits.hour.{h}" for h in HOUR_BANDS} <= set(figures)
    assert figures["visits.hour.10"] == 3 and figures["visits.hour.unknown"] == 2
    assert figures["visits.hour.03"] == 0
    assert {f"visits.purpose.{p}" for p in PURPOSES} <= set(figures)
    assert figures["visits.purpose.admin_procedures"] == 0
    assert figures["visits.source.import"] == 2
    assert figures["hours.open_minutes"] == 5 * 8 * 60
    assert figures["capacity.computers"] == 12


def test_figures_of_parts_that_report_nothing_are_absent_not_zero(linked, config):
    figures = build(W40, config)["figures"]
    prefixes = {key.split(".")[0] for key in figures}
    assert prefixes == {"visits", "hours", "capacity"}
    assert not any(key.startswith(("survey.", "loans.", "wifi.", "printing.")) for key in figures)


def test_the_envelope_follows_the_protocol(linked, config):
    body = build(W40, config)
    assert set(body) == {"protocol", "schema", "hub", "epn", "key_id", "period", "sequence",
                         "report_id", "created_at", "figures"}
    assert (body["protocol"], body["hub"], body["epn"]) == ("epn-report/1", "brussels", "epn-7")
    assert body["key_id"] == linked.key_id and body["period"] == "2026-W40"
    assert uuid.UUID(body["report_id"]).version == 4
    assert body["created_at"] == "2026-10-13T03:00:00Z"
    assert validate_report(body) == W40


def test_the_outbox_row_holds_the_canonical_bytes_and_a_signature_that_verifies(linked, config):
    body = build(W40, config)
    row = OutboxReport.get()
    data = bytes(row.body)
    assert is_canonical(data) and parse_strict(data) == body and data == canonical_bytes(body)
    public = keys.ensure_key(config.data_dir).public_key()
    assert keys.verify(public, keys.REPORT_CONTEXT, data, row.signature)
    tampered = data.replace(b'"visits.total":0', b'"visits.total":9')
    assert tampered != data and not keys.verify(public, keys.REPORT_CONTEXT, tampered, row.signature)
    # A signature made for a report is worthless for another purpose.
    assert not keys.verify(public, keys.ENROL_CONTEXT, data, row.signature)
    assert (row.status, row.attempts, row.report_id, row.sequence) == ("pending", 0, body["report_id"], 1)
    assert row.figures_digest == figures_digest(body["figures"])


def test_only_closed_periods_are_built(linked, config):
    for open_period in ("2026-W42", "2026-10", "2026"):
        with pytest.raises(PeriodNotClosed, match="not over yet"):
            build(open_period, config)
    # A week that ended at local midnight is closed, even if UTC is still the day before.
    sunday_evening_utc = datetime(2026, 10, 11, 22, 30, tzinfo=timezone.utc)  # 00:30 in Brussels
    assert build("2026-W41", config, now=sunday_evening_utc)["period"] == "2026-W41"
    assert OutboxReport.select().count() == 1


def test_sequences_rise_by_one_over_all_periods(linked, config):
    built = [build(p, config)["sequence"] for p in ("2026-W39", "2026-W40", "2026-09", "2026-W39")]
    assert built == [1, 2, 3, 4]
    assert FederationLink.get().next_sequence == 5


def test_a_failed_write_leaves_the_sequence_untouched(linked, config):
    """The row and the counter are one transaction: the row cannot be written (its
    sequence is taken), so the counter does not move either."""
    OutboxReport.create(report_id="squatter", period="2026-W01", sequence=1, body=b"{}",
                        signature="x", figures_digest="x")
    with pytest.raises(IntegrityError):
        build(W40, config)
    assert FederationLink.get().next_sequence == 1
    assert OutboxReport.select().count() == 1


def test_builders_running_at_once_never_share_a_sequence(linked, config):
    errors = []

    def builder() -> None:
        try:
            with database.connection_context():
                for _ in range(4):
                    build(W40, config)
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=builder) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.sequence for r in OutboxReport.select()) == list(range(1, 17))
    assert FederationLink.get().next_sequence == 17


def test_a_report_the_hub_would_refuse_is_never_queued(linked, config, monkeypatch):
    monkeypatch.setitem(registry._figures, "rogue", lambda period: {"visits.favourite_name": 1})
    with pytest.raises(FederationError, match="visits.favourite_name"):
        build(W40, config)
    assert OutboxReport.select().count() == 0
    assert FederationLink.get().next_sequence == 1


def test_nothing_is_built_before_enrolment(db, config):
    with pytest.raises(NotEnrolled, match="epn enrol HUB_URL TOKEN"):
        build(W40, config)
    with pytest.raises(NotEnrolled):
        build_due(config, now=NOW, clock=SYNCED)


def test_an_unchanged_period_is_not_queued_again_when_only_changes_are_wanted(linked, config):
    add_visits(date(2026, 9, 29), 2)
    build(W40, config)
    assert build(W40, config, if_changed=True) is None
    add_visits(date(2026, 10, 1), 1)
    correction = build(W40, config, if_changed=True)
    assert correction["figures"]["visits.total"] == 3 and correction["sequence"] == 2


def _queue_month_with_survey(link: FederationLink, config, survey: dict) -> None:  # type: ignore[no-untyped-def]
    """A month report as if built when the survey had answers (survey keys included)."""
    from appliance.federation.report import report_figures

    period = Period.parse("2026-09")
    figures = {**report_figures(period, config), **survey}
    body = envelope(link, period, figures, link.next_sequence, NOW)
    data = canonical_bytes(body)
    OutboxReport.create(report_id=body["report_id"], period="2026-09", sequence=body["sequence"],
                        body=data, signature=keys.sign(keys.ensure_key(config.data_dir), keys.REPORT_CONTEXT, data),
                        figures_digest=figures_digest(figures), status="sent")
    FederationLink.update(next_sequence=link.next_sequence + 1).execute()


def test_a_correction_of_a_month_repeats_its_sent_survey_figures_unchanged(linked, config):
    survey = {"survey.responses": 12, "survey.gender.woman": 7, "survey.gender.man": 5,
              "survey.gender.other_or_unsaid": 0, "survey.gender._total": 12,
              "survey.gender._suppressed_cells": 0, "survey.gender._suppressed_sum": 0}
    _queue_month_with_survey(linked, config, survey)
    add_visits(date(2026, 9, 15), 4)  # a late correction of September's visits
    correction = build("2026-09", config, if_changed=True)
    assert correction["figures"]["visits.total"] == 4
    assert {k: v for k, v in correction["figures"].items() if k.startswith("survey.")} == survey


def test_a_parked_months_survey_part_is_not_final(linked, config):
    _queue_month_with_survey(linked, config, {"survey.responses": 9})
    OutboxReport.update(status="parked").execute()
    again = build("2026-09", config)
    assert not any(k.startswith("survey.") for k in again["figures"])


def test_periods_to_report_are_the_closed_weeks_months_and_years_touching_the_window():
    periods = [str(p) for p in periods_to_report(date(2025, 12, 20), date(2026, 2, 3))]
    assert periods == ["2025-W51", "2025-W52", "2025-12", "2025", "2026-W01", "2026-W02",
                       "2026-W03", "2026-W04", "2026-01", "2026-W05"]


def test_the_daily_pass_reports_the_backfill_then_only_changes_then_waits_a_day(linked, config):
    # Enrolled on 1 October 2026 with 8 weeks of backfill: from 6 August.
    first = build_due(config, now=NOW, clock=SYNCED)
    assert [b["period"] for b in first] == [
        "2026-W32", "2026-W33", "2026-W34", "2026-W35", "2026-08", "2026-W36", "2026-W37",
        "2026-W38", "2026-W39", "2026-09", "2026-W40", "2026-W41"]
    assert [b["sequence"] for b in first] == list(range(1, 13))
    assert build_due(config, now=NOW + timedelta(hours=5), clock=SYNCED) is None  # same day
    tomorrow = NOW + timedelta(days=1)
    assert build_due(config, now=tomorrow, clock=SYNCED) == []
    add_visits(date(2026, 10, 9), 2)  # a recent week changes: a correction
    add_visits(date(2026, 8, 11), 2)  # its week closed 59 days ago: left as reported;
    # its month closed 44 days ago: still within the correction window (45 days)
    corrections = build_due(config, now=tomorrow + timedelta(days=1), clock=SYNCED)
    assert [(b["period"], b["figures"]["visits.total"]) for b in corrections] == [
        ("2026-08", 2), ("2026-W41", 2)]


def test_the_daily_pass_rebuilds_periods_whose_reports_were_made_for_an_earlier_enrolment(linked, config):
    build_due(config, now=NOW, clock=SYNCED)
    outbox.supersede_pending(datetime(2026, 10, 13, 4), "enrolled again")
    FederationLink.update(built_on=None).execute()
    again = build_due(config, now=NOW, clock=SYNCED)
    assert len(again) == 12 and again[0]["sequence"] == 13


def test_figures_digest_does_not_depend_on_key_order():
    assert figures_digest({"a.b": 1, "c.d": 2}) == figures_digest({"c.d": 2, "a.b": 1})
    assert re.fullmatch(r"[0-9a-f]{64}", figures_digest({}))


def test_every_key_a_report_can_carry_is_in_the_allow_list(linked, config):
    for period in ("2026-W40", "2026-09", "2025"):
        figures = build(period, config)["figures"]
        assert set(figures) <= SCHEMAS[CURRENT_SCHEMA], period


def test_a_report_refused_by_the_hub_is_built_again_on_request_not_every_day(linked, config):
    build(W40, config)
    OutboxReport.update(status="parked", http_status=422, answer='{"reason": "clock"}').execute()
    assert build(W40, config, if_changed=True) is None  # the daily pass leaves it to people
    again = build(W40, config, if_changed=True, retry_refused=True)  # `epn report build`
    assert again["sequence"] == 2
