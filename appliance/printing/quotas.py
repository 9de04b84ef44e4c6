"""Print quotas: pages per member per period (by category, plus staff grants), and a small
allowance per release code for guests. Usage is read from the ledger: reserved pages count
until they are refunded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from peewee import Case, fn

from appliance.config import PrintingConfig
from appliance.db import database
from appliance.errors import N_, InvalidInput
from appliance.models import Member, PrintJob, PrintLedgerEntry, PrintQuotaGrant, StaffUser
from appliance.period import Period

MAX_GRANT = 10_000


@dataclass(frozen=True)
class Balance:
    """What one person (a member in a period, or a guest's code) may still print."""

    bw_allowed: int
    bw_used: int
    colour_allowed: int
    colour_used: int

    def left(self, colour: bool) -> int:
        if colour:
            return max(self.colour_allowed - self.colour_used, 0)
        return max(self.bw_allowed - self.bw_used, 0)


def quota_period(day: date, settings: PrintingConfig) -> str:
    """The quota period containing `day`, e.g. 2026-W47 or 2026-11."""
    return str(Period.containing(day, settings.quota_period))


def default_allowance(category: str, colour: bool, settings: PrintingConfig) -> int:
    category = category if category in ("visitor", "trainee", "partner") else "visitor"
    return getattr(settings, f"{category}_{'colour' if colour else 'bw'}")


def _granted(member: Member, period: str, colour: bool) -> int:
    return int(PrintQuotaGrant.select(fn.COALESCE(fn.SUM(PrintQuotaGrant.pages), 0)).where(
        (PrintQuotaGrant.member == member) & (PrintQuotaGrant.period == period)
        & (PrintQuotaGrant.colour == colour)).scalar())


def _used(condition, colour: bool) -> int:  # type: ignore[no-untyped-def]
    """Reserved minus refunded units (a charge only confirms a reservation)."""
    sign = Case(None, [(PrintLedgerEntry.kind == "reserve", PrintLedgerEntry.units),
                          (PrintLedgerEntry.kind == "refund", PrintLedgerEntry.units * -1)], 0)
    query = (PrintLedgerEntry.select(fn.COALESCE(fn.SUM(sign), 0))
             .join(PrintJob).where(condition & (PrintLedgerEntry.colour == colour)))
    return int(query.scalar())


def member_balance(member: Member, period: str, settings: PrintingConfig) -> Balance:
    def allowed(colour: bool) -> int:
        return max(default_allowance(member.category, colour, settings) + _granted(member, period, colour), 0)

    mine = (PrintLedgerEntry.member == member) & (PrintLedgerEntry.period == period)
    return Balance(allowed(False), _used(mine, False), allowed(True), _used(mine, True))


def guest_balance(code: str, settings: PrintingConfig) -> Balance:
    """A guest's allowance is per release code (one visit), whatever the period."""
    mine = (PrintJob.code == code) & PrintLedgerEntry.member.is_null()
    return Balance(settings.guest_bw, _used(mine, False), settings.guest_colour, _used(mine, True))


def grant(member: Member, period: str, colour: bool, pages: int, reason: str,
          staff: StaffUser | None) -> PrintQuotaGrant:
    """Staff top-up (positive) or cut (negative) of a member's quota, with a reason."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("reason", N_("Say why the quota changes."))
    if len(reason) > 200:
        raise InvalidInput("reason", N_("At most %(n)s characters."), n=200)
    if pages == 0 or abs(pages) > MAX_GRANT:
        raise InvalidInput("pages", N_("Give a number of pages between -%(n)s and %(n)s, not 0."), n=MAX_GRANT)
    Period.parse(period)
    with database.atomic():
        return PrintQuotaGrant.create(member=member, period=period, colour=colour, pages=pages,
                                      reason=reason, granted_by=staff)


def set_allowance(member: Member, period: str, colour: bool, pages: int, reason: str,
                  staff: StaffUser | None, settings: PrintingConfig) -> PrintQuotaGrant:
    """Staff override: the member's allowance for the period becomes `pages`."""
    if not 0 <= pages <= MAX_GRANT:
        raise InvalidInput("pages", N_("Give a number of pages between 0 and %(n)s."), n=MAX_GRANT)
    current = member_balance(member, period, settings)
    allowed = current.colour_allowed if colour else current.bw_allowed
    if pages == allowed:
        raise InvalidInput("pages", N_("The quota is already %(n)s pages."), n=pages)
    return grant(member, period, colour, pages - allowed, reason, staff)
