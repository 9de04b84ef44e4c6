"""The outbox: signed reports waiting for (or already given to) the hub, and its rules.

A row is `pending` until the hub answers 2xx (`sent`) or refuses it for good (`parked`,
with the hub's reason). Pending rows go out oldest first, by sequence. A row's bytes and
signature never change once written: a retry sends exactly the same bytes, which the hub
answers as a duplicate if it had already stored them.

Timing: the first attempt waits for the EPN's own second in the hour (so that every
appliance built after midnight does not knock on the hub at once); a failed attempt is
retried after an exponential backoff with full jitter, and never before the hub's
Retry-After.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import fn

from appliance.db import database
from appliance.models import FederationLink, OutboxReport

PENDING, SENT, PARKED = "pending", "sent", "parked"
BACKOFF_BASE = 60.0  # seconds before the first retry, at most
BACKOFF_CAP = 3600.0  # never wait more than an hour between tries (the push is hourly)
MAX_RETRY_AFTER = 24 * 3600.0  # a hub asking for more is not taken at its word
ANSWER_LIMIT = 2000


def push_offset(epn_id: str) -> int:
    """The EPN's own second in the hour (0-3599), stable and spread by a hash of its id."""
    return int(hashlib.sha256(epn_id.encode("utf-8")).hexdigest()[:8], 16) % 3600


def first_attempt_at(epn_id: str, now: datetime) -> datetime:
    """The next moment after `now` at the EPN's offset in the hour (naive UTC in, out)."""
    slot = now.replace(minute=0, second=0, microsecond=0) + timedelta(seconds=push_offset(epn_id))
    return slot if slot > now else slot + timedelta(hours=1)


def backoff_delay(attempts: int, rng: random.Random | None = None) -> float:
    """Full jitter: uniform over [0, min(cap, base * 2**attempts)] seconds, where
    `attempts` counts the tries made before this failure."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(attempts, 32))
    return (rng or random).uniform(0, ceiling)


def retry_delay(attempts: int, retry_after: float | None, rng: random.Random | None = None) -> float:
    """Seconds until the next try: the jittered backoff, but not before Retry-After."""
    delay = backoff_delay(attempts, rng)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


def next_pending() -> OutboxReport | None:
    """The oldest report still to deliver."""
    return (OutboxReport.select().where(OutboxReport.status == PENDING)
            .order_by(OutboxReport.sequence).first())


def pending_count() -> int:
    return OutboxReport.select().where(OutboxReport.status == PENDING).count()


def _finish(row: OutboxReport, **changes: object) -> None:
    OutboxReport.update(attempts=OutboxReport.attempts + 1, **changes).where(
        OutboxReport.id == row.id).execute()


def mark_sent(row: OutboxReport, now: datetime, http_status: int, answer: str) -> None:
    _finish(row, status=SENT, sent_at=now, http_status=http_status, answer=answer[:ANSWER_LIMIT])


def park(row: OutboxReport, now: datetime, http_status: int | None, answer: str) -> None:
    """The hub refused the report for good: keep it, with the reason, and go on."""
    _finish(row, status=PARKED, sent_at=now, http_status=http_status, answer=answer[:ANSWER_LIMIT])


def retry_later(row: OutboxReport, now: datetime, delay: float, http_status: int | None,
                answer: str) -> datetime:
    when = now + timedelta(seconds=delay)
    _finish(row, next_attempt_at=when, http_status=http_status, answer=answer[:ANSWER_LIMIT])
    return when


def revoke(link: FederationLink, row: OutboxReport, now: datetime, answer: str) -> None:
    """The hub no longer knows our key: stop pushing until enrolled again."""
    with database.atomic():
        FederationLink.update(revoked_at=now).where(FederationLink.id == link.id).execute()
        _finish(row, http_status=401, answer=answer[:ANSWER_LIMIT])


def latest_per_period(first_sequence: int = 1) -> dict[str, OutboxReport]:
    """Each period's latest report (highest sequence) of the current enrolment (from
    `first_sequence`), whatever its status."""
    latest: dict[str, OutboxReport] = {}
    rows = OutboxReport.select(OutboxReport.id, OutboxReport.period, OutboxReport.sequence,
                               OutboxReport.status, OutboxReport.http_status,
                               OutboxReport.figures_digest, OutboxReport.report_id)
    for row in rows.where(OutboxReport.sequence >= first_sequence):
        if row.period not in latest or row.sequence > latest[row.period].sequence:
            latest[row.period] = row
    return latest


def latest_report(period: str, first_sequence: int = 1) -> OutboxReport | None:
    return (OutboxReport.select()
            .where((OutboxReport.period == period) & (OutboxReport.sequence >= first_sequence))
            .order_by(OutboxReport.sequence.desc()).first())


def superseded_locally(row: OutboxReport) -> bool:
    """Parked here (at a new enrolment), not refused by a hub: it should be built again."""
    return row.status == PARKED and row.http_status is None


def supersede_pending(now: datetime, reason: str) -> int:
    """Park every pending report without sending it (they were made for another hub,
    EPN id or key); the next build makes their periods again."""
    return (OutboxReport.update(status=PARKED, sent_at=now, http_status=None, answer=reason)
            .where(OutboxReport.status == PENDING).execute())


@dataclass(frozen=True)
class OutboxCounts:
    pending: int
    sent: int
    parked: int


def counts() -> OutboxCounts:
    by_status = {status: 0 for status in (PENDING, SENT, PARKED)}
    query = OutboxReport.select(OutboxReport.status, fn.COUNT(OutboxReport.id)).group_by(OutboxReport.status)
    for status, number in query.tuples():
        by_status[status] = number
    return OutboxCounts(by_status[PENDING], by_status[SENT], by_status[PARKED])


def recent(limit: int = 100) -> list[OutboxReport]:
    """The latest reports, newest first, for the staff page."""
    return list(OutboxReport.select(
        OutboxReport.id, OutboxReport.report_id, OutboxReport.period, OutboxReport.sequence,
        OutboxReport.created_at, OutboxReport.status, OutboxReport.attempts,
        OutboxReport.next_attempt_at, OutboxReport.sent_at, OutboxReport.http_status,
        OutboxReport.answer,
    ).order_by(OutboxReport.sequence.desc()).limit(limit))
