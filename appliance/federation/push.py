"""Delivering the outbox to the hub: oldest first, one request at a time.

- 2xx (accepted, duplicate, correction): sent; the hub's answer is kept.
- 5xx, 408, 425, 429, an unexpected 1xx/3xx, and network errors: the report waits for a
  later try (backoff with full jitter, not before Retry-After) and this round stops, so
  reports keep their order.
- 401: the hub no longer knows our key; pushing stops until the appliance is enrolled
  again, and the staff page says so.
- another 4xx: the report is parked with the hub's reason, and the next one goes.

Kill-safety: each outcome is one committed UPDATE after the answer. A process killed
before it leaves the report pending, and the next round sends the same bytes again, which
the hub answers as a duplicate: at least once on the wire, exactly once in the hub's eyes.
"""

from __future__ import annotations

import fcntl
import logging
import os
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from appliance import http
from appliance.config import Config
from appliance.federation import outbox
from appliance.federation.link import answer_reason, current_link
from appliance.models import FederationLink, OutboxReport

log = logging.getLogger("appliance.federation.push")
RETRY_STATUSES = {408, 425, 429}
LOCK_FILE = "push.lock"
Sender = Callable[..., http.Response]


@dataclass
class PushSummary:
    sent: int = 0
    parked: int = 0
    waiting: int = 0  # still pending after this round
    stopped: str = ""  # "", "revoked", "retry", "not_due", "deadline", "busy"
    reason: str = ""  # the last problem, for people
    next_attempt_at: datetime | None = None

    @property
    def ok(self) -> bool:
        """Nothing is left waiting and nothing stopped the push."""
        return self.waiting == 0 and self.stopped in ("", "not_due")

    def line(self) -> str:
        text = f"sent {self.sent}, parked {self.parked}, waiting {self.waiting}"
        if self.stopped == "revoked":
            return text + "; the hub refused this appliance's key: enrol again (epn enrol --new-key)"
        if self.stopped == "busy":
            return "another push is running; nothing done"
        if self.reason and self.waiting:
            when = f"; next try {self.next_attempt_at:%Y-%m-%d %H:%M} UTC" if self.next_attempt_at else ""
            return f"{text} ({self.reason}{when})"
        return text


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@contextmanager
def push_lock(data_dir: Path) -> Iterator[bool]:
    """One push at a time per data directory (the worker and `epn push` may overlap).
    The kernel drops the lock when a process dies, even by SIGKILL."""
    fd = os.open(Path(data_dir) / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _reason(response: http.Response) -> str:
    reason = answer_reason(response.json())
    return f"HTTP {response.status}: {reason}" if reason else f"HTTP {response.status}"


def _deliver(link: FederationLink, row: OutboxReport, config: Config, send: Sender,
             rng: random.Random | None, summary: PushSummary) -> None:
    """Send one report and record the outcome; `summary.stopped` says if the round ends."""
    headers = {"Content-Type": "application/json", "EPN-Key-Id": link.key_id,
               "EPN-Signature": row.signature}
    try:
        response = send(link.hub_url + "/api/v1/reports", bytes(row.body), headers,
                        timeout=config.federation.push_timeout_seconds)
    except http.TransportError as error:
        _retry(row, summary, str(error), None, error.retry_after, rng)
        return
    now = _now()
    status = response.status
    if 200 <= status < 300:
        outbox.mark_sent(row, now, status, response.text())
        summary.sent += 1
    elif status == 401:
        outbox.revoke(link, row, now, response.text())
        summary.stopped, summary.reason = "revoked", _reason(response)
        log.warning("the hub refused the key (%s): pushing stops until enrolled again", _reason(response))
    elif status >= 500 or status in RETRY_STATUSES or status < 400:
        _retry(row, summary, _reason(response), status, response.retry_after(), rng, response.text())
    else:
        outbox.park(row, now, status, response.text())
        summary.parked += 1
        log.warning("report %s (%s) refused by the hub: %s", row.sequence, row.period, _reason(response))


def _retry(row: OutboxReport, summary: PushSummary, reason: str, status: int | None,
           retry_after: float | None, rng: random.Random | None, answer: str = "") -> None:
    delay = outbox.retry_delay(row.attempts, retry_after, rng)
    summary.next_attempt_at = outbox.retry_later(row, _now(), delay, status, answer or reason)
    summary.stopped, summary.reason = "retry", reason
    log.info("report %s (%s) not delivered (%s); next try in %.0f s", row.sequence, row.period,
             reason, delay)


def push_outbox(config: Config, *, force: bool = False, deadline: float | None = None,
                send: Sender = http.post, rng: random.Random | None = None) -> PushSummary:
    """Push pending reports in order until the outbox is empty or something stops it.

    `force` sends even reports whose next try is later (`epn push`, "Push now");
    `deadline` (time.monotonic()) stops starting new requests after it.
    """
    summary = PushSummary()
    with push_lock(config.data_dir) as acquired:
        if not acquired:
            summary.stopped = "busy"
            return summary
        link = current_link()
        if link.revoked_at is not None:
            summary.stopped = "revoked"
        while not summary.stopped:
            row = outbox.next_pending()
            if row is None:
                break
            if not force and row.next_attempt_at > _now():
                summary.stopped, summary.next_attempt_at = "not_due", row.next_attempt_at
            elif deadline is not None and time.monotonic() > deadline:
                summary.stopped = "deadline"
            else:
                _deliver(link, row, config, send, rng, summary)
        summary.waiting = outbox.pending_count()
    return summary


def push_if_due(config: Config, rng: random.Random | None = None) -> PushSummary | None:
    """The periodic task's body: push when the oldest pending report's time has come
    (its first try is at the EPN's offset in the hour; a retry, after its backoff)."""
    link = current_link()
    row = outbox.next_pending()
    if link.revoked_at is not None or row is None or row.next_attempt_at > _now():
        return None
    return push_outbox(config, rng=rng)
