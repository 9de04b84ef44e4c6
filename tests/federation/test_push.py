"""Pushing the outbox against a fake hub: order, answers, backoff with full jitter,
Retry-After, revocation, parking, and exactly once in the hub's eyes."""

import random
from datetime import datetime, timedelta, timezone

import pytest

from appliance.federation import outbox
from appliance.federation.push import push_if_due, push_lock, push_outbox
from appliance.federation.report import build_report
from appliance.models import FederationLink, OutboxReport
from appliance.period import Period
from tests.federation.conftest import NOW, SYNCED
from tests.federation.fakehub import FakeHub, Scripted

WEEKS = ("2026-W37", "2026-W38", "2026-W39", "2026-W40")


def queue(config, periods=WEEKS) -> list[dict]:  # type: ignore[no-untyped-def]
    return [build_report(Period.parse(p), config, now=NOW, clock=SYNCED) for p in periods]


def rows() -> list[OutboxReport]:
    return list(OutboxReport.select().order_by(OutboxReport.sequence))


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


# -- backoff --------------------------------------------------------------------------------

@pytest.mark.parametrize("attempts", [0, 1, 3, 6, 20, 10_000])
def test_backoff_is_full_jitter_between_zero_and_the_capped_exponential(attempts):
    rng = random.Random(attempts)
    ceiling = min(outbox.BACKOFF_CAP, outbox.BACKOFF_BASE * 2 ** min(attempts, 32))
    samples = [outbox.backoff_delay(attempts, rng) for _ in range(2000)]
    assert all(0 <= s <= ceiling for s in samples)
    # Full jitter: the whole range is used, not just its upper part.
    assert min(samples) < ceiling * 0.05 and max(samples) > ceiling * 0.95


def test_retry_after_is_a_floor_under_the_jitter_and_has_a_ceiling():
    rng = random.Random(1)
    assert all(outbox.retry_delay(0, 300, rng) >= 300 for _ in range(100))
    assert outbox.retry_delay(0, 10 * 24 * 3600, rng) == outbox.MAX_RETRY_AFTER
    assert outbox.retry_delay(0, None, rng) <= outbox.BACKOFF_BASE


def test_each_epn_has_its_own_stable_second_in_the_hour():
    offsets = {outbox.push_offset(f"epn-{n}") for n in range(50)}
    assert len(offsets) > 40 and all(0 <= o < 3600 for o in offsets)
    assert outbox.push_offset("epn-7") == outbox.push_offset("epn-7")
    now = datetime(2026, 10, 13, 3, 0, 0)
    first = outbox.first_attempt_at("epn-7", now)
    assert now < first <= now + timedelta(hours=1)
    assert (first - first.replace(minute=0, second=0)).total_seconds() == outbox.push_offset("epn-7")


# -- delivery ---------------------------------------------------------------------------------

def test_reports_go_oldest_first_as_the_exact_signed_bytes(enrolled, hub: FakeHub):
    queue(enrolled)
    summary = push_outbox(enrolled, force=True)
    assert (summary.sent, summary.waiting, summary.ok) == (4, 0, True)
    assert hub.accepted_sequences() == [1, 2, 3, 4]
    sent = [r for r in hub.received if r[0] == "/api/v1/reports"]
    for row, (_, headers, body) in zip(rows(), sent):
        assert body == bytes(row.body)
        assert headers["Epn-Key-Id"] == FederationLink.get().key_id
        assert headers["Epn-Signature"] == row.signature
        assert headers["Content-Type"] == "application/json"
    for row in rows():
        assert (row.status, row.http_status, row.attempts) == ("sent", 201, 1)
        assert '"status": "accepted"' in row.answer and row.sent_at is not None


