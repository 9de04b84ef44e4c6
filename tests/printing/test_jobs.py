"""Held jobs with the fake CUPS: release by code or for a member, quotas, charge only on
completion, refunds on failure, stop or cancel, expiry, and one charge for two releases."""

import threading
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from appliance.db import database
from appliance.errors import InvalidInput
from appliance.hardware.printing import ABORTED, CANCELED, COMPLETED, PENDING
from appliance.members import create_member
from appliance.models import PrintJob, PrintLedgerEntry
from appliance.period import Period
from appliance.printing import erase_member, export_member, figures, purge_names
from appliance.printing.jobs import cancel, discover, release, release_code, sync, units_for, upload
from appliance.printing.quotas import grant, member_balance, set_allowance
from tests.printing.conftest import NOW, QUEUE, make_pdf, printing_config

pytestmark = pytest.mark.usefixtures("db")
WEEK = str(Period.containing(NOW.date(), "week"))


def _upload(fake, config, pages=3, **options):  # type: ignore[no-untyped-def]
    defaults = {"filename": "cv.pdf", "copies": 1, "colour": False, "duplex": False}
    return upload(fake, config, make_pdf(pages), **{**defaults, **options})


def _ledger(job) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    return [(e.kind, e.units) for e in PrintLedgerEntry.select().where(PrintLedgerEntry.job == job.id)
            .order_by(PrintLedgerEntry.id)]


def _member(category="visitor"):  # type: ignore[no-untyped-def]
    return create_member("Amina", "", "fr", category, True, None, NOW.date())


def test_a_guest_releases_by_code_and_is_charged_exactly_its_pages_once_cups_completes(fake, config):
    job = _upload(fake, config, pages=3)
    assert job.state == "held" and fake.job(job.cups_job_id).state == 4
    [done] = release_code(fake, config, job.code.lower(), NOW)
    assert done.job.state == "released" and not done.waiting
    assert _ledger(job) == [("reserve", 3)]
    assert sync(fake, config, NOW)["charge"] == 1
    assert PrintJob.get_by_id(job.id).state == "charged"
    assert _ledger(job) == [("reserve", 3), ("charge", 3)]
    assert sync(fake, config, NOW)["charge"] == 0  # a second pass charges nothing more


def test_a_job_over_the_guest_quota_is_refused_with_the_pages_left_and_nothing_is_written(fake, config):
    job = _upload(fake, config, pages=6)
    with pytest.raises(InvalidInput) as error:
        release_code(fake, config, job.code, NOW)
    assert "needs 6, 5 left" in str(error.value)
    assert PrintJob.get_by_id(job.id).state == "held"
    assert PrintLedgerEntry.select().count() == 0
    assert fake.job(job.cups_job_id).state == 4


def test_jobs_under_one_code_share_the_guest_allowance(fake, config):
    first = _upload(fake, config, pages=3)
    _upload(fake, config, pages=3, code=first.code)
    with pytest.raises(InvalidInput) as error:
        release_code(fake, config, first.code, NOW)
    assert "needs 3, 2 left" in str(error.value)
    assert [j.state for j in PrintJob.select().order_by(PrintJob.id)] == ["released", "held"]


def test_a_member_quota_follows_the_category_and_staff_top_ups_with_a_reason(fake, config):
    trainee = _member("trainee")
    assert member_balance(trainee, WEEK, config.printing).left(False) == 50
    visitor = _member()
    job = _upload(fake, config, pages=20, copies=2)
    with pytest.raises(InvalidInput) as error:
        release(fake, config, job.id, NOW, member=visitor)
    assert "needs 40, 20 left" in str(error.value)
    with pytest.raises(InvalidInput):
        grant(visitor, WEEK, False, 20, "  ", None)  # a reason is required
    grant(visitor, WEEK, False, 20, "job applications this week", None)
    assert release(fake, config, job.id, NOW, member=visitor).job.member.id == visitor.id
    assert member_balance(visitor, WEEK, config.printing).left(False) == 0
    set_allowance(visitor, WEEK, True, 0, "no colour for now", None, config.printing)
    assert member_balance(visitor, WEEK, config.printing).colour_allowed == 0


