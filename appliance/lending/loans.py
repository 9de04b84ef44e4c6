"""Lending a device and taking it back: the rules of check-out, check-in, the recorded
reset step, renewals, overdue loans and their escalation to lost.

Times are the appliance's local time (naive), like the desk's. Check-out and check-in
take SQLite's write lock first (BEGIN IMMEDIATE) and read the device again under it, so
two staff members lending the same device at once cannot both succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from appliance.config import LendingConfig
from appliance.db import database
from appliance.errors import N_, InvalidInput, NotFound
from appliance.lending.common import lending_config
from appliance.lending.inventory import CONDITIONS, accessories_of, find_device
from appliance.models import (
    Device,
    DeviceReset,
    LendingTermsAcceptance,
    Loan,
    MaintenanceRecord,
    Member,
    Reservation,
    StaffUser,
)

LOAN_KINDS = ("home", "onsite", "group")
END_OF_DAY = time(23, 59)
MAX_DAYS_AHEAD = 120


class DeviceUnavailable(InvalidInput):
    """The device cannot be lent now (on loan, reserved, waiting for its reset, ...)."""


UNAVAILABLE = {
    "on_loan": N_("This device is already on loan."),
    "reserved": N_("This device is reserved for someone else."),
    "to_reset": N_("This device's reset after its last loan is not recorded: record it first."),
    "maintenance": N_("This device is in maintenance."),
    "lost": N_("This device is declared lost."),
    "retired": N_("This device is retired from the inventory."),
}


def get_loan(loan_id: int) -> Loan:
    loan = Loan.get_or_none(Loan.id == loan_id)
    if loan is None:
        raise NotFound(loan_id)
    return loan


def open_loan_of(device: Device) -> Loan | None:
    return (
        Loan.select()
        .where((Loan.device == device) & Loan.state.in_(("open", "lost")))
        .order_by(Loan.started_at.desc())
        .first()
    )


def open_loans(member: Member) -> int:
    return Loan.select().where((Loan.borrower == member) & (Loan.state == "open")).count()


def has_accepted_terms(member: Member) -> bool:
    return LendingTermsAcceptance.select().where(LendingTermsAcceptance.member == member).exists()


def reset_recorded(device: Device) -> bool:
    """True when a reset was recorded after the device's last loan came back (or it never went out)."""
    last = (
        Loan.select(Loan.returned_at)
        .where((Loan.device == device) & Loan.returned_at.is_null(False))
        .order_by(Loan.returned_at.desc())
        .first()
    )
    if last is None:
        return True
    return (
        DeviceReset.select()
        .where((DeviceReset.device == device) & (DeviceReset.done_at >= last.returned_at))
        .exists()
    )


def due_at(
    device_kind: str,
    loan_kind: str,
    now: datetime,
    config: LendingConfig,
    due_day: date | None = None,
) -> datetime:
    """When the loan ends: hours for use inside the EPN, days per kind for take-home loans."""
    if loan_kind == "onsite":
        return now + timedelta(hours=config.onsite_hours)
    if due_day is not None:
        if due_day < now.date():
            raise InvalidInput("due_day", N_("The due date is in the past."))
        if due_day > now.date() + timedelta(days=MAX_DAYS_AHEAD):
            raise InvalidInput(
                "due_day", N_("The due date is more than %(n)s days ahead."), n=MAX_DAYS_AHEAD
            )
        return datetime.combine(due_day, END_OF_DAY)
    days = config.group_loan_days if loan_kind == "group" else config.loan_days.get(device_kind, 7)
    return datetime.combine(now.date() + timedelta(days=days), END_OF_DAY)


def _check_borrower(member: Member, loan_kind: str, config: LendingConfig) -> None:
    if loan_kind not in LOAN_KINDS:
        raise InvalidInput("loan_kind", N_("Choose a kind of loan from the list."))
    if loan_kind == "group" and member.category != "partner":
        raise InvalidInput("loan_kind", N_("Group loans are for partner organisations only."))
    limit = config.partner_max_devices if member.category == "partner" else config.max_devices
    if open_loans(member) >= limit:
        raise InvalidInput(
            "borrower",
            N_("This borrower already has %(n)s device(s) on loan, the most allowed."),
            n=limit,
        )


