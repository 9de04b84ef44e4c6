"""The laptop-thèque's figures for the statistics: counts only, stable once a period closed.

- loans.checkouts: loans started in the period; loans.onsite / loans.group of them;
- loans.days: loan-days in the period (each day a device was out counts once per loan);
- loans.overdue: loans due in the period that came back late or not at all (so far);
- loans.lost: loans declared lost in the period;
- devices.kind.<kind>: devices in the inventory during the period;
- devices.status.<status>: where they stood at the end of the period (or now);
- devices.days: device-days in the inventory; loans.days / devices.days is the utilisation,
  and both merge across EPNs by addition.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from appliance.lending.common import local_now
from appliance.lending.inventory import KINDS
from appliance.models import Device, Loan, MaintenanceRecord
from appliance.period import Period

FIGURE_STATUSES = ("available", "on_loan", "maintenance", "lost", "retired")


def figure_keys() -> set[str]:
    keys = {
        "loans.checkouts",
        "loans.onsite",
        "loans.group",
        "loans.days",
        "loans.overdue",
        "loans.lost",
        "devices.days",
    }
    keys |= {f"devices.kind.{kind}" for kind in KINDS}
    keys |= {f"devices.status.{status}" for status in FIGURE_STATUSES}
    return keys


def _overlap_days(first: date, last: date, period: Period) -> int:
    """Days of [first, last] (both counted) inside [period.start, period.end)."""
    start = max(first, period.start)
    end = min(last, period.end - timedelta(days=1))
    return max(0, (end - start).days + 1)


def _status_at(
    device: Device, moment: datetime, loans: list[Loan], records: list[MaintenanceRecord]
) -> str:
    if device.retired_at is not None and device.retired_at < moment:
        return "retired"
    for loan in loans:
        if loan.started_at < moment and (loan.returned_at is None or loan.returned_at >= moment):
            return "lost" if loan.lost_at is not None and loan.lost_at < moment else "on_loan"
    for record in records:
        if record.opened_at < moment and (record.closed_at is None or record.closed_at >= moment):
            return "maintenance"
    return "available"


def figures(period: Period, now: datetime | None = None) -> dict[str, int]:
    now = now or local_now()
    start = datetime.combine(period.start, datetime.min.time())
    end = datetime.combine(period.end, datetime.min.time())
    moment = min(end, now)
    last_day = min(period.end - timedelta(days=1), now.date())
    devices = list(
        Device.select().where(
            (Device.created_at < end) & (Device.retired_at.is_null() | (Device.retired_at >= start))
        )
    )
    if not devices:
        return {}  # no laptop-thèque here (yet): its figures are absent, never 0
    out = {key: 0 for key in figure_keys()}
    started = Loan.select().where((Loan.started_at >= start) & (Loan.started_at < end))
    out["loans.checkouts"] = started.count()
    out["loans.onsite"] = started.where(Loan.kind == "onsite").count()
    out["loans.group"] = started.where(Loan.kind == "group").count()
    out["loans.lost"] = Loan.select().where((Loan.lost_at >= start) & (Loan.lost_at < end)).count()
    out["loans.overdue"] = (
        Loan.select()
        .where(
            (Loan.due_at >= start)
            & (Loan.due_at < end)
            & (Loan.due_at < now)
            & (Loan.returned_at.is_null() | (Loan.returned_at > Loan.due_at))
        )
        .count()
    )
    for loan in Loan.select().where(
        (Loan.started_at < end) & (Loan.returned_at.is_null() | (Loan.returned_at >= start))
    ):
        until = (loan.returned_at or loan.lost_at or now).date()
        out["loans.days"] += _overlap_days(loan.started_at.date(), min(until, last_day), period)
    loans_by_device: dict[int, list[Loan]] = {}
    for loan in Loan.select().where(Loan.started_at < moment):
        loans_by_device.setdefault(loan.device_id, []).append(loan)
    records_by_device: dict[int, list[MaintenanceRecord]] = {}
    for record in MaintenanceRecord.select().where(MaintenanceRecord.opened_at < moment):
        records_by_device.setdefault(record.device_id, []).append(record)
    for device in devices:
        out[f"devices.kind.{device.kind}"] += 1
        status = _status_at(
            device, moment, loans_by_device.get(device.id, []), records_by_device.get(device.id, [])
        )
        out[f"devices.status.{status}"] += 1
        last = (device.retired_at.date() - timedelta(days=1)) if device.retired_at else last_day
        out["devices.days"] += _overlap_days(device.created_at.date(), min(last, last_day), period)
    return out
