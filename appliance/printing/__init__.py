"""Printing with quotas: held jobs released at the desk or by code, pages counted from the
document, reserved at release, charged when CUPS says completed, refunded otherwise.

This module reports the figures (from the ledger: pages charged, jobs, refunds) and the
personal data (a member's jobs, grants and ledger entries; document names expire)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from peewee import fn

from appliance.config import Config, PrintingConfig
from appliance.models import Member, PrintJob, PrintLedgerEntry, PrintQuotaGrant
from appliance.period import Period
from appliance.registry import register_figures, register_personal_data

FIGURE_KEYS = ("print.pages.bw", "print.pages.colour", "print.jobs", "print.refunds", "print.price_cents")


def _settings() -> PrintingConfig:
    """The running app's (or worker's) printing settings; defaults outside them."""
    from appliance.taskqueue import runtime

    config: Config | None = runtime.get("config")
    return config.printing if config is not None else PrintingConfig()


def figures(period: Period) -> dict[str, int]:
    """Pages charged (black & white, colour), jobs charged, refunds and the symbolic
    amount recorded, by the day of the charge or refund. Counts only, no document names.
    An appliance that never printed (no printer, or printing not used) reports nothing."""
    if not PrintJob.select().exists():
        return {}
    in_period = (PrintLedgerEntry.day >= period.start) & (PrintLedgerEntry.day < period.end)
    out = {key: 0 for key in FIGURE_KEYS}
    rows = (PrintLedgerEntry.select(PrintLedgerEntry.kind, PrintLedgerEntry.colour,
                                    fn.COUNT(PrintLedgerEntry.id), fn.SUM(PrintLedgerEntry.units),
                                    fn.SUM(PrintLedgerEntry.price_cents))
            .where(in_period & PrintLedgerEntry.kind.in_(("charge", "refund")))
            .group_by(PrintLedgerEntry.kind, PrintLedgerEntry.colour).tuples())
    for kind, colour, count, units, cents in rows:
        if kind == "refund":
            out["print.refunds"] += int(count)
            continue
        out["print.jobs"] += int(count)
        out["print.pages.colour" if colour else "print.pages.bw"] += int(units or 0)
        out["print.price_cents"] += int(cents or 0)
    return out


def export_member(member: Member) -> dict:
    jobs = [{"document": job.title, "printer": job.printer, "pages": job.pages, "copies": job.copies,
             "colour": job.colour, "units": job.units, "state": job.state,
             "submitted_at": job.submitted_at.isoformat(timespec="minutes")}
            for job in PrintJob.select().where(PrintJob.member == member).order_by(PrintJob.id)]
    grants = [{"period": g.period, "colour": g.colour, "pages": g.pages, "reason": g.reason,
               "created_at": g.created_at.isoformat(timespec="minutes")}
              for g in PrintQuotaGrant.select().where(PrintQuotaGrant.member == member)]
    ledger = [{"kind": e.kind, "colour": e.colour, "units": e.units, "price_cents": e.price_cents,
               "day": e.day.isoformat()}
              for e in PrintLedgerEntry.select().where(PrintLedgerEntry.member == member)]
    return {"jobs": jobs, "quota_grants": grants, "ledger": ledger}


def erase_member(member: Member) -> int:
    """Unlink the member's jobs and ledger entries (their counts stay), blank their
    document names, delete their quota grants."""
    count = PrintQuotaGrant.delete().where(PrintQuotaGrant.member == member).execute()
    count += PrintJob.update(member=None, title="").where(PrintJob.member == member).execute()
    PrintLedgerEntry.update(member=None).where(PrintLedgerEntry.member == member).execute()
    return count


def purge_names(today: date, retention: object = None, days: int | None = None) -> int:
    """Blank document names older than printing.document_name_days, and the release
    codes of finished jobs (the rows stay, so the counts remain)."""
    days = days if days is not None else _settings().document_name_days
    limit = datetime.combine(today - timedelta(days=days), datetime.min.time())
    old = PrintJob.submitted_at < limit
    blanked = PrintJob.update(title="").where(old & (PrintJob.title != "")).execute()
    PrintJob.update(code="", host="").where(
        old & PrintJob.state.not_in(("held", "released")) & (PrintJob.code != "")).execute()
    return blanked


register_figures("printing", figures)
register_personal_data("printing", export=export_member, erase=erase_member, purge=purge_names)

__all__ = ["figures", "FIGURE_KEYS", "export_member", "erase_member", "purge_names"]