def _claim(device: Device, member: Member, now: datetime, due: datetime) -> None:
    """A device reserved for someone goes only to them, and is not lent to another past
    the day they reserved it for; lending it fulfils the member's reservation (of the
    device or of its kind)."""
    active = Reservation.state == "active"
    others = (
        Reservation.select()
        .where(active & (Reservation.device == device) & (Reservation.member != member))
        .order_by(Reservation.for_day)
        .first()
    )
    if others is not None and (device.status == "reserved" or others.for_day <= due.date()):
        if device.status == "reserved":
            raise DeviceUnavailable("tag", UNAVAILABLE["reserved"])
        raise DeviceUnavailable(
            "due_day",
            N_(
                "This device is reserved for someone else from %(day)s: choose an earlier due date."
            ),
            day=others.for_day.isoformat(),
        )
    mine = (
        Reservation.select()
        .where(
            (Reservation.member == member)
            & active
            & (Reservation.kind == device.kind)
            & ((Reservation.device == device) | Reservation.device.is_null())
        )
        .order_by(Reservation.device.desc(nulls="last"))
        .first()
    )
    if mine is not None:
        Reservation.update(state="done", closed_at=now).where(Reservation.id == mine.id).execute()


def check_out(
    tag: str,
    member: Member | None,
    loan_kind: str,
    staff: StaffUser | None,
    now: datetime,
    accept_terms: bool = False,
    due_day: date | None = None,
    deposit_cents: int | None = None,
    config: LendingConfig | None = None,
    new_borrower: dict | None = None,
    id_seen_by: StaffUser | None = None,
) -> Loan:
    """Lend the device `tag` to `member` (or to a new member registered with the loan, all
    or nothing, from `new_borrower`: display_name, contact, language, category, id_seen);
    the due date follows the rules unless `due_day` is given. `id_seen_by`: the staff member
    who saw the borrower's identity document now (its number is never recorded)."""
    config = config or lending_config()
    if member is None and new_borrower is None:
        raise InvalidInput(
            "borrower", N_("Scan the member card, type a name, or register a new borrower.")
        )
    if (member is None or not has_accepted_terms(member)) and not accept_terms:
        raise InvalidInput(
            "accept_terms", N_("The borrower must read and accept the lending terms first.")
        )
    deposit = config.deposit_cents if deposit_cents is None else deposit_cents
    if not 0 <= deposit <= 100_000:
        raise InvalidInput("deposit", N_("The deposit must be between 0 and 1000 euros."))
    with database.atomic("IMMEDIATE"):
        device = find_device(tag)  # read under the write lock
        if member is None:
            member = _register(new_borrower or {}, staff, now, accept_terms)
        if device.status not in ("available", "reserved"):
            raise DeviceUnavailable("tag", UNAVAILABLE[device.status])
        if not reset_recorded(device):
            raise DeviceUnavailable("tag", UNAVAILABLE["to_reset"])
        member = Member.get_by_id(member.id)
        _check_borrower(member, loan_kind, config)
        due = due_at(device.kind, loan_kind, now, config, due_day)
        _claim(device, member, now, due)
        loan = Loan.create(
            device=device,
            borrower=member,
            kind=loan_kind,
            started_at=now,
            due_at=due,
            deposit_cents=deposit,
            accessories_out=device.accessories,
            condition_out=device.condition,
            out_by=staff,
        )
        Device.update(status="on_loan").where(Device.id == device.id).execute()
        if id_seen_by is not None and not member.id_seen:
            Member.update(id_seen=True, id_seen_by=id_seen_by).where(
                Member.id == member.id
            ).execute()
        if not has_accepted_terms(member):
            LendingTermsAcceptance.create(
                member=member, accepted_on=now.date(), language=member.language
            )
        Member.update(last_active_on=now.date()).where(Member.id == member.id).execute()
    return loan


