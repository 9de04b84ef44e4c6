"""The borrowers' personal data: retention, anonymisation of past loans, export and erasure.

A returned loan keeps its link to the borrower for lending.history_days (disputes); then
the link and the notes are removed and its times are cut to the day, so no trace leads
back to the person (no hash, no name). The counts of the statistics stay.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from peewee import fn

from appliance.config import LendingConfig
from appliance.db import database
from appliance.lending.common import lending_config
from appliance.models import LendingTermsAcceptance, Loan, Member, Reservation

_DAY = "%Y-%m-%d 00:00:00"


def _forget(query) -> int:  # type: ignore[no-untyped-def]
    """Remove the borrower link of the loans matched, for good."""
    return (
        Loan.update(
            borrower=None,
            notes="",
            reminded_at=None,
            anonymised=True,
            started_at=fn.strftime(_DAY, Loan.started_at),
            due_at=fn.strftime(_DAY, Loan.due_at),
            returned_at=fn.strftime(_DAY, Loan.returned_at),
            lost_at=fn.strftime(_DAY, Loan.lost_at),
        )
        .where(query)
        .execute()
    )


def anonymise_loans(now: datetime, config: LendingConfig | None = None) -> int:
    """Loans back (or lost) more than history_days ago lose their link to the borrower."""
    config = config or lending_config()
    limit = now - timedelta(days=config.history_days)
    ended = ((Loan.state == "returned") & (Loan.returned_at < limit)) | (
        (Loan.state == "lost") & (Loan.lost_at < limit)
    )
    count = _forget(ended & ~Loan.anonymised)
    _checkpoint()
    return count


def _checkpoint() -> None:
    """Fold the write-ahead log into the database (secure_delete wiped the freed pages),
    so the old rows do not linger in the -wal file either."""
    if not database.in_transaction():
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _when(value: datetime | None) -> str | None:
    return value.isoformat(timespec="minutes") if value else None


def export_member(member: Member) -> dict:
    """What lending holds about one member: terms accepted, loans still linked, reservations."""
    terms = LendingTermsAcceptance.get_or_none(LendingTermsAcceptance.member == member)
    loans = Loan.select().where(Loan.borrower == member).order_by(Loan.started_at)
    return {
        "terms_accepted_on": terms.accepted_on.isoformat() if terms else None,
        "loans": [
            {
                "device": loan.device.tag,
                "kind": loan.device.kind,
                "loan": loan.kind,
                "state": loan.state,
                "started_at": _when(loan.started_at),
                "due_at": _when(loan.due_at),
                "returned_at": _when(loan.returned_at),
                "deposit_cents": loan.deposit_cents,
                "notes": loan.notes,
            }
            for loan in loans
        ],
        "reservations": [
            {
                "kind": r.kind,
                "device": r.device.tag if r.device else None,
                "for_day": r.for_day.isoformat() if r.for_day else None,
                "state": r.state,
            }
            for r in Reservation.select().where(Reservation.member == member)
        ],
    }


def erase_member(member: Member) -> int:
    """At the person's request: their loans lose the link (a device still out stays on
    loan, to nobody known), their reservations and terms acceptance go."""
    with database.atomic():
        count = _forget((Loan.borrower == member) & (Loan.state != "open"))
        count += (
            Loan.update(borrower=None, notes="")
            .where((Loan.borrower == member) & (Loan.state == "open"))
            .execute()
        )
        count += Reservation.delete().where(Reservation.member == member).execute()
        count += (
            LendingTermsAcceptance.delete().where(LendingTermsAcceptance.member == member).execute()
        )
    return count


def inactive_borrowers(today: date, config: LendingConfig) -> list[Member]:
    """Borrowers with no loan for borrower_days, nothing on loan, and no other activity."""
    limit = today - timedelta(days=config.borrower_days)
    last_loan = (
        Loan.select(Loan.borrower, fn.MAX(Loan.started_at).alias("last"))
        .where(Loan.borrower.is_null(False))
        .group_by(Loan.borrower)
    )
    recent = {row.borrower_id for row in last_loan if row.last.date() >= limit}
    holding = {
        row.borrower_id
        for row in Loan.select(Loan.borrower).where(Loan.state.in_(("open", "lost")))
    }
    candidates = (
        Member.select()
        .join(LendingTermsAcceptance, on=(LendingTermsAcceptance.member == Member.id))
        .where((Member.last_active_on < limit) & (LendingTermsAcceptance.accepted_on < limit))
    )
    return [m for m in candidates if m.id not in recent and m.id not in holding]


def purge(today: date, retention: object = None) -> int:
    """The nightly retention task for lending: overdue loans become lost, past loans are
    anonymised, stale reservations end and old ones go, inactive borrowers are erased."""
    from appliance.lending import loans, reservations
    from appliance.members import erase_member as erase_whole_member

    config = lending_config()
    now = datetime.combine(today, datetime.min.time())
    count = loans.escalate_lost(now, config)
    count += reservations.expire(today, now)
    old = now - timedelta(days=config.history_days)
    count += (
        Reservation.delete()
        .where((Reservation.state != "active") & (Reservation.closed_at < old))
        .execute()
    )
    for member in inactive_borrowers(today, config):
        erase_whole_member(member, reason="retention")
        count += 1
    count += anonymise_loans(now, config)
    return count
