"""Members and personal data: card number, export, erase, retention purge, registry."""

import json
from datetime import date, timedelta

import pytest

from appliance.config import RetentionConfig
from appliance.db import database
from appliance.members import (
    create_member,
    erase_member,
    export_member,
    find_members,
    is_valid_number,
    purge_expired,
    reapply_erasures,
)
from appliance.models import Erasure, Member, utcnow
from appliance.registry import _personal, register_personal_data

TODAY = date(2026, 11, 17)


def _member(name="Awa D.", **kwargs):
    return create_member(name, kwargs.get("contact", "0470 11 22 33"), "fr", "visitor", True, None,
                         kwargs.get("today", TODAY))


def test_a_member_number_has_nine_digits_with_a_check_digit(db):
    member = _member()
    assert is_valid_number(member.number)
    wrong = member.number[:8] + str((int(member.number[8]) + 1) % 10)
    assert not is_valid_number(wrong)


def test_members_are_found_by_name_or_by_the_number_as_typed_or_scanned(db):
    member = _member("Mariam K.")
    _member("Jan P.")
    spaced = f"{member.number[:4]} {member.number[4:8]} {member.number[8:]}"
    assert find_members(spaced) == [member]
    assert [m.display_name for m in find_members("mariam")] == ["Mariam K."]


def test_export_holds_everything_about_the_person(db):
    data = export_member(_member(contact="awa@example.org"))
    assert data["member"]["contact"] == "awa@example.org"
    json.dumps(data)  # serialisable as the download is


def test_erasing_removes_the_member_from_the_database_file(db, data_dir):
    member = _member("Zéphyrine Unique", contact="0499 98 76 54")
    erase_member(member)
    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = (data_dir / "epn.sqlite3").read_bytes()
    assert Member.select().count() == 0
    assert "Zéphyrine Unique".encode() not in raw and b"0499 98 76 54" not in raw
    assert Erasure.select().count() == 1


def test_secure_delete_is_on(db):
    assert database.execute_sql("PRAGMA secure_delete").fetchone()[0] == 1


def test_each_domain_registered_for_personal_data_is_erased_with_the_member(db):
    calls = []
    register_personal_data("test-domain", export=lambda m: {"n": 1},
                           erase=lambda m: calls.append(m.number) or 1, purge=lambda today, r: 0)
    try:
        member = _member()
        assert export_member(member)["test-domain"] == {"n": 1}
        erase_member(member)
        assert calls == [member.number]
    finally:
        _personal.pop("test-domain")


def test_a_failing_domain_erase_leaves_everything_in_place(db):
    def broken(member):
        raise RuntimeError("disk full")

    register_personal_data("broken", export=lambda m: {}, erase=broken, purge=lambda today, r: 0)
    try:
        member = _member()
        with pytest.raises(RuntimeError):
            erase_member(member)
        assert Member.select().count() == 1 and Erasure.select().count() == 0
    finally:
        _personal.pop("broken")


def test_the_purge_erases_members_inactive_beyond_the_retention_period(db):
    retention = RetentionConfig(member_days=365)
    old = _member("Old", today=TODAY - timedelta(days=400))
    recent = _member("Recent", today=TODAY - timedelta(days=30))
    counts = purge_expired(TODAY, retention)
    assert counts["members"] == 1
    assert [m.id for m in Member.select()] == [recent.id]
    assert Erasure.get().reason == "retention"
    assert old.number not in {e.member_digest for e in Erasure.select()}


def test_the_erasure_log_itself_expires(db):
    Erasure.create(member_digest="0" * 64, reason="request", erased_at=utcnow() - timedelta(days=500))
    purge_expired(TODAY, RetentionConfig(erasure_log_days=400))
    assert Erasure.select().count() == 0


def test_a_restore_erases_again_those_erased_since_the_backup(db):
    member = _member("Restored by mistake")
    number, name = member.number, member.display_name
    before = utcnow() - timedelta(minutes=1)
    erase_member(member)
    # The backup brings the member back; the erasure log (kept apart) says to erase it again.
    Member.create(number=number, display_name=name, contact="", language="fr", category="visitor",
                  id_seen=False, created_on=TODAY, last_active_on=TODAY)
    assert reapply_erasures(before) == 1
    assert Member.select().count() == 0


def test_the_staff_page_exports_and_erases_one_person(client, auth, data_dir):
    token = auth("mediator")
    with database.connection_context():
        member = _member("Awa D.")
    exported = client.get(f"/staff/members/{member.id}/export")
    assert exported.status_code == 200 and exported.mimetype == "application/json"
    assert exported.get_json()["member"]["display_name"] == "Awa D."
    assert client.post(f"/staff/members/{member.id}/erase", data={"csrf_token": token}).status_code == 400
    response = client.post(f"/staff/members/{member.id}/erase", data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 302
    with database.connection_context():
        assert Member.select().count() == 0


def test_the_member_page_shows_the_card_number_and_a_qr_code(client, auth, data_dir):
    auth("mediator")
    with database.connection_context():
        member = _member()
    page = client.get(f"/staff/members/{member.id}/card").get_data(as_text=True)
    assert "<svg" in page and member.number[:4] in page


def test_registering_a_member_records_who_saw_the_identity_document(client, auth, data_dir):
    token = auth("mediator")
    response = client.post("/staff/members/new", data={
        "csrf_token": token, "display_name": "Nour", "contact": "", "language": "ar",
        "category": "trainee", "terms_accepted": "y", "id_seen": "y"})
    assert response.status_code == 302
    with database.connection_context():
        member = Member.get()
        assert (member.language, member.category, member.id_seen, member.id_seen_by.username) == \
            ("ar", "trainee", True, "mehdi")
        assert member.terms_accepted_on is not None

