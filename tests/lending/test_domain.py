"""The lending rules, called directly: inventory, check-out, check-in with the reset step,
renewals, reservations, overdue and lost, maintenance and the audit walk."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from appliance.config import LendingConfig
from appliance.errors import InvalidInput
from appliance.lending import loans, maintenance, reservations
from appliance.lending.inventory import (
    InventoryFileError,
    export_inventory,
    find_device,
    get_device,
    normalise_tag,
    parse_inventory,
)
from appliance.models import Device, LendingTermsAcceptance, Loan, MaintenanceRecord
from tests.lending.conftest import CONFIG, NOW, TODAY, borrower


def lend(lending, tag="LT-001", member=None, kind="home", **options):  # type: ignore[no-untyped-def]
    return loans.check_out(
        tag,
        member or lending["member"],
        kind,
        lending["staff"],
        NOW,
        accept_terms=True,
        config=options.pop("config", CONFIG),
        **options,
    )


def give_back(lending, tag="LT-001", reset=True, **options):  # type: ignore[no-untyped-def]
    defaults = {
        "accessories_back": ["charger", "sleeve"],
        "condition": "good",
        "wiped": reset,
        "signed_out": reset,
    }
    defaults.update(options)
    return loans.check_in(tag, lending["staff"], NOW + timedelta(days=2), **defaults)


def test_the_import_reads_every_column_and_computes_when_the_property_passes(lending):
    device = get_device("lt-001")
    assert (device.kind, device.model, device.accessories) == (
        "laptop",
        "Lenovo T14",
        "charger|sleeve",
    )
    assert device.owned_from == date(2029, 3, 1)  # regional equipment: four years after purchase
    assert get_device("TB-001").condition == "new"


def test_a_file_with_bad_rows_reports_each_line_and_imports_nothing(db):
    data = (
        b"tag,kind,model,acquired_on,condition\n"
        b"OK-1,laptop,Fine,2025-01-01,good\n"
        b"OK-2,toaster,Nope,,good\n"
        b",laptop,No tag,,good\n"
        b"OK-3,tablet,,31/12/2025,good\n"
        b"OK-1,tablet,,,good\n"
        b"OK-4,tablet,,,shiny\n"
    )
    with pytest.raises(InventoryFileError) as problem:
        parse_inventory(data)
    assert [e.line for e in problem.value.errors] == [3, 4, 5, 6, 7]
    assert "toaster" in str(problem.value.errors[0]) and "line 6" in str(problem.value.errors[3])
    assert Device.select().count() == 0


def test_an_unknown_column_or_a_missing_header_is_refused(db):
    for data in (b"tag,kind,colour\nA,laptop,red\n", b"LT-9,laptop\n", b""):
        with pytest.raises(InventoryFileError) as problem:
            parse_inventory(data)
        assert problem.value.errors[0].line == 1


def test_export_then_import_gives_the_same_inventory(lending):
    exported = export_inventory()
    assert exported.splitlines()[0].endswith(",status")
    rows = parse_inventory(exported.encode())
    assert [row["tag"] for row in rows] == ["BR-001", "LT-001", "LT-002", "TB-001"]


def test_a_scanned_qr_address_or_lower_case_tag_finds_the_device(lending):
    assert normalise_tag("http://epn.local/staff/lending/devices/lt-002") == "LT-002"
    assert find_device(" tb-001 ").tag == "TB-001"
    with pytest.raises(InvalidInput, match="No device has the tag NOPE"):
        find_device("nope")


def test_check_out_computes_the_due_date_from_the_kind_and_records_the_terms(lending):
    loan = lend(lending)
    assert loan.due_at == datetime(2026, 12, 1, 23, 59)  # 14 days for a laptop
    assert get_device("LT-001").status == "on_loan"
    assert (
        LendingTermsAcceptance.get(LendingTermsAcceptance.member == lending["member"]).accepted_on
        == TODAY
    )
    onsite = lend(lending, "TB-001", member=borrower("Jan"), kind="onsite")
    assert onsite.due_at == NOW + timedelta(hours=3)


def test_the_terms_must_be_accepted_at_the_first_loan(lending):
    with pytest.raises(InvalidInput) as error:
        loans.check_out("LT-001", lending["member"], "home", None, NOW, config=CONFIG)
    assert error.value.field == "accept_terms"
    assert get_device("LT-001").status == "available"


def test_a_device_on_loan_cannot_be_lent_again(lending):
    lend(lending)
    with pytest.raises(loans.DeviceUnavailable, match="already on loan"):
        lend(lending, member=borrower("Jan"))
    assert Loan.select().count() == 1


def test_a_borrower_over_their_limit_is_refused_but_a_partner_may_borrow_a_group(lending):
    lend(lending)
    with pytest.raises(InvalidInput, match="most allowed"):
        lend(lending, "LT-002")
    school = borrower("École 12", category="partner")
    for tag in ("LT-002", "TB-001"):
        assert lend(lending, tag, member=school, kind="group").due_at.date() == TODAY + timedelta(
            days=3
        )
    with pytest.raises(InvalidInput, match="partner organisations only"):
        lend(lending, "BR-001", member=borrower("Jan"), kind="group")


def test_a_due_date_in_the_past_is_refused(lending):
    with pytest.raises(InvalidInput, match="in the past"):
        lend(lending, due_day=TODAY - timedelta(days=1))
    assert lend(lending, due_day=TODAY + timedelta(days=3)).due_at.date() == TODAY + timedelta(
        days=3
    )


def test_a_returned_device_without_a_recorded_reset_cannot_be_lent(lending):
    lend(lending)
    back = give_back(lending, reset=False)
    assert not back.reset and get_device("LT-001").status == "to_reset"
    with pytest.raises(loans.DeviceUnavailable, match="reset"):
        lend(lending, member=borrower("Jan"))
    with pytest.raises(InvalidInput):
        loans.record_reset("LT-001", True, False, lending["staff"], NOW)  # one step is not enough
    device = loans.record_reset("LT-001", True, True, lending["staff"], NOW + timedelta(days=2))
    assert device.status == "available" and device.resets[0].done_by.username == "mehdi"
    assert lend(lending, member=borrower("Jan")).state == "open"


def test_the_reset_gate_holds_even_if_the_status_were_forced_to_available(lending):
    lend(lending)
    give_back(lending, reset=False)
    Device.update(status="available").where(Device.tag == "LT-001").execute()
    with pytest.raises(loans.DeviceUnavailable):
        lend(lending, member=borrower("Jan"))


def test_check_in_with_a_missing_charger_opens_a_maintenance_record(lending):
    lend(lending)
    back = give_back(lending, accessories_back=["sleeve"])
    assert back.missing == ["charger"]
    assert back.maintenance.kind == "missing"
    assert get_device("LT-001").status == "maintenance"
    maintenance.close_record(back.maintenance.id, NOW + timedelta(days=3))
    assert get_device("LT-001").status == "to_reset"


def test_damage_opens_a_maintenance_record_and_returning_a_device_not_on_loan_is_refused(lending):
    lend(lending)
    back = give_back(lending, condition="damaged", notes="écran fissuré")
    assert back.maintenance.kind == "damage" and "fissuré" in back.maintenance.note
    with pytest.raises(InvalidInput, match="not on loan"):
        give_back(lending)
    with pytest.raises(InvalidInput, match="not on loan"):
        give_back(lending, "TB-001")


def test_renewal_extends_once_and_not_when_someone_else_reserved_the_device(lending):
    loan = lend(lending)
    renewed = loans.renew(loan.id, NOW + timedelta(days=1), CONFIG)
    assert renewed.due_at == datetime(2026, 12, 15, 23, 59) and renewed.renewals == 1
    with pytest.raises(InvalidInput, match="again"):
        loans.renew(loan.id, NOW, CONFIG)
    other = lend(lending, "LT-002", member=borrower("Jan"))
    reservations.reserve(
        borrower("Ahmed"), "laptop", TODAY, NOW, tag="LT-002", for_day=TODAY + timedelta(days=20)
    )
    with pytest.raises(InvalidInput, match="reserved"):
        loans.renew(other.id, NOW, LendingConfig(renewals=3))


def test_a_device_reserved_for_today_goes_only_to_its_borrower(lending):
    ahmed = borrower("Ahmed")
    reservation = reservations.reserve(ahmed, "", TODAY, NOW, tag="TB-001", for_day=TODAY)
    assert get_device("TB-001").status == "reserved"
    with pytest.raises(loans.DeviceUnavailable, match="reserved"):
        lend(lending, "TB-001")
    lend(lending, "TB-001", member=ahmed)
    assert reservation.__class__.get_by_id(reservation.id).state == "done"


def test_the_waiting_list_keeps_arrival_order_and_refuses_a_past_day(lending):
    first, second = borrower("A"), borrower("B")
    reservations.reserve(second, "tablet", TODAY, NOW + timedelta(minutes=1))
    reservations.reserve(first, "braille_keyboard", TODAY, NOW)
    reservations.reserve(first, "tablet", TODAY, NOW + timedelta(minutes=2))
    assert [r.member.display_name for r in reservations.waiting_list("tablet")] == ["B", "A"]
    with pytest.raises(InvalidInput, match="past"):
        reservations.reserve(first, "laptop", TODAY, NOW, for_day=TODAY - timedelta(days=1))


def test_overdue_loans_are_sorted_by_days_late_and_escalate_to_lost(lending):
    lend(lending, due_day=TODAY)
    lend(lending, "TB-001", member=borrower("Jan"), due_day=TODAY + timedelta(days=2))
    later = NOW + timedelta(days=10)
    assert [(o.loan.device.tag, o.days_late) for o in loans.overdue_loans(later)] == [
        ("LT-001", 10),
        ("TB-001", 8),
    ]
    assert loans.escalate_lost(later, LendingConfig(lost_after_days=9)) == 1
    assert get_device("LT-001").status == "lost"
    assert MaintenanceRecord.get(MaintenanceRecord.kind == "loss").device.tag == "LT-001"
    back = give_back(lending, "LT-001")  # found again
    assert back.loan.state == "returned" and get_device("LT-001").status == "available"


def test_the_audit_lists_what_was_not_seen(lending):
    lend(lending)
    audit = maintenance.start_audit(lending["staff"], NOW)
    maintenance.scan("lt-002", NOW + timedelta(minutes=1))
    maintenance.scan("http://x/staff/lending/devices/TB-001", NOW + timedelta(minutes=2))
    assert [d.tag for d in maintenance.not_seen(audit)] == ["BR-001"]  # LT-001 is on loan
    with pytest.raises(InvalidInput):
        maintenance.scan("ZZ-404", NOW)


def test_an_open_maintenance_record_takes_the_device_out_of_lending(lending):
    record = maintenance.add_record(
        "LT-002", "battery", "battery swollen", True, lending["staff"], NOW
    )
    with pytest.raises(loans.DeviceUnavailable, match="maintenance"):
        lend(lending, "LT-002")
    maintenance.add_record("LT-002", "battery", "replaced", False, lending["staff"], NOW)
    maintenance.close_record(record.id, NOW)
    loans.record_reset("LT-002", True, True, lending["staff"], NOW)
    assert lend(lending, "LT-002").state == "open"


def test_a_device_reserved_for_a_later_day_is_not_lent_past_that_day(lending):
    reservations.reserve(
        borrower("Ahmed"), "", TODAY, NOW, tag="LT-002", for_day=TODAY + timedelta(days=5)
    )
    assert get_device("LT-002").status == "available"
    with pytest.raises(loans.DeviceUnavailable, match="earlier due date"):
        lend(lending, "LT-002")  # 14 days would run past the reserved day
    assert lend(lending, "LT-002", due_day=TODAY + timedelta(days=4)).state == "open"