def test_duplex_counts_sheets_or_sides_as_configured():
    assert units_for(5, 2, True, "sheet") == 6
    assert units_for(5, 2, True, "side") == 10
    assert units_for(5, 2, False, "sheet") == 10


def test_a_job_aborted_by_the_printer_is_refunded(fake, config):
    fake.set_reasons(QUEUE, "broken")
    job = _upload(fake, config, pages=2)
    release_code(fake, config, job.code, NOW)
    assert fake.job(job.cups_job_id).state == ABORTED
    assert sync(fake, config, NOW)["refund"] == 1
    assert PrintJob.get_by_id(job.id).note == "aborted"
    assert _ledger(job) == [("reserve", 2), ("refund", 2)]
    assert release_code is not None and figures(Period.parse(WEEK))["print.refunds"] == 1


def test_on_a_stopped_printer_the_job_waits_then_is_cancelled_and_refunded(fake, config):
    fake.pause(QUEUE)
    job = _upload(fake, config, pages=2)
    [done] = release_code(fake, config, job.code, NOW)
    assert done.waiting and fake.job(job.cups_job_id).state == PENDING
    assert sync(fake, config, NOW)["refund"] == 0  # waiting, not yet too long
    later = NOW + timedelta(minutes=config.printing.stalled_minutes + 1)
    assert sync(fake, config, later)["refund"] == 1
    assert fake.job(job.cups_job_id).state == CANCELED
    assert _ledger(job) == [("reserve", 2), ("refund", 2)]
    fake.resume(QUEUE)
    assert sync(fake, config, later)["charge"] == 0


def test_a_paused_printer_resumed_in_time_prints_and_charges(fake, config):
    fake.pause(QUEUE)
    job = _upload(fake, config, pages=2)
    release_code(fake, config, job.code, NOW)
    fake.resume(QUEUE)
    assert fake.job(job.cups_job_id).state == COMPLETED
    assert sync(fake, config, NOW)["charge"] == 1


def test_staff_cancel_a_held_job_and_a_released_one_is_refunded(fake, config):
    held = _upload(fake, config, pages=1)
    assert cancel(fake, config, held.id, NOW).state == "cancelled"
    assert fake.job(held.cups_job_id).state == CANCELED
    fake.pause(QUEUE)
    waiting = _upload(fake, config, pages=1)
    release_code(fake, config, waiting.code, NOW)
    assert cancel(fake, config, waiting.id, NOW).state == "refunded"
    with pytest.raises(InvalidInput):
        cancel(fake, config, waiting.id, NOW)


def test_a_held_job_expires_after_the_hold_time(fake, config):
    job = _upload(fake, config, pages=1)  # submitted now, by the real clock
    now = datetime.now(config.tz).replace(tzinfo=None)
    assert sync(fake, config, now)["expired"] == 0
    assert sync(fake, config, now + timedelta(hours=config.printing.hold_hours + 1))["expired"] == 1
    assert PrintJob.get_by_id(job.id).state == "expired"
    assert fake.job(job.cups_job_id).state == CANCELED


def test_jobs_held_from_one_computer_are_found_counted_and_share_a_code(fake, config, tmp_path: Path):
    document = tmp_path / "letter.pdf"
    document.write_bytes(make_pdf(4))
    junk = tmp_path / "photo.jpg"
    junk.write_bytes(b"\xff\xd8\xff not a document")
    fake.submit(QUEUE, document, "letter.pdf", 2, {"sides": "two-sided-long-edge"}, host="pc-03")
    fake.submit(QUEUE, document, "letter again.pdf", 1, host="pc-03")
    bad = fake.submit(QUEUE, junk, "photo.jpg", 1, host="pc-04")
    assert discover(fake, config) == 3
    first, second = PrintJob.select().where(PrintJob.host == "pc-03").order_by(PrintJob.id)
    assert (first.pages, first.copies, first.duplex, first.units) == (4, 2, True, 8)
    assert first.code == second.code
    assert PrintJob.get(PrintJob.cups_job_id == bad).state == "cancelled"
    assert fake.job(bad).state == CANCELED
    assert discover(fake, config) == 0


