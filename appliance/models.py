"""The appliance's peewee models. Each table is created by a numbered migration.

A model changed here needs a migration in `appliance/migrations.py`; a test compares
the migrated schema with these models.
"""

from __future__ import annotations

from datetime import datetime, timezone

from peewee import (
    BlobField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    SmallIntegerField,
    TextField,
    TimeField,
)

from appliance.db import BaseModel


def utcnow() -> datetime:
    """Naive UTC timestamp, the way every DateTimeField here stores time."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class StaffUser(BaseModel):
    username = CharField(max_length=40, unique=True)
    display_name = CharField(max_length=80)
    password_hash = CharField(max_length=255)
    role = CharField(max_length=16)  # mediator | coordinator
    active = BooleanField(default=True)
    # Incremented at logout or password change: every older session cookie stops working.
    session_epoch = IntegerField(default=0)
    failed_logins = IntegerField(default=0)
    locked_until = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)


class ApiToken(BaseModel):
    name = CharField(max_length=60)
    prefix = CharField(max_length=12, unique=True)
    token_hash = CharField(max_length=64)
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)
    revoked = BooleanField(default=False)


class Visit(BaseModel):
    """One person coming to the EPN on a day; it links to no person."""

    day = DateField(index=True)
    hour = SmallIntegerField(null=True)  # local hour 0-23; NULL is the band "unknown"
    purpose = CharField(max_length=32)
    source = CharField(max_length=16, default="walk_in")
    used_computer = BooleanField(default=False)
    used_mediator = BooleanField(default=False)
    used_printing = BooleanField(default=False)
    used_wifi = BooleanField(default=False)
    used_training = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)


class OpeningHours(BaseModel):
    weekday = SmallIntegerField()  # 0 = Monday
    opens = TimeField()
    closes = TimeField()


class MediatorShift(BaseModel):
    weekday = SmallIntegerField()
    starts = TimeField()
    ends = TimeField()
    mediator = ForeignKeyField(StaffUser, on_delete="CASCADE", backref="shifts")


class Closure(BaseModel):
    first_day = DateField()
    last_day = DateField()
    reason = CharField(max_length=100)


class Member(BaseModel):
    """A person the EPN knows by their own choice, because a service needs it."""

    number = CharField(max_length=12, unique=True)
    display_name = CharField(max_length=80)
    contact = CharField(max_length=120, default="")
    language = CharField(max_length=2, default="fr")
    category = CharField(max_length=16, default="visitor")
    terms_accepted_on = DateField(null=True)
    id_seen = BooleanField(default=False)
    id_seen_by = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")
    created_on = DateField()
    last_active_on = DateField()


class Erasure(BaseModel):
    """Which member was erased and when, so a restore can erase them again.

    Holds a keyed hash of the member number, never the number or the name.
    """

    member_digest = CharField(max_length=64, index=True)
    erased_at = DateTimeField(default=utcnow)
    reason = CharField(max_length=16)  # request | retention


class SurveyResponse(BaseModel):
    """One anonymous answer sheet: the day only (no time), linked to nothing.

    `answers` is JSON: question code -> list of answer codes (validated on the way in)."""

    day = DateField(index=True)
    answers = TextField()


class SurveyWindow(BaseModel):
    """When the survey is open (the region runs it each November; some EPNs all year)."""

    first_day = DateField()
    last_day = DateField(null=True)  # open-ended while NULL


class FederationLink(BaseModel):
    """The hub this appliance is enrolled with (one row at most)."""

    hub_url = CharField(max_length=255)
    hub_id = CharField(max_length=64)
    epn_id = CharField(max_length=64)
    key_id = CharField(max_length=16)
    enrolled_at = DateTimeField(default=utcnow)
    next_sequence = IntegerField(default=1)
    revoked_at = DateTimeField(null=True)  # the hub answered 401: pushing stops, staff alerted
    built_on = DateField(null=True)  # local day of the last periodic build (one pass a day)
    # Reports with a lower sequence were made for another hub or EPN id: history only.
    first_sequence = IntegerField(default=1)


class OutboxReport(BaseModel):
    """A signed report waiting to be (or already) delivered to the hub."""

    report_id = CharField(max_length=64, unique=True)
    period = CharField(max_length=10, index=True)
    sequence = IntegerField(unique=True)
    body = BlobField()  # the canonical bytes that were signed
    signature = CharField(max_length=100)
    figures_digest = CharField(max_length=64)
    created_at = DateTimeField(default=utcnow)
    status = CharField(max_length=12, default="pending", index=True)  # pending|sent|parked
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)
    http_status = IntegerField(null=True)
    answer = TextField(default="")  # the hub's import summary or the reason of a refusal


# booking models here

# help queue models here

# printing models here

# wifi models here


ALL_MODELS = [
    StaffUser,
    ApiToken,
    Visit,
    OpeningHours,
    MediatorShift,
    Closure,
    Member,
    Erasure,
    SurveyResponse,
    SurveyWindow,
    FederationLink,
    OutboxReport,
    # booking models listed here
    # help queue models listed here
    # printing models listed here
    # wifi models listed here
]
