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


class Seat(BaseModel):
    """One of the EPN's computers that visitors can book, with what it offers."""

    name = CharField(max_length=40)
    eid_reader = BooleanField(default=False)
    scanner = BooleanField(default=False)
    accessibility = BooleanField(default=False)  # braille keyboard, large screen, ...
    active = BooleanField(default=True)  # retired seats keep their past bookings


class Workshop(BaseModel):
    """One workshop session; the sessions of a recurring series share `series`."""

    title = CharField(max_length=100)
    description = CharField(max_length=300, default="")
    language = CharField(max_length=2)
    level = CharField(max_length=16)
    audience = CharField(max_length=80, default="")
    starts = DateTimeField(index=True)  # local time, like every booking time
    minutes = IntegerField()
    capacity = IntegerField()
    mediator = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")
    room = CharField(max_length=60, default="")
    series = CharField(max_length=16, default="", index=True)
    uid = CharField(max_length=40, unique=True)  # stable iCalendar UID
    cancelled = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)


class Booking(BaseModel):
    """A seat, a help appointment or a workshop place (or a waitlist entry for one).

    `nickname`, `phone` and `code` are personal: the retention purge blanks them."""

    code = CharField(max_length=16, null=True, unique=True)
    kind = CharField(max_length=12)  # seat | help | workshop
    status = CharField(max_length=12, index=True)  # booked|waiting|checked_in|cancelled|withdrawn
    starts = DateTimeField(index=True)  # local time
    ends = DateTimeField()
    seat = ForeignKeyField(Seat, null=True, on_delete="SET NULL")
    workshop = ForeignKeyField(Workshop, null=True, on_delete="CASCADE")
    help_kind = CharField(max_length=16, default="")
    nickname = CharField(max_length=40, default="")
    phone = CharField(max_length=30, default="")
    language = CharField(max_length=2, default="fr")
    by_staff = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)
    promoted_at = DateTimeField(null=True)  # when the waitlist gave this entry its place
    checked_in_at = DateTimeField(null=True)
    cancelled_at = DateTimeField(null=True)
    visit = ForeignKeyField(Visit, null=True, on_delete="SET NULL")
    purged = BooleanField(default=False)


class QueueTicket(BaseModel):
    """One numbered ticket of the walk-in help queue; it holds no name.

    `token` is the visitor's key to their ticket page (the number alone is guessable);
    `client_digest` is a keyed hash of the taking client's address, for the flood limit,
    blanked after the day. Times are local (naive), like the desk's hours.
    """

    day = DateField()
    number = SmallIntegerField()
    kind = CharField(max_length=24)
    token = CharField(max_length=32, unique=True)
    origin = CharField(max_length=8)  # portal | kiosk | desk | api
    state = CharField(max_length=10, default="waiting")  # waiting|called|served|absent|cancelled
    taken_at = DateTimeField()
    called_at = DateTimeField(null=True)
    closed_at = DateTimeField(null=True)
    waited_seconds = IntegerField(null=True)  # from taking to the first call
    counter = SmallIntegerField(null=True)
    visit = ForeignKeyField(Visit, null=True, on_delete="SET NULL")
    client_digest = CharField(max_length=32, default="")

    class Meta:
        indexes = ((("day", "number"), True), (("day", "state"), False))


class PrintJob(BaseModel):
    """A job on one of the EPN's public queues, from held to charged or refunded.

    `title` is the document's name: personal, blanked after printing.document_name_days.
    `units` is what the job costs (sides or sheets, times copies), counted from the document
    before release; it is reserved at release and charged when CUPS says completed."""

    cups_job_id = IntegerField(unique=True)
    printer = CharField(max_length=60)
    title = CharField(max_length=120, default="")
    host = CharField(max_length=120, default="", index=True)  # the computer it came from
    source = CharField(max_length=8, default="cups")  # cups | upload
    code = CharField(max_length=8, index=True)  # release code (one per visitor, several jobs)
    member = ForeignKeyField(Member, null=True, on_delete="SET NULL", backref="print_jobs")
    pages = IntegerField()
    copies = SmallIntegerField(default=1)
    duplex = BooleanField(default=False)
    colour = BooleanField(default=False)
    units = IntegerField()
    state = CharField(max_length=12, default="held", index=True)
    cups_state = SmallIntegerField(default=4)
    note = CharField(max_length=40, default="")  # why it was refused, refunded or expired
    submitted_at = DateTimeField(default=utcnow)
    released_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)