def _register(fields: dict, staff: StaffUser | None, now: datetime, accepted: bool) -> Member:
    from appliance.members import create_member

    return create_member(
        str(fields.get("display_name", "")),
        str(fields.get("contact", "")),
        str(fields.get("language", "fr")),
        str(fields.get("category", "visitor")),
        accepted,
        staff if fields.get("id_seen") else None,
        now.date(),
    )


@dataclass(frozen=True)
class Return:
    loan: Loan
    missing: list[str]
    maintenance: MaintenanceRecord | None
    reset: bool


def check_in(
    tag: str,
    staff: StaffUser | None,
    now: datetime,
    accessories_back: list[str],
    condition: str,
    notes: str = "",
    damaged: bool = False,
    wiped: bool = False,
    signed_out: bool = False,
) -> Return:
    """Take a device back with the checklist. Damage or a missing accessory opens a
    maintenance record; the reset, if both steps are ticked, is recorded at once."""
    if condition not in CONDITIONS:
        raise InvalidInput("condition", N_("Choose the device's condition."))
    notes = notes.strip()
    if len(notes) > 300:
        raise InvalidInput("notes", N_("At most %(n)s characters."), n=300)
    with database.atomic("IMMEDIATE"):
        device = find_device(tag)
        loan = open_loan_of(device)
        if loan is None:
            raise InvalidInput("tag", N_("This device is not on loan."))
        given = accessories_of(loan.accessories_out)
        back = [item for item in given if item in accessories_back]
        missing = [item for item in given if item not in back]
        Loan.update(
            state="returned",
            returned_at=now,
            accessories_back="|".join(back),
            condition_back=condition,
            notes=notes,
            in_by=staff,
            lost_at=None,
        ).where(Loan.id == loan.id).execute()
        # A device declared lost that comes back closes its loss record.
        MaintenanceRecord.update(closed_at=now).where(
            (MaintenanceRecord.device == device)
            & (MaintenanceRecord.kind == "loss")
            & MaintenanceRecord.closed_at.is_null()
        ).execute()
        record = None
        if damaged or condition == "damaged" or missing:
            kind = "damage" if damaged or condition == "damaged" else "missing"
            note = (notes or "") + (" — " if notes and missing else "") + ", ".join(missing)
            record = MaintenanceRecord.create(
                device=device, kind=kind, note=note[:300], opened_at=now, by=staff
            )
        Device.update(status="maintenance" if record else "to_reset", condition=condition).where(
            Device.id == device.id
        ).execute()
        if loan.borrower_id:
            Member.update(last_active_on=now.date()).where(Member.id == loan.borrower_id).execute()
        reset = False
        if wiped and signed_out:
            record_reset(device.tag, True, True, staff, now)
            reset = True
    return Return(get_loan(loan.id), missing, record, reset)


def record_reset(
    tag: str, wiped: bool, signed_out: bool, staff: StaffUser | None, now: datetime
) -> Device:
    """The reset step (device wiped or profile removed; sessions and accounts signed out):
    who and when. Only then is a returned device available again."""
    if not (wiped and signed_out):
        raise InvalidInput("wiped", N_("Tick both steps once they are done: nothing was recorded."))
    with database.atomic("IMMEDIATE"):
        device = find_device(tag)
        if device.status == "on_loan":
            raise InvalidInput("tag", N_("This device is on loan: take it back first."))
        DeviceReset.create(device=device, wiped=True, signed_out=True, done_at=now, done_by=staff)
        if device.status == "to_reset":
            held = (
                Reservation.select()
                .where((Reservation.device == device) & (Reservation.state == "active"))
                .exists()
            )
            Device.update(status="reserved" if held else "available").where(
                Device.id == device.id
            ).execute()
    return Device.get_by_id(device.id)


def _someone_waits(loan: Loan, until: datetime) -> bool:
    """Another member reserved this device, or waits for its kind and no other is free."""
    others = (Reservation.state == "active") & (Reservation.member != loan.borrower)
    if Reservation.select().where(others & (Reservation.device == loan.device)).exists():
        return True
    device = loan.device
    waiting = (
        Reservation.select()
        .where(
            others
            & Reservation.device.is_null()
            & (Reservation.kind == device.kind)
            & (Reservation.for_day.is_null() | (Reservation.for_day <= until.date()))
        )
        .exists()
    )
    free = (
        Device.select()
        .where((Device.kind == device.kind) & (Device.status == "available"))
        .exists()
    )
    return waiting and not free