def test_bad_uploads_are_refused_and_nothing_is_queued_or_charged(fake, config):
    for data, words in ((b"hello", "Only PDF"), (make_pdf(2)[:150], "damaged"), (make_pdf(101), "101 pages")):
        with pytest.raises(InvalidInput) as error:
            upload(fake, config, data, "x.pdf", 1, False, False)
        assert words in str(error.value)
    with pytest.raises(InvalidInput) as error:
        upload(fake, config, b"%PDF-" + b"0" * (config.server.max_upload_kb * 1024), "big.pdf", 1, False, False)
    assert "too large" in str(error.value)
    with pytest.raises(InvalidInput):
        _upload(fake, config, pages=60, copies=2)  # 120 pages in all
    assert fake.held_jobs() == [] and PrintJob.select().count() == 0


def test_two_releases_of_one_job_at_once_reserve_and_charge_once(fake, data_dir: Path):
    config = printing_config(data_dir)
    job = _upload(fake, config, pages=3)
    database.close()  # each thread opens its own connection
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def release_it() -> None:
        with database.connection_context():
            barrier.wait()
            try:
                release(fake, config, job.id, NOW)
                outcomes.append("released")
            except InvalidInput as error:
                outcomes.append(str(error))

    threads = [threading.Thread(target=release_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    database.connect(reuse_if_open=True)
    assert sorted(outcomes) == ["This job was already released or cancelled.", "released"]
    sync(fake, config, NOW)
    assert _ledger(job) == [("reserve", 3), ("charge", 3)]


def test_figures_count_charged_pages_by_colour_jobs_and_refunds(fake, config):
    member = _member("partner")
    bw = _upload(fake, config, pages=3)
    colour = _upload(fake, config, pages=2, colour=True)
    release(fake, config, bw.id, NOW, member=member)
    release(fake, config, colour.id, NOW, member=member)
    sync(fake, config, NOW)
    week = figures(Period.parse(WEEK))
    assert week == {"print.pages.bw": 3, "print.pages.colour": 2, "print.jobs": 2, "print.refunds": 0,
                    "print.price_cents": 0}
    assert figures(Period.parse(WEEK).next())["print.jobs"] == 0


def test_a_members_printing_data_is_exported_erased_and_document_names_expire(fake, config):
    member = _member()
    job = _upload(fake, config, pages=1, filename="my CV.pdf")
    release(fake, config, job.id, NOW, member=member)
    grant(member, WEEK, False, 5, "workshop", None)
    exported = export_member(member)
    assert exported["jobs"][0]["document"] == "my CV.pdf" and exported["quota_grants"][0]["pages"] == 5
    assert erase_member(member) == 2
    assert export_member(member) == {"jobs": [], "quota_grants": [], "ledger": []}
    assert PrintJob.get_by_id(job.id).title == ""
    other = _upload(fake, config, pages=1, filename="letter.pdf")
    assert purge_names(date.today() + timedelta(days=8), days=7) == 1
    assert PrintJob.get_by_id(other.id).title == ""


def test_an_appliance_that_never_printed_reports_no_printing_figures(fake, config):
    assert figures(Period.parse(WEEK)) == {}
    _upload(fake, config, pages=1)
    assert figures(Period.parse(WEEK))["print.jobs"] == 0


def test_a_job_whose_document_cups_withholds_is_left_held_for_the_next_pass(fake, config, tmp_path: Path):
    document = tmp_path / "gone.pdf"
    document.write_bytes(make_pdf(1))
    cups_id = fake.submit(QUEUE, document, "gone.pdf", 1, host="pc-01")
    document.unlink()  # the fake now answers "no document", as CUPS does without the rights
    assert discover(fake, config) == 0
    assert fake.job(cups_id).state == 4 and PrintJob.select().count() == 0