class PrintQuotaGrant(BaseModel):
    """Staff top-up (or cut, when negative) of one member's quota for one period."""

    member = ForeignKeyField(Member, on_delete="CASCADE", backref="print_grants")
    period = CharField(max_length=10)
    colour = BooleanField(default=False)
    pages = IntegerField()
    reason = CharField(max_length=200)
    granted_by = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)


class PrintLedgerEntry(BaseModel):
    """One move of a job's pages: reserve at release, then charge or refund. Never edited.

    `day` is the local day of the move (the figures' period); `period` the quota period."""

    job = ForeignKeyField(PrintJob, on_delete="CASCADE", backref="entries")
    member = ForeignKeyField(Member, null=True, on_delete="SET NULL", backref="print_entries")
    kind = CharField(max_length=8)  # reserve | charge | refund
    colour = BooleanField(default=False)
    units = IntegerField()
    price_cents = IntegerField(default=0)
    period = CharField(max_length=10, index=True)
    day = DateField(index=True)
    created_at = DateTimeField(default=utcnow)


class WifiVoucher(BaseModel):
    """A code staff print for the visitors' Wi-Fi (e.g. a sheet for a workshop group)."""

    code = CharField(max_length=16, unique=True)
    batch = CharField(max_length=60, default="")
    minutes = IntegerField()
    uses_allowed = IntegerField(default=1)  # 1: one device only
    uses = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)
    revoked_at = DateTimeField(null=True)


class WifiSession(BaseModel):
    """One device's internet session after accepting the house rules (or a voucher).

    The addresses are personal data: erased `wifi.address_retention_hours` after the end;
    the anonymous row stays `wifi.session_days` for the statistics."""

    resume_code = CharField(max_length=8, index=True)  # shown at acceptance, for a new MAC
    kind = CharField(max_length=12)  # rules | voucher
    voucher = ForeignKeyField(WifiVoucher, null=True, on_delete="SET NULL", backref="sessions")
    ipv4 = CharField(max_length=15, default="")
    ipv6 = CharField(max_length=45, default="")
    mac = CharField(max_length=17, default="")
    day = DateField(index=True)  # local day it started, for the statistics
    started_at = DateTimeField()
    expires_at = DateTimeField()
    ended_at = DateTimeField(null=True, index=True)
    end_reason = CharField(max_length=12, default="")  # expired | ended | voucher | quota
    bytes_base = IntegerField(default=0)  # bytes counted on the addresses used before
    bytes_used = IntegerField(default=0)
    moves = IntegerField(default=0)  # resumed on a new address (a randomised MAC)
    addresses_erased = BooleanField(default=False)


class WifiPause(BaseModel):
    """Staff paused the visitors' Wi-Fi (e.g. during an exam); open while ended_at is NULL."""

    started_at = DateTimeField(default=utcnow)
    ended_at = DateTimeField(null=True)


# lending models (after the wifi models above, which landed under the lending slot)
class Device(BaseModel):
    """One device of the laptop-thèque, named by the asset tag on its label."""

    tag = CharField(max_length=20, unique=True)
    kind = CharField(max_length=20)  # laptop | chromebook | tablet | eid_reader | ...
    model = CharField(max_length=80, default="")
    serial = CharField(max_length=60, default="")
    accessories = CharField(max_length=200, default="")  # codes joined by "|"
    funding = CharField(max_length=80, default="")
    owner = CharField(max_length=80, default="")  # empty: the EPN itself
    acquired_on = DateField(null=True)
    owned_from = DateField(null=True)  # the day the property passes to the EPN
    status = CharField(max_length=12, default="available", index=True)
    condition = CharField(max_length=8, default="good")
    notes = CharField(max_length=300, default="")
    last_seen_at = DateTimeField(null=True)  # last scanned during an audit
    created_at = DateTimeField(default=utcnow)
    retired_at = DateTimeField(null=True)


