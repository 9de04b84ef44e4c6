"""History and privacy: a returned loan keeps its borrower for lending.history_days, then
the link is gone for real (the rows are inspected with plain sqlite3), counts stay; export,
erase on request, and inactive borrowers erased."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import timedelta

from appliance.config import LendingConfig
from appliance.lending import figures, loans, privacy
from appliance.members import erase_member, export_member
from appliance.models import LendingTermsAcceptance, Loan, Member, Reservation
from appliance.period import Period
from tests.lending.conftest import NOW, TODAY, borrower

LENDING_TABLES = (
    "device",
    "loan",
    "device_reset",
    "maintenance_record",
    "reservation",
    "lending_terms_acceptance",
    "lending_terms",
    "lending_audit",
)


def lend_and_return(lending) -> Loan:  # type: ignore[no-untyped-def]
    loan = loans.check_out(
        "LT-001",
        lending["member"],
        "home",
        lending["staff"],
        NOW,
        accept_terms=True,
        config=LendingConfig(),
    )
    loans.check_in(
        "LT-001",
        lending["staff"],
        NOW + timedelta(days=5, hours=3),
        ["charger", "sleeve"],
        "good",
        notes="Mme Diallo a oublié une clé USB",
        wiped=True,
        signed_out=True,
    )
    return Loan.get_by_id(loan.id)


def raw_rows(data_dir, table: str) -> list[dict]:  # type: ignore[no-untyped-def]
    connection = sqlite3.connect(data_dir / "epn.sqlite3")
    connection.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in connection.execute(f'SELECT * FROM "{table}"')]
    finally:
        connection.close()


def links_to_member(data_dir, member_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """For every lending table with a foreign key to member: rows pointing at member_id."""
    connection = sqlite3.connect(data_dir / "epn.sqlite3")
    found = {}
    try:
        for table in LENDING_TABLES:
            for fk in connection.execute(f'PRAGMA foreign_key_list("{table}")').fetchall():
                if fk[2] == "member":
                    found[f"{table}.{fk[3]}"] = connection.execute(
                        f'SELECT COUNT(*) FROM "{table}" WHERE "{fk[3]}" = ?', (member_id,)
                    ).fetchone()[0]
    finally:
        connection.close()
    return found


def test_a_returned_loan_keeps_its_borrower_during_the_history_days(lending, data_dir):
    loan = lend_and_return(lending)
    assert privacy.purge(TODAY + timedelta(days=5 + 29)) == 0
    row = raw_rows(data_dir, "loan")[0]
    assert row["borrower_id"] == lending["member"].id and "clé USB" in row["notes"]
    assert Loan.get_by_id(loan.id).borrower.display_name == "Mme Diallo"


def test_after_the_history_days_no_link_from_the_loan_to_the_person_remains(lending, data_dir):
    member = lending["member"]
    loan = lend_and_return(lending)
    privacy.purge(TODAY + timedelta(days=5 + 31))

    row = raw_rows(data_dir, "loan")[0]
    assert row["borrower_id"] is None and row["notes"] == "" and row["reminded_at"] is None
    assert row["anonymised"] == 1
    # Times are cut to the day: no minute left to match with anything else the person did.
    assert all(str(row[c]).endswith("00:00:00") for c in ("started_at", "due_at", "returned_at"))
    # No column holds the name, the card number, the member id as a link, or a hash of them.
    secrets = [member.display_name, member.number, member.contact]
    hashes = {
        getattr(hashlib, algo)(s.encode()).hexdigest()
        for s in secrets
        for algo in ("md5", "sha1", "sha256")
    }
    for value in map(str, row.values()):
        assert not any(s in value for s in secrets) and value not in hashes
    # Every foreign key from a lending table to member: only the terms acceptance remains
    # (the person is still a member), none from a loan, reservation or anything else.
    assert links_to_member(data_dir, member.id) == {
        "loan.borrower_id": 0,
        "reservation.member_id": 0,
        "lending_terms_acceptance.member_id": 1,
    }
    # The counts stay.
    week = Period.parse("2026-W47")
    assert figures(week, now=NOW + timedelta(days=40))["loans.checkouts"] == 1
    assert Loan.get_by_id(loan.id).device.tag == "LT-001"


def test_the_anonymisation_leaves_no_copy_in_the_write_ahead_log(lending, data_dir):
    lend_and_return(lending)
    privacy.purge(TODAY + timedelta(days=40))
    wal = data_dir / "epn.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0 or b"USB" not in wal.read_bytes()
    assert b"oubli\xc3\xa9 une cl\xc3\xa9 USB" not in (data_dir / "epn.sqlite3").read_bytes()


def test_a_borrower_gets_their_loans_exported_and_erased_on_request(lending, data_dir):
    member = lending["member"]
    lend_and_return(lending)
    from appliance.lending.reservations import reserve

    reserve(member, "tablet", TODAY, NOW)
    exported = export_member(member)["lending"]
    assert exported["terms_accepted_on"] == TODAY.isoformat()
    assert (
        exported["loans"][0]["device"] == "LT-001"
        and exported["reservations"][0]["kind"] == "tablet"
    )
    erase_member(member)
    assert not Member.select().where(Member.id == member.id).exists()
    assert raw_rows(data_dir, "loan")[0]["borrower_id"] is None
    assert Reservation.select().count() == 0 and LendingTermsAcceptance.select().count() == 0


def test_erasing_someone_who_still_has_a_device_keeps_the_device_on_loan(lending):
    member = lending["member"]
    loans.check_out("LT-001", member, "home", None, NOW, accept_terms=True, config=LendingConfig())
    erase_member(member)
    loan = Loan.get()
    assert loan.borrower is None and loan.state == "open" and loan.device.status == "on_loan"


def test_borrowers_without_a_loan_for_a_long_time_are_erased(lending):
    lend_and_return(lending)
    active = borrower("Jan P.")
    loans.check_out(
        "TB-001",
        active,
        "home",
        None,
        NOW + timedelta(days=300),
        accept_terms=True,
        config=LendingConfig(),
    )
    later = TODAY + timedelta(days=400)
    assert [m.display_name for m in privacy.inactive_borrowers(later, LendingConfig())] == [
        "Mme Diallo"
    ]
    privacy.purge(later)
    assert not Member.select().where(Member.display_name == "Mme Diallo").exists()
    assert Member.select().where(Member.display_name == "Jan P.").exists()  # still holds a tablet


def test_the_nightly_retention_task_runs_the_lending_purge(lending, data_dir):
    from appliance.config import RetentionConfig
    from appliance.members import purge_expired

    lend_and_return(lending)
    counts = purge_expired(TODAY + timedelta(days=40), RetentionConfig())
    assert counts["lending"] >= 1
    assert raw_rows(data_dir, "loan")[0]["borrower_id"] is None
