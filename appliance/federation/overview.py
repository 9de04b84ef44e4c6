"""What the staff page shows about the federation: the link, the key, the outbox."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from appliance.config import Config
from appliance.federation import keys, outbox
from appliance.federation.link import answer_reason, find_link
from appliance.hardware.clock import Clock, ClockStatus, clock_for
from appliance.models import FederationLink, OutboxReport


@dataclass(frozen=True)
class HubAnswer:
    http_status: int | None
    status: str  # the hub's word (accepted, duplicate, correction, schema, ...) or ""
    reason: str


@dataclass(frozen=True)
class Overview:
    link: FederationLink | None
    fingerprint: str  # of the key that signs reports
    counts: outbox.OutboxCounts
    reports: list[OutboxReport]
    clock: ClockStatus
    next_attempt_at: datetime | None  # of the oldest pending report (naive UTC)


def hub_answer(row: OutboxReport) -> HubAnswer:
    """The hub's import summary of a report, or the local reason when it has none."""
    try:
        answer = json.loads(row.answer) if row.answer else {}
    except ValueError:
        answer = None
    if isinstance(answer, dict):
        reason = answer_reason(answer) if answer.get("reason") or answer.get("message") else ""
        return HubAnswer(row.http_status, str(answer.get("status", ""))[:40], reason)
    return HubAnswer(row.http_status, "", row.answer[:200])


def overview(config: Config, clock: Clock | None = None, limit: int = 100) -> Overview:
    link = find_link()
    fingerprint = ""
    if keys.key_path(config.data_dir).exists():
        fingerprint = keys.fingerprint(keys.public_bytes(keys.load_key(keys.key_path(config.data_dir))))
    oldest = outbox.next_pending()
    return Overview(
        link=link, fingerprint=fingerprint, counts=outbox.counts(), reports=outbox.recent(limit),
        clock=(clock or clock_for(config)).status(),
        next_attempt_at=oldest.next_attempt_at if oldest else None,
    )