def test_a_duplicate_answer_counts_as_sent(enrolled, hub: FakeHub):
    queue(enrolled, WEEKS[:1])
    push_outbox(enrolled, force=True)
    OutboxReport.update(status="pending").execute()  # as if the answer had been lost
    summary = push_outbox(enrolled, force=True)
    assert summary.sent == 1 and rows()[0].http_status == 200
    assert '"duplicate"' in rows()[0].answer
    assert hub.accepted_sequences() == [1]


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
def test_a_server_error_or_too_many_requests_is_retried_later_and_stops_the_round(enrolled, hub, status):
    queue(enrolled)
    hub.script.append(Scripted(status, {"status": "busy"}))
    before = utcnow()
    summary = push_outbox(enrolled, force=True, rng=random.Random(3))
    assert (summary.sent, summary.waiting, summary.stopped) == (0, 4, "retry")
    assert len([r for r in hub.received if r[0] == "/api/v1/reports"]) == 1  # order kept
    first, *others = rows()
    assert (first.status, first.attempts, first.http_status) == ("pending", 1, status)
    assert before <= first.next_attempt_at <= utcnow() + timedelta(seconds=outbox.BACKOFF_BASE)
    assert all(r.attempts == 0 for r in others)


def test_retry_after_in_seconds_is_honoured(enrolled, hub: FakeHub):
    queue(enrolled, WEEKS[:1])
    hub.script.append(Scripted(429, {"status": "slow_down"}, {"Retry-After": "600"}))
    before = utcnow()
    push_outbox(enrolled, force=True)
    assert rows()[0].next_attempt_at >= before + timedelta(seconds=600)


def test_retry_after_as_an_http_date_is_honoured(enrolled, hub: FakeHub):
    from email.utils import format_datetime

    queue(enrolled, WEEKS[:1])
    when = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=2)
    hub.script.append(Scripted(503, {}, {"Retry-After": format_datetime(when, usegmt=True)}))
    push_outbox(enrolled, force=True)
    assert rows()[0].next_attempt_at >= when.replace(tzinfo=None) - timedelta(seconds=2)


def test_backoff_grows_with_each_failed_attempt(enrolled, hub: FakeHub):
    queue(enrolled, WEEKS[:1])
    ceilings = []
    for attempt in range(5):
        hub.script.append(Scripted(500))
        before = utcnow()
        push_outbox(enrolled, force=True)
        row = rows()[0]
        assert row.attempts == attempt + 1
        ceilings.append((row.next_attempt_at - before).total_seconds())
        assert ceilings[-1] <= outbox.BACKOFF_BASE * 2 ** attempt + 1


def test_an_unreachable_hub_leaves_every_report_pending(enrolled, hub: FakeHub):
    queue(enrolled)
    hub.stop()
    summary = push_outbox(enrolled, force=True)
    assert (summary.sent, summary.waiting, summary.stopped) == (0, 4, "retry")
    assert "cannot connect" in summary.line() and "next try" in summary.line()
    assert rows()[0].attempts == 1 and "cannot connect" in rows()[0].answer


def test_a_hub_that_hangs_is_given_up_on_after_the_timeout(enrolled, hub: FakeHub):
    queue(enrolled, WEEKS[:2])
    hub.script.append(Scripted("hang"))
    summary = push_outbox(enrolled, force=True)
    assert summary.stopped == "retry" and "no answer within 2 s" in summary.reason
    assert [r.status for r in rows()] == ["pending", "pending"]


def test_401_stops_pushing_and_marks_the_link_revoked(enrolled, hub: FakeHub):
    queue(enrolled)
    hub.revoked.update(hub.keys)
    summary = push_outbox(enrolled, force=True)
    assert (summary.stopped, summary.sent, summary.waiting) == ("revoked", 0, 4)
    assert "enrol again" in summary.line()
    assert FederationLink.get().revoked_at is not None
    assert rows()[0].http_status == 401 and "revoked_key" in rows()[0].answer
    requests_made = len(hub.received)
    again = push_outbox(enrolled, force=True)
    assert again.stopped == "revoked" and len(hub.received) == requests_made
    assert push_if_due(enrolled) is None


