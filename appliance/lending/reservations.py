"""Reservations ahead (a device or a kind of device for a day) and the waiting list per kind."""

from __future__ import annotations

from datetime import date, datetime

from appliance.db import database
from appliance.errors import N_, InvalidInput, NotFound
from appliance.lending.inventory import KINDS, find_device
from appliance.models import Device, Member, Reservation

MAX_DAYS_AHEAD = 90


def reserve(
    member: Member,
    kind: str,
    today: date,
    now: datetime,
    tag: str = "",
    for_day: date | None = None,
) -> Reservation:
    """Hold a device (by tag) or a kind of device for `for_day`; without a day, join the
    kind's waiting list."""
    device = find_device(tag) if tag.strip() else None
    if device is not None:
        kind = device.kind
        if device.status in ("lost", "retired"):
            raise InvalidInput("tag", N_("This device cannot be reserved."))
        if for_day is None:
            raise InvalidInput("for_day", N_("Give the day the device is needed."))
    if kind not in KINDS:
        raise InvalidInput("kind", N_("Choose a kind of device from the list."))
    if for_day is not None and for_day < today:
        raise InvalidInput("for_day", N_("The day is in the past."))
    if for_day is not None and (for_day - today).days > MAX_DAYS_AHEAD:
        raise InvalidInput("for_day", N_("At most %(n)s days ahead."), n=MAX_DAYS_AHEAD)
    with database.atomic("IMMEDIATE"):
        same = Reservation.select().where(
            (Reservation.member == member)
            & (Reservation.state == "active")
            & (Reservation.kind == kind)
            & ((Reservation.for_day == for_day) if for_day else Reservation.for_day.is_null())
        )
        if same.exists():
            raise InvalidInput("kind", N_("This person already has this reservation."))
        reservation = Reservation.create(
            member=member, kind=kind, device=device, for_day=for_day, created_at=now
        )
        hold_due(today)
    return reservation


def hold_due(today: date) -> int:
    """Devices reserved for today (or a past day not yet collected) and free are set aside."""
    due = Reservation.select(Reservation.device).where(
        (Reservation.state == "active")
        & Reservation.device.is_null(False)
        & (Reservation.for_day <= today)
    )
    return (
        Device.update(status="reserved")
        .where((Device.status == "available") & Device.id.in_(due))
        .execute()
    )


def cancel(reservation_id: int, now: datetime) -> Reservation:
    with database.atomic("IMMEDIATE"):
        reservation = Reservation.get_or_none(Reservation.id == reservation_id)
        if reservation is None:
            raise NotFound(reservation_id)
        if reservation.state != "active":
            raise InvalidInput("reservation", N_("This reservation is no longer active."))
        Reservation.update(state="cancelled", closed_at=now).where(
            Reservation.id == reservation_id
        ).execute()
        _release(reservation.device_id)
    return Reservation.get_by_id(reservation_id)


def _release(device_id: int | None) -> None:
    if device_id is None:
        return
    still = Reservation.select().where(
        (Reservation.device == device_id) & (Reservation.state == "active")
    )
    if not still.exists():
        Device.update(status="available").where(
            (Device.id == device_id) & (Device.status == "reserved")
        ).execute()


def expire(today: date, now: datetime, grace_days: int = 1) -> int:
    """Reservations of a day long past that nobody collected end; their devices are freed."""
    old = list(
        Reservation.select().where(
            (Reservation.state == "active")
            & Reservation.for_day.is_null(False)
            & (Reservation.for_day < date.fromordinal(today.toordinal() - grace_days))
        )
    )
    for reservation in old:
        Reservation.update(state="cancelled", closed_at=now).where(
            Reservation.id == reservation.id
        ).execute()
        _release(reservation.device_id)
    return len(old)


def ahead(today: date) -> list[Reservation]:
    """Active reservations for a day, soonest first."""
    return list(
        Reservation.select()
        .where((Reservation.state == "active") & Reservation.for_day.is_null(False))
        .order_by(Reservation.for_day, Reservation.created_at)
    )


def waiting_list(kind: str | None = None) -> list[Reservation]:
    """The waiting list (of one kind, or of all), first come first served."""
    query = Reservation.select().where(
        (Reservation.state == "active") & Reservation.for_day.is_null()
    )
    if kind:
        query = query.where(Reservation.kind == kind)
    return list(query.order_by(Reservation.kind, Reservation.created_at))


def of_member(member: Member) -> list[Reservation]:
    return list(
        Reservation.select().where((Reservation.member == member) & (Reservation.state == "active"))
    )
