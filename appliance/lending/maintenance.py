"""The maintenance log of each device, and the audit walk through the room."""

from __future__ import annotations

from datetime import datetime

from appliance.db import database
from appliance.errors import N_, InvalidInput, NotFound
from appliance.lending.inventory import find_device
from appliance.models import Device, LendingAudit, MaintenanceRecord, StaffUser

RECORD_KINDS = ("repair", "reinstall", "battery", "damage", "missing", "loss", "check", "other")


def add_record(
    tag: str, kind: str, note: str, keep_open: bool, staff: StaffUser | None, now: datetime
) -> MaintenanceRecord:
    """Log work on a device. An open record takes it out of lending until it is closed."""
    if kind not in RECORD_KINDS:
        raise InvalidInput("kind", N_("Choose what was done from the list."))
    note = note.strip()
    if len(note) > 300:
        raise InvalidInput("note", N_("At most %(n)s characters."), n=300)
    with database.atomic("IMMEDIATE"):
        device = find_device(tag)
        if keep_open and device.status in ("on_loan", "retired"):
            raise InvalidInput(
                "kind", N_("This device is on loan or retired: it cannot go into maintenance.")
            )
        record = MaintenanceRecord.create(
            device=device,
            kind=kind,
            note=note,
            opened_at=now,
            by=staff,
            closed_at=None if keep_open else now,
        )
        if keep_open and device.status != "lost":
            Device.update(status="maintenance").where(Device.id == device.id).execute()
    return record


def close_record(record_id: int, now: datetime) -> MaintenanceRecord:
    """Work done: once no record is open, the device waits for its reset before lending."""
    with database.atomic("IMMEDIATE"):
        record = MaintenanceRecord.get_or_none(MaintenanceRecord.id == record_id)
        if record is None:
            raise NotFound(record_id)
        if record.closed_at is not None:
            raise InvalidInput("record", N_("This record is already closed."))
        MaintenanceRecord.update(closed_at=now).where(MaintenanceRecord.id == record_id).execute()
        still_open = (
            MaintenanceRecord.select()
            .where(
                (MaintenanceRecord.device == record.device_id)
                & MaintenanceRecord.closed_at.is_null()
            )
            .exists()
        )
        if not still_open:
            Device.update(status="to_reset").where(
                (Device.id == record.device_id) & Device.status.in_(("maintenance", "lost"))
            ).execute()
    return MaintenanceRecord.get_by_id(record_id)


def log_of(device: Device) -> list[MaintenanceRecord]:
    return list(
        MaintenanceRecord.select()
        .where(MaintenanceRecord.device == device)
        .order_by(MaintenanceRecord.opened_at.desc())
    )


# --- Audit ---------------------------------------------------------------------------


def current_audit() -> LendingAudit | None:
    return (
        LendingAudit.select()
        .where(LendingAudit.finished_at.is_null())
        .order_by(LendingAudit.id.desc())
        .first()
    )


def start_audit(staff: StaffUser | None, now: datetime) -> LendingAudit:
    with database.atomic("IMMEDIATE"):
        return current_audit() or LendingAudit.create(started_at=now, by=staff)


def scan(tag: str, now: datetime) -> Device:
    """A label scanned during the audit: the device was seen now."""
    if current_audit() is None:
        raise InvalidInput("tag", N_("Start an audit first."))
    device = find_device(tag)
    Device.update(last_seen_at=now).where(Device.id == device.id).execute()
    return Device.get_by_id(device.id)


def expected_in_room():  # type: ignore[no-untyped-def]
    """Devices that should be on the premises: not on loan, lost or retired."""
    return Device.select().where(Device.status.not_in(("on_loan", "lost", "retired")))


def not_seen(audit: LendingAudit) -> list[Device]:
    return list(
        expected_in_room()
        .where(Device.last_seen_at.is_null() | (Device.last_seen_at < audit.started_at))
        .order_by(Device.tag)
    )


def seen(audit: LendingAudit) -> list[Device]:
    return list(
        Device.select()
        .where(Device.last_seen_at >= audit.started_at)
        .order_by(Device.last_seen_at.desc())
    )


def finish_audit(now: datetime) -> LendingAudit | None:
    audit = current_audit()
    if audit is not None:
        LendingAudit.update(finished_at=now).where(LendingAudit.id == audit.id).execute()
    return audit