def test_another_4xx_parks_the_report_with_its_reason_and_the_next_goes(enrolled, hub: FakeHub):
    queue(enrolled, WEEKS[:3])
    hub.script.append(Scripted(422, {"status": "refused", "reason": "clock"}))
    summary = push_outbox(enrolled, force=True)
    assert (summary.sent, summary.parked, summary.waiting) == (2, 1, 0)
    assert [(r.status, r.http_status) for r in rows()] == [("parked", 422), ("sent", 201), ("sent", 201)]
    assert '"clock"' in rows()[0].answer
    assert hub.accepted_sequences() == [2, 3]


def test_a_lost_answer_means_the_same_bytes_again_and_one_report_in_the_hub(enrolled, hub: FakeHub):
    """The hub stores the report but its answer never arrives (timeout): the report stays
    pending, is sent again, and the hub counts it once."""
    queue(enrolled, WEEKS[:2])
    hub.hold.set()
    first = push_outbox(enrolled, force=True)
    assert first.stopped == "retry" and hub.accepted_sequences() == [1]
    hub.hold.clear()
    hub.release.set()
    second = push_outbox(enrolled, force=True)
    assert (second.sent, second.waiting) == (2, 0)
    assert hub.accepted_sequences() == [1, 2]
    assert rows()[0].http_status == 200  # the duplicate


def test_the_hub_down_for_a_week_then_back_gets_every_report_once_in_order(enrolled, hub: FakeHub):
    hub.stop()
    days = [NOW + timedelta(days=d) for d in range(8)]
    periods = ["2026-W38", "2026-W39", "2026-09", "2026-W40", "2026-W41"]
    for day, period in zip(days, periods):
        build_report(Period.parse(period), enrolled, now=day, clock=SYNCED)
        # Every scheduled try of the week fails.
        assert push_outbox(enrolled, force=True).stopped == "retry"
    assert all(r.status == "pending" for r in rows())
    hub.start()
    summary = push_outbox(enrolled, force=True)
    assert (summary.sent, summary.waiting) == (5, 0)
    assert hub.accepted_sequences() == [1, 2, 3, 4, 5]
    assert [b["period"] for b in hub.accepted] == periods


def test_the_periodic_push_waits_for_the_epns_slot_then_for_the_backoff(enrolled, hub: FakeHub):
    queue(enrolled, WEEKS[:1])
    OutboxReport.update(next_attempt_at=utcnow() + timedelta(minutes=20)).execute()
    assert push_if_due(enrolled) is None and hub.accepted == []
    OutboxReport.update(next_attempt_at=utcnow() - timedelta(seconds=1)).execute()
    hub.script.append(Scripted(500))
    assert push_if_due(enrolled).stopped == "retry"
    assert push_if_due(enrolled) is None  # the backoff has not passed yet
    OutboxReport.update(next_attempt_at=utcnow() - timedelta(seconds=1)).execute()
    assert push_if_due(enrolled).sent == 1


def test_a_report_not_yet_due_blocks_the_ones_after_it(enrolled, hub: FakeHub):
    queue(enrolled, WEEKS[:2])
    OutboxReport.update(next_attempt_at=utcnow() - timedelta(seconds=1)).where(OutboxReport.sequence == 2).execute()
    OutboxReport.update(next_attempt_at=utcnow() + timedelta(hours=1)).where(OutboxReport.sequence == 1).execute()
    summary = push_outbox(enrolled)
    assert summary.stopped == "not_due" and summary.sent == 0 and hub.accepted == []


def test_two_pushes_at_once_do_not_run_together(enrolled, hub: FakeHub):
    queue(enrolled, WEEKS[:1])
    with push_lock(enrolled.data_dir) as acquired:
        assert acquired
        summary = push_outbox(enrolled, force=True)
    assert summary.stopped == "busy" and "another push" in summary.line()
    assert push_outbox(enrolled, force=True).sent == 1


def test_pushing_without_enrolment_says_so(db, config):
    from appliance.federation.link import NotEnrolled

    with pytest.raises(NotEnrolled):
        push_outbox(config, force=True)
