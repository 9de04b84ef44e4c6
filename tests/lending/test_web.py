"""The laptop-thèque's staff pages through the test client: scan, lend, take back with the
checklist, the reset gate, overdue reminders, CSV import/export, labels, and bad input."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from appliance.db import database
from appliance.lending.inventory import get_device
from appliance.lending.labels import qr_svg
from appliance.models import Device, Loan, MaintenanceRecord, Member, Reservation
from tests.conftest import sign_in
from tests.lending.conftest import INVENTORY, NOW, add_inventory, borrower


@pytest.fixture
def auth(client):  # type: ignore[no-untyped-def]
    """Signs in (as tests.conftest's) and reads the pages in English unless a test switches."""

    def sign_in_in_english(role: str = "mediator") -> str:
        token = sign_in(client, role)
        client.get("/lang/en")
        return token

    return sign_in_in_english


@pytest.fixture
def stocked(app):  # type: ignore[no-untyped-def]
    with database.connection_context():
        add_inventory()
        member = borrower()
    return member


def page(client, path: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def lend(client, token, tag="LT-001", **fields):  # type: ignore[no-untyped-def]
    data = {
        "csrf_token": token,
        "borrower": "Mme Diallo",
        "loan_kind": "home",
        "accept_terms": "y",
        **fields,
    }
    return client.post(f"/staff/lending/devices/{tag}/checkout", data=data)


def take_back(client, token, tag="LT-001", **fields):  # type: ignore[no-untyped-def]
    data = {
        "csrf_token": token,
        "accessories": ["charger", "sleeve"],
        "condition": "good",
        "wiped": "y",
        "signed_out": "y",
        **fields,
    }
    return client.post(f"/staff/lending/devices/{tag}/checkin", data=data)


def test_a_scanned_tag_opens_the_device_page(client, auth, stocked):
    auth()
    response = client.get("/staff/lending/scan?tag=lt-001")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/staff/lending/devices/LT-001"
    )
    qr = client.get("/staff/lending/scan?tag=http%3A%2F%2Fepn%2Fstaff%2Flending%2Fdevices%2FTB-001")
    assert qr.headers["Location"].endswith("/devices/TB-001")
    assert "Lenovo T14" in page(client, "/staff/lending/devices/LT-001")


def test_an_unknown_tag_is_a_404_that_keeps_what_was_scanned(client, auth, stocked):
    auth()
    response = client.get("/staff/lending/scan?tag=XX-999")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "XX-999" in body and 'value="XX-999"' in body
    assert client.get("/staff/lending/devices/XX-999").status_code == 404


def test_lend_and_take_back_with_the_checklist_in_french(client, auth, stocked):
    token = auth()
    client.get("/lang/fr")
    response = lend(client, token)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with database.connection_context():
        loan = Loan.get()
        assert (loan.borrower.display_name, loan.state, get_device("LT-001").status) == (
            "Mme Diallo",
            "open",
            "on_loan",
        )
    slip = page(client, f"/staff/lending/loans/{loan.id}/slip")
    assert "Mme Diallo" in slip and "LT-001" in slip and "Chargeur" in slip
    response = take_back(client, token, accessories=["charger"], wiped="", signed_out="")
    assert response.status_code == 302
    with database.connection_context():
        assert get_device("LT-001").status == "maintenance"  # the sleeve is missing
        assert MaintenanceRecord.get().kind == "missing"
    assert "Housse" in page(client, "/staff/lending/devices/LT-001")


def test_a_device_whose_reset_is_not_recorded_cannot_be_lent_until_it_is(client, auth, stocked):
    token = auth()
    lend(client, token)
    take_back(client, token, wiped="", signed_out="")
    with database.connection_context():
        borrower("Jan P.")
    refused = lend(client, token, borrower="Jan P.")
    assert refused.status_code == 409
    assert "reset" in refused.get_data(as_text=True)
    half = client.post(
        "/staff/lending/devices/LT-001/reset", data={"csrf_token": token, "reset-wiped": "y"}
    )
    assert half.status_code == 400
    done = client.post(
        "/staff/lending/devices/LT-001/reset",
        data={"csrf_token": token, "reset-wiped": "y", "reset-signed_out": "y"},
    )
    assert done.status_code == 302
    assert lend(client, token, borrower="Jan P.").status_code == 302


def test_a_new_borrower_is_registered_with_the_loan_or_not_at_all(client, auth, stocked):
    token = auth()
    lend(
        client,
        token,
        borrower="",
        new_name="Ahmed B.",
        new_language="ar",
        new_category="visitor",
        id_seen="y",
    )
    with database.connection_context():
        ahmed = Member.get(Member.display_name == "Ahmed B.")
        assert ahmed.id_seen_by.username == "mehdi" and Loan.get().borrower_id == ahmed.id
    refused = lend(
        client,
        token,
        borrower="",
        new_name="Someone Else",
        new_language="fr",
        new_category="visitor",
    )
    assert refused.status_code == 409
    assert 'value="Someone Else"' in refused.get_data(as_text=True)
    with database.connection_context():
        assert not Member.select().where(Member.display_name == "Someone Else").exists()


@pytest.mark.parametrize(
    "fields, status, message",
    [
        ({"accept_terms": ""}, 400, "accept the lending terms"),
        ({"borrower": "Nobody Known"}, 400, "Nobody matches"),
        ({"borrower": ""}, 400, "register a new borrower"),
        ({"due_day": "2026-11-01"}, 400, "in the past"),
        ({"loan_kind": "group"}, 400, "partner organisations only"),
        ({"loan_kind": "forever"}, 400, "Not a valid choice"),
    ],
)
def test_bad_check_out_input_is_refused_with_a_message_and_nothing_is_lent(
    client, auth, stocked, fields, status, message
):
    token = auth()
    response = lend(client, token, **fields)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    with database.connection_context():
        assert Loan.select().count() == 0 and get_device("LT-001").status == "available"


def test_a_borrower_over_the_limit_and_a_device_not_on_loan_are_refused(client, auth, stocked):
    token = auth()
    lend(client, token)
    over = lend(client, token, tag="LT-002")
    assert over.status_code == 400 and "most allowed" in over.get_data(as_text=True)
    not_out = take_back(client, token, tag="TB-001")
    assert not_out.status_code == 409 and "not on loan" in not_out.get_data(as_text=True)


def test_the_error_message_is_in_the_staff_members_language(client, auth, stocked):
    token = auth()
    client.get("/lang/nl")
    response = lend(client, token, due_day="2026-11-01")
    assert response.status_code == 400
    assert "verleden" in response.get_data(as_text=True)


def test_overdue_loans_come_with_a_reminder_in_the_borrowers_language(client, auth, stocked, app):
    token = auth()
    lend(client, token, due_day="2026-11-17")
    app.extensions["epn_clock"] = lambda: NOW + timedelta(days=4)
    body = page(client, "/staff/lending/overdue")
    assert "Bonjour Mme Diallo" in body and "LT-001" in body and "4 days late" in body
    with database.connection_context():
        loan_id = Loan.get().id
    assert (
        client.post(
            f"/staff/lending/loans/{loan_id}/reminded", data={"csrf_token": token}
        ).status_code
        == 302
    )
    with database.connection_context():
        assert Loan.get().reminded_at is not None


def test_renewal_and_declaring_lost_from_the_device_page(client, auth, stocked):
    token = auth()
    lend(client, token)
    with database.connection_context():
        loan_id = Loan.get().id
    assert (
        client.post(f"/staff/lending/loans/{loan_id}/renew", data={"csrf_token": token}).status_code
        == 302
    )
    again = client.post(f"/staff/lending/loans/{loan_id}/renew", data={"csrf_token": token})
    assert again.status_code == 409 and "cannot be renewed again" in again.get_data(as_text=True)
    assert (
        client.post(f"/staff/lending/loans/{loan_id}/lost", data={"csrf_token": token}).status_code
        == 302
    )
    with database.connection_context():
        assert get_device("LT-001").status == "lost"


def test_a_coordinator_imports_a_csv_and_a_bad_file_imports_nothing(client, auth, db):
    token = auth("coordinator")
    bad = b"tag,kind\nA-1,laptop\nA-2,spaceship\nA-3,tablet\n,tablet\n"
    response = client.post(
        "/staff/lending/import",
        data={"csrf_token": token, "file": (io.BytesIO(bad), "inv.csv")},
        content_type="multipart/form-data",
    )
    body = response.get_data(as_text=True)
    assert (
        response.status_code == 400
        and "Line 3:" in body
        and "Line 5:" in body
        and "spaceship" in body
    )
    assert Device.select().count() == 0
    response = client.post(
        "/staff/lending/import",
        data={"csrf_token": token, "file": (io.BytesIO(INVENTORY), "inv.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and Device.select().count() == 4
    exported = client.get("/staff/lending/export.csv").get_data(as_text=True)
    assert exported.startswith("tag,kind,") and "LT-002,laptop,Lenovo T14" in exported


def test_a_mediator_may_not_import_or_edit_the_terms(client, auth, db):
    auth()
    assert client.get("/staff/lending/import").status_code == 403
    assert client.get("/staff/lending/terms").status_code == 403


def test_the_label_sheet_has_one_qr_code_per_device_pointing_to_its_page(client, auth, stocked):
    auth()
    body = page(client, "/staff/lending/labels?skip=2")
    assert body.count('class="qr"') == 4
    assert body.count('<div class="label">') == 6  # two labels of a used sheet left blank
    # Each QR code is the one of the device page's address (what a phone opens).
    assert qr_svg("http://localhost/staff/lending/devices/LT-001") in body
    assert qr_svg("http://localhost/staff/lending/devices/BR-001") in body


def test_the_coordinator_writes_terms_that_borrowers_accept_and_print(client, auth, stocked):
    token = auth("coordinator")
    response = client.post(
        "/staff/lending/terms?language=nl",
        data={"csrf_token": token, "language": "nl", "text": "Onze eigen voorwaarden."},
    )
    assert response.status_code == 302
    with database.connection_context():
        jan = Member.create(
            number="123456782",
            display_name="Jan",
            language="nl",
            created_on=NOW.date(),
            last_active_on=NOW.date(),
        )
    printed = page(client, f"/staff/lending/terms/print?member={jan.id}")
    assert "Onze eigen voorwaarden." in printed and "Jan" in printed


def test_reservations_and_the_audit_walk_through_the_pages(client, auth, stocked):
    token = auth()
    response = client.post(
        "/staff/lending/reservations",
        data={
            "csrf_token": token,
            "borrower": "Mme Diallo",
            "kind": "tablet",
            "tag": "",
            "for_day": "2026-11-24",
        },
    )
    assert response.status_code == 302
    assert "Mme Diallo" in page(client, "/staff/lending/reservations")
    past = client.post(
        "/staff/lending/reservations",
        data={
            "csrf_token": token,
            "borrower": "Mme Diallo",
            "kind": "tablet",
            "for_day": "2026-11-01",
        },
    )
    assert past.status_code == 400 and "past" in past.get_data(as_text=True)
    client.post("/staff/lending/audit/start", data={"csrf_token": token})
    assert (
        client.post(
            "/staff/lending/audit/scan", data={"csrf_token": token, "tag": "LT-001"}
        ).status_code
        == 302
    )
    unknown = client.post("/staff/lending/audit/scan", data={"csrf_token": token, "tag": "ZZ-1"})
    assert unknown.status_code == 404
    body = page(client, "/staff/lending/audit")
    assert "3 devices not seen yet" in body and "LT-002" in body


def test_a_name_that_matches_several_people_asks_to_choose_one(client, auth, stocked):
    token = auth()
    with database.connection_context():
        borrower("Jan P.")
        chosen = borrower("Jan V.")
        from appliance.lending.reservations import reserve

        reserve(chosen, "laptop", NOW.date(), NOW)
    response = lend(client, token, borrower="Jan")
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "Several people match" in body
    assert "Jan P." in body and f'value="{chosen.id}"' in body
    assert "Waiting for this kind of device: Jan V." in body
    assert lend(client, token, borrower="", member_id=str(chosen.id)).status_code == 302
    with database.connection_context():
        assert Loan.get().borrower_id == chosen.id
        assert Reservation.get().state == "done"  # the waiting-list place is fulfilled


def test_a_coordinator_adds_and_edits_a_device_and_bad_values_are_kept(client, auth, db):
    token = auth("coordinator")
    added = client.post(
        "/staff/lending/devices/new",
        data={
            "csrf_token": token,
            "tag": "hs-01",
            "kind": "headset",
            "condition": "good",
            "model": "Jabra",
        },
    )
    assert added.status_code == 302 and Device.get(Device.tag == "HS-01").model == "Jabra"
    twice = client.post(
        "/staff/lending/devices/new",
        data={
            "csrf_token": token,
            "tag": "HS-01",
            "kind": "headset",
            "condition": "good",
            "model": "Other",
        },
    )
    assert twice.status_code == 400 and "already has the tag" in twice.get_data(as_text=True)
    bad = client.post(
        "/staff/lending/devices/HS-01/edit",
        data={
            "csrf_token": token,
            "kind": "headset",
            "condition": "good",
            "model": "Jabra Evolve",
            "accessories": "charger|<script>",
        },
    )
    body = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "Jabra Evolve" in body and "<script>" not in body
    edited = client.post(
        "/staff/lending/devices/HS-01/edit",
        data={
            "csrf_token": token,
            "kind": "headset",
            "condition": "worn",
            "model": "Jabra Evolve",
            "accessories": "cable",
            "owner": "Région",
            "acquired_on": "2024-02-29",
        },
    )
    assert edited.status_code == 302
    device = Device.get(Device.tag == "HS-01")
    assert (device.model, device.condition, device.accessories) == ("Jabra Evolve", "worn", "cable")
    assert device.owned_from.isoformat() == "2028-02-29"  # four years later, a leap year too


def test_a_refused_check_in_keeps_the_notes_and_changes_nothing(client, auth, stocked):
    token = auth()
    lend(client, token)
    response = take_back(client, token, condition="shiny", notes="coin cassé")
    assert response.status_code == 400 and "coin cassé" in response.get_data(as_text=True)
    too_long = lend(client, token, tag="LT-002", borrower="x" * 500)
    assert too_long.status_code == 400
    with database.connection_context():
        assert Loan.get().state == "open" and get_device("LT-001").status == "on_loan"
        assert get_device("LT-002").status == "available"


def test_the_identity_document_seen_at_the_desk_is_recorded_with_who_saw_it(client, auth, stocked):
    token = auth()
    assert lend(client, token, id_seen="y").status_code == 302
    with database.connection_context():
        member = Member.get(Member.display_name == "Mme Diallo")
        assert member.id_seen and member.id_seen_by.username == "mehdi"
