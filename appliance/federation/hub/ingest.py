"""Ingest of one signed report: the checks of docs/protocol.md in their order, cheapest
first, then the sequence rules. Every refusal is a `Refused` with its own status and
reason, raised before anything is written (or inside the one write transaction, which
then rolls back): nothing is stored unless every check passes.

The size limit is checked by the view, which must not read an oversized body at all.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from peewee import IntegrityError

from appliance.federation import keys
from appliance.federation.canonical import CanonicalError, parse_strict
from appliance.federation.hub.db import database, engine, execute, write_transaction
from appliance.federation.hub.epns import KnownKey, find_key, naive_utc
from appliance.federation.hub.errors import Refused
from appliance.federation.schema import SchemaError, validate_report
from appliance.period import Period

# An appliance's clock synchronised by NTP may still be a little ahead of ours.
CLOCK_TOLERANCE = timedelta(minutes=2)
CREATED_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class HubRules:
    """What ingest needs to know about this hub."""

    name: str
    tz: ZoneInfo


@dataclass(frozen=True)
class Receipt:
    """The import summary of an accepted (or duplicate) report."""

    status: str  # accepted | correction | duplicate
    http_status: int
    report_id: str
    epn: str
    period: str
    sequence: int
    last_sequence: int

    def answer(self) -> dict[str, Any]:
        return {"status": self.status, "report_id": self.report_id, "epn": self.epn,
                "period": self.period, "sequence": self.sequence,
                "last_sequence": self.last_sequence, "reason": ""}


def ingest_report(raw: bytes, key_id: str, signature: str, rules: HubRules, now: datetime) -> Receipt:
    """Verify, check and store one report body (the exact bytes received)."""
    key = _known_key(key_id)
    if not keys.verify(key.public, keys.REPORT_CONTEXT, raw, signature):
        raise Refused(401, "bad_signature", "the signature does not verify over the body")
    # From here on the EPN is known: refusals tell it where its sequence stands.
    context: dict[str, Any] = {"epn": key.epn_id}
    try:
        body = _parse(raw)
        period, created = _validate(body)
        _check_canonical(body, raw)
        context.update(report_id=body["report_id"], period=str(period), sequence=body["sequence"])
        _check_identity(body, key, rules.name)
        _check_clock(created, period, rules.tz, now)
        return _store(body, period, created, hashlib.sha256(raw).hexdigest(), now)
    except Refused as refusal:
        refusal.context = {**context, **refusal.context, "last_sequence": _last_sequence(key.epn_id)}
        raise


def _known_key(key_id: str) -> KnownKey:
    key = find_key(key_id.strip())
    if key is None:
        raise Refused(401, "unknown_key", "EPN-Key-Id names no key enrolled here")
    if key.revoked:
        raise Refused(401, "revoked_key", "this key is revoked: enrol the appliance again")
    return key


def _parse(raw: bytes) -> Any:
    try:
        return parse_strict(raw)
    except CanonicalError as error:
        raise Refused(400, "malformed", str(error)) from None


def _check_canonical(body: dict[str, Any], raw: bytes) -> None:
    """Same bytes then means same content: duplicates and conflicts are exact.

    Checked once the schema has passed: every key and string is then plain ASCII without
    escapes and every number an integer, and for such values Python's sorted compact JSON
    is exactly RFC 8785 (and ten times faster than the general encoder).
    """
    if json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii") != raw:
        raise Refused(400, "malformed", "the body is not in the canonical form (RFC 8785)")


def _validate(body: Any) -> tuple[Period, datetime]:
    """The allow-list of the report's schema version; its period and creation time."""
    try:
        period = validate_report(body)
    except SchemaError as error:
        raise Refused(422, "schema", str(error)) from None
    except OverflowError:  # a period at the very end of the calendar (9999-W52)
        raise Refused(422, "schema", "the period is out of range") from None
    if str(period) != body["period"]:
        raise Refused(422, "schema", f"period must be written {str(period)!r}")
    try:
        created = datetime.strptime(body["created_at"], CREATED_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise Refused(422, "schema", "created_at is not a real date and time") from None
    return period, created


def _check_identity(body: dict[str, Any], key: KnownKey, hub_name: str) -> None:
    if body["hub"] != hub_name:
        raise Refused(422, "wrong_hub", f"this report is for hub {body['hub']!r}, this is {hub_name!r}")
    if body["epn"] != key.epn_id or body["key_id"] != key.key_id:
        raise Refused(422, "wrong_epn", "epn and key_id must be those of the signing key")


def period_end(period: Period, tz: ZoneInfo) -> datetime:
    """The instant (UTC) the period's last local day is over."""
    return datetime.combine(period.end, time(0), tz).astimezone(UTC)


def _check_clock(created: datetime, period: Period, tz: ZoneInfo, now: datetime) -> None:
    if created > now + CLOCK_TOLERANCE:
        raise Refused(422, "clock", "created_at is in the future: check the appliance's clock")
    ends = period_end(period, tz)
    if ends > now + CLOCK_TOLERANCE:
        raise Refused(422, "clock", f"period {period} is not over yet")
    if created < ends:
        # An appliance reports only closed periods: its clock was wrong when it built this.
        raise Refused(422, "clock", f"created_at is before the end of period {period}")


def _last_sequence(epn_id: str) -> int:
    row = execute('SELECT "last_sequence" FROM "hub_epn" WHERE "id" = ?', (epn_id,)).fetchone()
    return row[0] if row else 0


# The hot path speaks SQL directly (see db.execute). The tables are those of models.py.
_SELECT_EPN = 'SELECT "last_sequence" FROM "hub_epn" WHERE "id" = ?'
_SELECT_SEEN = ('SELECT "sequence", "report_id", "digest" FROM "hub_ingest_log" '
                'WHERE "epn_id" = ? AND ("sequence" = ? OR "report_id" = ?)')
_SELECT_CURRENT = 'SELECT "sequence" FROM "hub_report" WHERE "epn_id" = ? AND "period" = ?'
_REPORT_COLUMNS = ("period_kind", "period_start", "period_end", "schema_version", "sequence", "report_id",
                   "key_id", "digest", "figures", "created_at", "received_at")
_UPDATE_REPORT = ('UPDATE "hub_report" SET ' + ", ".join(f'"{c}" = ?' for c in _REPORT_COLUMNS)
                  + ' WHERE "epn_id" = ? AND "period" = ?')
_INSERT_REPORT = ('INSERT INTO "hub_report" ("epn_id", "period", "first_received_at", '
                  + ", ".join(f'"{c}"' for c in _REPORT_COLUMNS) + ") VALUES ("
                  + ", ".join("?" * (len(_REPORT_COLUMNS) + 3)) + ")")
_INSERT_LOG = ('INSERT INTO "hub_ingest_log" ("epn_id", "sequence", "report_id", "period", "digest", '
               '"received_at") VALUES (?, ?, ?, ?, ?, ?)')
_UPDATE_LAST = 'UPDATE "hub_epn" SET "last_sequence" = ? WHERE "id" = ? AND "last_sequence" < ?'


def _store(body: dict[str, Any], period: Period, created: datetime, digest: str,
           now: datetime) -> Receipt:
    try:
        return _store_once(body, period, created, digest, now)
    except IntegrityError:
        # Only a concurrent request storing the same EPN's report can get here (the EPN
        # row is locked, so hardly ever): decide again, now seeing what it stored.
        return _store_once(body, period, created, digest, now)


def _store_once(body: dict[str, Any], period: Period, created: datetime, digest: str,
                now: datetime) -> Receipt:
    """Apply the sequence rules and write, in one transaction locking the EPN."""
    epn_id, sequence, report_id = body["epn"], body["sequence"], body["report_id"]
    lock = " FOR UPDATE" if engine(database.obj) == "postgresql" else ""
    with write_transaction():
        (last,) = execute(_SELECT_EPN + lock, (epn_id,)).fetchone()
        status = _sequence_status(epn_id, period, sequence, report_id, digest)
        if status != "duplicate":
            _write(body, period, created, digest, now, replace=status == "correction")
            execute(_UPDATE_LAST, (sequence, epn_id, sequence))
            last = max(last, sequence)
    return Receipt(status, 200 if status == "duplicate" else 201, report_id, epn_id, str(period),
                   sequence, last)


def _sequence_status(epn_id: str, period: Period, sequence: int, report_id: str, digest: str) -> str:
    """duplicate, accepted or correction; or Refused conflict / stale (docs/protocol.md).

    A sequence is compared with the ingest log of the EPN (every report ever accepted)
    and with the current report of the same period only: reports of other periods may
    arrive in any order.
    """
    for seen_sequence, _, seen_digest in execute(_SELECT_SEEN, (epn_id, sequence, report_id)).fetchall():
        if seen_sequence == sequence and seen_digest == digest:
            return "duplicate"
        if seen_sequence == sequence:
            raise Refused(409, "conflict", f"sequence {sequence} was accepted before with other content")
        raise Refused(409, "conflict", f"report_id was accepted before with sequence {seen_sequence}")
    current = execute(_SELECT_CURRENT, (epn_id, str(period))).fetchone()
    if current is None:
        return "accepted"
    if current[0] > sequence:
        raise Refused(409, "stale", f"period {period} already has the later sequence {current[0]}")
    return "correction"


def _write(body: dict[str, Any], period: Period, created: datetime, digest: str, now: datetime,
           replace: bool) -> None:
    received = naive_utc(now)
    # The body is canonical and validated (ASCII keys, integers): this is its JCS form too.
    figures = json.dumps(body["figures"], sort_keys=True, separators=(",", ":"))
    values = (period.kind, period.start, period.end, body["schema"], body["sequence"], body["report_id"],
              body["key_id"], digest, figures, naive_utc(created), received)
    if replace:
        execute(_UPDATE_REPORT, (*values, body["epn"], str(period)))
    else:
        execute(_INSERT_REPORT, (body["epn"], str(period), received, *values))
    execute(_INSERT_LOG, (body["epn"], body["sequence"], body["report_id"], str(period), digest, received))