class Loan(BaseModel):
    """A device lent to a member. After lending.history_days past its return the borrower
    link and the notes are removed and its times are cut to the day: counts stay."""

    device = ForeignKeyField(Device, on_delete="CASCADE", backref="loans")
    borrower = ForeignKeyField(Member, null=True, on_delete="SET NULL", backref="loans")
    kind = CharField(max_length=8)  # home | onsite | group
    state = CharField(max_length=10, default="open", index=True)  # open | returned | lost
    started_at = DateTimeField(index=True)  # local time, like the desk's
    due_at = DateTimeField(index=True)
    returned_at = DateTimeField(null=True, index=True)
    lost_at = DateTimeField(null=True)
    renewals = SmallIntegerField(default=0)
    deposit_cents = IntegerField(default=0)
    accessories_out = CharField(max_length=200, default="")
    accessories_back = CharField(max_length=200, default="")
    condition_out = CharField(max_length=8, default="")
    condition_back = CharField(max_length=8, default="")
    notes = CharField(max_length=300, default="")
    out_by = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL", backref="+")
    in_by = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL", backref="+")
    reminded_at = DateTimeField(null=True)
    anonymised = BooleanField(default=False)


class DeviceReset(BaseModel):
    """The recorded reset step: without one after its last loan, a device is not lent."""

    device = ForeignKeyField(Device, on_delete="CASCADE", backref="resets")
    wiped = BooleanField()  # device wiped or the user profile removed
    signed_out = BooleanField()  # browser sessions and accounts signed out
    done_at = DateTimeField()
    done_by = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL", backref="+")


class MaintenanceRecord(BaseModel):
    """One entry of a device's maintenance log; an open one keeps the device out of lending."""

    device = ForeignKeyField(Device, on_delete="CASCADE", backref="maintenance")
    kind = CharField(max_length=12)  # repair | reinstall | battery | damage | loss | ...
    note = CharField(max_length=300, default="")
    opened_at = DateTimeField()
    closed_at = DateTimeField(null=True)
    by = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL", backref="+")


class Reservation(BaseModel):
    """A device or a kind of device held ahead for a member (for_day), or a place on the
    waiting list of a kind (for_day NULL)."""

    member = ForeignKeyField(Member, on_delete="CASCADE", backref="reservations")
    kind = CharField(max_length=20)
    device = ForeignKeyField(Device, null=True, on_delete="CASCADE", backref="reservations")
    for_day = DateField(null=True, index=True)
    state = CharField(max_length=10, default="active", index=True)  # active | done | cancelled
    created_at = DateTimeField(default=utcnow)
    closed_at = DateTimeField(null=True)


class LendingTermsAcceptance(BaseModel):
    """The day a member accepted the lending terms (at their first loan), and in which language."""

    member = ForeignKeyField(Member, unique=True, on_delete="CASCADE", backref="+")
    accepted_on = DateField()
    language = CharField(max_length=2)


class LendingTerms(BaseModel):
    """The EPN's own lending terms in one language (a built-in text until staff write theirs)."""

    language = CharField(max_length=2, unique=True)
    text = TextField()
    updated_at = DateTimeField(default=utcnow)
    updated_by = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL", backref="+")


class LendingAudit(BaseModel):
    """A walk through the room scanning labels; what was not seen since `started_at` is listed."""

    started_at = DateTimeField()
    finished_at = DateTimeField(null=True)
    by = ForeignKeyField(StaffUser, null=True, on_delete="SET NULL", backref="+")


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
    Seat,
    Workshop,
    Booking,
    QueueTicket,
    PrintJob,
    PrintQuotaGrant,
    PrintLedgerEntry,
    WifiVoucher,
    WifiSession,
    WifiPause,
    # lending models (listed after the wifi ones)
    Device,
    Loan,
    DeviceReset,
    MaintenanceRecord,
    Reservation,
    LendingTermsAcceptance,
    LendingTerms,
    LendingAudit,
]
