"""The hub's tables. Nothing here can hold a visitor's name, contact, address or free
text: an EPN is a public place, and a report's figures are validated integers kept
together in one JSON column (one row per report, not one per figure: ingest is a single
INSERT, ~1,000 reports/s on SQLite).

The hub's own accounts (the dashboard) and its audit log are in accounts.py: the one
place where personal data (a coordinator's login and display name) is allowed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from peewee import (
    BigIntegerField,
    BlobField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from appliance.federation.hub import ORGANISERS  # noqa: F401  (re-exported)
from appliance.federation.hub.db import HubModel


def utcnow() -> datetime:
    """Naive UTC, as every timestamp column holds it (same on SQLite and PostgreSQL)."""
    return datetime.now(UTC).replace(tzinfo=None)


class EPN(HubModel):
    """A public digital space of the region, known by a short id such as `epn-7`."""

    id = CharField(max_length=32, primary_key=True)
    name = CharField(max_length=100)
    commune = CharField(max_length=5)  # NIS code
    postal_code = CharField(max_length=4)
    organiser = CharField(max_length=16, default="other")
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    # First successful enrolment: from then on its reports are expected.
    enrolled_at = DateTimeField(null=True)
    # The highest sequence accepted from this EPN, over all periods.
    last_sequence = BigIntegerField(default=0)

    class Meta:
        table_name = "hub_epn"


class EnrolmentToken(HubModel):
    """A one-time enrolment token; only its SHA-256 is kept."""

    epn = ForeignKeyField(EPN, backref="enrolment_tokens", on_delete="CASCADE")
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)

    class Meta:
        table_name = "hub_enrolment_token"


class Key(HubModel):
    """An appliance's Ed25519 public key. Revoked keys stay, so their id is never reused."""

    epn = ForeignKeyField(EPN, backref="keys", on_delete="CASCADE")
    key_id = CharField(max_length=16, unique=True)
    public_key = BlobField()  # the 32 raw bytes
    created_at = DateTimeField(default=utcnow)
    revoked_at = DateTimeField(null=True)
    # Set when the key was retired by a rotation, so a retried rotation can be answered.
    replaced_by = CharField(max_length=16, null=True)

    class Meta:
        table_name = "hub_key"


class ApiToken(HubModel):
    """A token for the hub's figures API; only its SHA-256 is kept."""

    name = CharField(max_length=60)
    prefix = CharField(max_length=12, unique=True)
    token_hash = CharField(max_length=64)
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)
    revoked = BooleanField(default=False)

    class Meta:
        table_name = "hub_api_token"


class Report(HubModel):
    """The current report of one EPN for one period: the latest accepted sequence."""

    epn = ForeignKeyField(EPN, backref="reports", on_delete="CASCADE")
    period = CharField(max_length=10)
    period_kind = CharField(max_length=5)
    period_start = DateField()
    period_end = DateField()
    schema_version = IntegerField()
    sequence = BigIntegerField()
    report_id = CharField(max_length=64)
    key_id = CharField(max_length=16)
    digest = CharField(max_length=64)  # SHA-256 of the signed body
    figures = TextField()  # canonical JSON object: figure key -> integer
    created_at = DateTimeField()  # the appliance's clock
    received_at = DateTimeField()  # this version
    first_received_at = DateTimeField()  # the period's first report: timeliness

    class Meta:
        table_name = "hub_report"
        indexes = ((("epn", "period"), True),)


class IngestLog(HubModel):
    """Every report ever accepted (sequence, id, digest), so that a replay of an older,
    already corrected report is recognised as a duplicate rather than refused as stale."""

    epn = ForeignKeyField(EPN, backref="ingested", on_delete="CASCADE")
    sequence = BigIntegerField()
    report_id = CharField(max_length=64)
    period = CharField(max_length=10)
    digest = CharField(max_length=64)
    received_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "hub_ingest_log"
        indexes = ((("epn", "sequence"), True), (("epn", "report_id"), True))


from appliance.federation.hub.accounts import HubAccount as _Account  # noqa: E402


class Publication(HubModel):
    """A closed period whose federation-level figures the public page shows."""

    period = CharField(max_length=10, unique=True)
    published_at = DateTimeField(default=utcnow)
    # Who published it; NULL once that account is deleted (the audit log keeps the act).
    account = ForeignKeyField(_Account, null=True, on_delete="SET NULL", backref="publications")

    class Meta:
        table_name = "hub_publication"


from appliance.federation.hub.accounts import AuditEntry, HubAccount  # noqa: E402

MODELS = [
    EPN, EnrolmentToken, Key, ApiToken, Report, IngestLog, HubAccount, AuditEntry,
    Publication,
]