def renew(loan_id: int, now: datetime, config: LendingConfig | None = None) -> Loan:
    """Extend a loan by its own length, if renewals are left and nobody waits for the device."""
    config = config or lending_config()
    with database.atomic("IMMEDIATE"):
        loan = get_loan(loan_id)
        if loan.state != "open":
            raise InvalidInput("loan", N_("Only a loan in progress can be renewed."))
        if loan.renewals >= config.renewals:
            raise InvalidInput("loan", N_("This loan cannot be renewed again."))
        base = max(loan.due_at, now)
        if loan.kind == "onsite":
            until = base + timedelta(hours=config.onsite_hours)
        else:
            days = (
                due_at(loan.device.kind, loan.kind, loan.started_at, config).date()
                - loan.started_at.date()
            ).days
            until = datetime.combine(base.date() + timedelta(days=days), END_OF_DAY)
        if _someone_waits(loan, until):
            raise InvalidInput(
                "loan", N_("Someone else reserved this device: it cannot be renewed.")
            )
        Loan.update(due_at=until, renewals=Loan.renewals + 1).where(Loan.id == loan.id).execute()
    return get_loan(loan_id)


def declare_lost(loan_id: int, staff: StaffUser | None, now: datetime, note: str = "") -> Loan:
    """The device did not come back: the loan and the device are lost; a record is opened."""
    with database.atomic("IMMEDIATE"):
        loan = get_loan(loan_id)
        if loan.state != "open":
            raise InvalidInput("loan", N_("Only a loan in progress can be declared lost."))
        _lose(loan, staff, now, note)
    return get_loan(loan_id)


def _lose(loan: Loan, staff: StaffUser | None, now: datetime, note: str) -> None:
    Loan.update(state="lost", lost_at=now).where(Loan.id == loan.id).execute()
    Device.update(status="lost").where(Device.id == loan.device_id).execute()
    MaintenanceRecord.create(
        device=loan.device_id, kind="loss", note=note[:300], opened_at=now, by=staff
    )


def escalate_lost(now: datetime, config: LendingConfig | None = None) -> int:
    """Loans overdue for more than lending.lost_after_days become lost."""
    config = config or lending_config()
    limit = now - timedelta(days=config.lost_after_days)
    with database.atomic("IMMEDIATE"):
        late = list(Loan.select().where((Loan.state == "open") & (Loan.due_at < limit)))
        for loan in late:
            _lose(loan, None, now, "overdue")
    return len(late)


@dataclass(frozen=True)
class Overdue:
    loan: Loan
    days_late: int
    hours_late: int


def overdue_loans(now: datetime) -> list[Overdue]:
    """Loans past their due time, the latest first."""
    loans = (
        Loan.select(Loan, Device)
        .join(Device)
        .switch(Loan)
        .where((Loan.state == "open") & (Loan.due_at < now))
    )
    out = [
        Overdue(
            loan,
            (now.date() - loan.due_at.date()).days,
            int((now - loan.due_at).total_seconds() // 3600),
        )
        for loan in loans
    ]
    return sorted(out, key=lambda o: (o.days_late, o.hours_late), reverse=True)


def mark_reminded(loan_id: int, now: datetime) -> None:
    Loan.update(reminded_at=now).where(Loan.id == loan_id).execute()


def loans_of_device(device: Device, limit: int = 20) -> list[Loan]:
    return list(
        Loan.select().where(Loan.device == device).order_by(Loan.started_at.desc()).limit(limit)
    )


def current_loans(member: Member | None = None) -> list[Loan]:
    query = Loan.select(Loan, Device).join(Device).switch(Loan).where(Loan.state == "open")
    if member is not None:
        query = query.where(Loan.borrower == member)
    return list(query.order_by(Loan.due_at))
