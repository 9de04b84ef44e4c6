"""Printing against a real CUPS: a private cupsd whose queues print to files.

A job sent with `lp` (as an EPN computer does) is held, found with its pages counted from
the document CUPS spooled, released by code and charged exactly its pages once CUPS says
completed; a stopped queue, a failing device and a quota are shown on the real thing."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

import pytest

from appliance.errors import InvalidInput
from appliance.hardware.printing import ABORTED, CANCELED, COMPLETED, HELD, PENDING, STOPPED, CupsPrintSystem
from appliance.models import PrintJob, PrintLedgerEntry
from appliance.printing.jobs import release_code, sync, upload
from appliance.printing.printers import add_printer, list_printers, pause, resume, status_of
from tests.printing.conftest import make_pdf, printing_config
from tests.printing.cupsd import PrivateCups, missing

MISSING = missing()
pytestmark = [pytest.mark.system, pytest.mark.skipif(MISSING is not None, reason=str(MISSING))]
PUBLIC = "epn-public"
FAILING = "epn-failing"


@pytest.fixture(scope="module")
def cups() -> Iterator[PrivateCups]:
    server = PrivateCups()
    try:
        server.add_queue(PUBLIC)
        # A device that cannot be written: the job aborts (instead of stopping the queue).
        server.add_queue(FAILING, device="file:///nonexistent-epn-dir/out.prn")
        server.run("lpadmin", "-p", FAILING, "-o", "printer-error-policy=abort-job")
        yield server
    finally:
        server.stop()


@pytest.fixture
def system(cups: PrivateCups, db) -> Iterator[CupsPrintSystem]:  # type: ignore[no-untyped-def]
    yield CupsPrintSystem(cups.server)
    cups.run("cancel", "-a")  # no job left for the next test's database
    cups.run("cupsenable", PUBLIC)


@pytest.fixture
def config(data_dir: Path, cups: PrivateCups):  # type: ignore[no-untyped-def]
    return printing_config(data_dir, backend="cups", cups_server=cups.server,
                           public_queues=[PUBLIC, FAILING], guest_bw=5)


def _now(config) -> datetime:  # type: ignore[no-untyped-def]
    return datetime.now(config.tz).replace(tzinfo=None)


def _lp(cups: PrivateCups, tmp_path: Path, pages: int, queue: str = PUBLIC) -> int:
    document = tmp_path / f"doc-{pages}.pdf"
    document.write_bytes(make_pdf(pages))
    output = cups.run("lp", "-d", queue, "-t", "CV Amina.pdf", str(document))
    return int(output.split("-")[-1].split()[0])


def _wait_for(system: CupsPrintSystem, job_id: int, states: set[int]) -> int:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        state = system.job(job_id).state
        if state in states:
            return state
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} stayed in state {state}")


def _ledger() -> list[tuple[str, int]]:
    return [(e.kind, e.units) for e in PrintLedgerEntry.select().order_by(PrintLedgerEntry.id)]


def test_a_held_job_is_released_by_code_and_charged_exactly_its_pages(cups, system, config, tmp_path):
    out = cups.root / "out" / f"{PUBLIC}.prn"
    cups_id = _lp(cups, tmp_path, 3)
    assert system.job(cups_id).state == HELD  # the queue holds everything sent to it
    assert sync(system, config, _now(config))["found"] == 1
    job = PrintJob.get(PrintJob.cups_job_id == cups_id)
    assert (job.pages, job.units, job.title, job.state) == (3, 3, "CV Amina.pdf", "held")
    [released] = release_code(system, config, job.code, _now(config))
    assert not released.waiting
    assert _wait_for(system, cups_id, {COMPLETED, ABORTED, CANCELED}) == COMPLETED
    assert out.exists() and b"%PDF" in out.read_bytes()  # the device got the document
    assert sync(system, config, _now(config))["charge"] == 1
    assert _ledger() == [("reserve", 3), ("charge", 3)]
    assert PrintJob.get_by_id(job.id).state == "charged"


def test_a_stopped_queue_at_release_keeps_the_job_waiting_then_refunds_it(cups, system, config, tmp_path):
    cups_id = _lp(cups, tmp_path, 2)
    sync(system, config, _now(config))
    job = PrintJob.get(PrintJob.cups_job_id == cups_id)
    cups.run("cupsdisable", "-r", "unplugged", PUBLIC)
    [released] = release_code(system, config, job.code, _now(config))
    assert released.waiting
    time.sleep(0.5)
    assert system.job(cups_id).state == PENDING  # released in CUPS, not printed
    assert sync(system, config, _now(config))["refund"] == 0
    later = _now(config) + timedelta(minutes=config.printing.stalled_minutes + 1)
    assert sync(system, config, later)["refund"] == 1
    assert system.job(cups_id).state == CANCELED
    assert _ledger() == [("reserve", 2), ("refund", 2)]
    assert PrintJob.get_by_id(job.id).note == "stalled"


def test_a_job_the_printer_fails_is_refunded(cups, system, config, tmp_path):
    cups_id = _lp(cups, tmp_path, 2, queue=FAILING)
    sync(system, config, _now(config))
    job = PrintJob.get(PrintJob.cups_job_id == cups_id)
    release_code(system, config, job.code, _now(config))
    # The device fails: CUPS aborts the job or stops it (processing-stopped).
    state = _wait_for(system, cups_id, {COMPLETED, ABORTED, CANCELED, STOPPED})
    assert state in (ABORTED, CANCELED, STOPPED)
    later = _now(config) + timedelta(minutes=config.printing.stalled_minutes + 1)
    assert sync(system, config, later)["refund"] == 1
    assert system.job(cups_id).state in (ABORTED, CANCELED)
    assert _ledger() == [("reserve", 2), ("refund", 2)]


def test_a_job_over_the_guest_quota_is_refused_and_stays_held_in_cups(cups, system, config, tmp_path):
    cups_id = _lp(cups, tmp_path, 6)
    sync(system, config, _now(config))
    job = PrintJob.get(PrintJob.cups_job_id == cups_id)
    with pytest.raises(InvalidInput) as error:
        release_code(system, config, job.code, _now(config))
    assert "needs 6, 5 left" in str(error.value)
    assert system.job(cups_id).state == HELD
    assert _ledger() == []


def test_a_pdf_uploaded_from_a_phone_is_held_in_cups_then_printed(cups, system, config):
    job = upload(system, config, make_pdf(2), "ticket.pdf", 1, False, False)
    assert system.job(job.cups_job_id).state == HELD
    release_code(system, config, job.code, _now(config))
    assert _wait_for(system, job.cups_job_id, {COMPLETED, ABORTED, CANCELED}) == COMPLETED
    assert sync(system, config, _now(config)) == {"found": 0, "charge": 1, "refund": 0, "cancelled": 0,
                                                   "expired": 0}


def test_printers_are_listed_paused_resumed_and_added_by_uri(cups, system, config):
    assert {p.name for p in list_printers(system)} >= {PUBLIC, FAILING}
    pause(system, PUBLIC)
    assert status_of(system.printer(PUBLIC)) == "stopped" or system.printer(PUBLIC).state == "stopped"
    resume(system, PUBLIC)
    assert system.printer(PUBLIC).state == "idle"
    ppd = printing_config(config.data_dir, backend="cups", cups_server=cups.server,
                          driver="/usr/share/ppd/cupsfilters/Generic-PDF_Printer-PDF.ppd")
    add_printer(system, ppd, "office-laser", "socket://192.0.2.10:9100")
    added = system.printer("office-laser")
    assert added is not None and added.uri == "socket://192.0.2.10:9100"
    with pytest.raises(InvalidInput):
        add_printer(system, ppd, "office-laser", "socket://192.0.2.10:9100")  # exists already
    with pytest.raises(InvalidInput):
        add_printer(system, ppd, "bad name!", "socket://192.0.2.10:9100")


def test_cups_is_also_read_through_its_local_socket(cups, system, config, tmp_path):
    cups_id = _lp(cups, tmp_path, 1)
    local = CupsPrintSystem(cups.socket)
    assert PUBLIC in {p.name for p in local.list_printers()}
    [held] = [job for job in local.held_jobs() if job.job_id == cups_id]
    assert held.title == "CV Amina.pdf" and b"%PDF" in local.document(cups_id)[:1024]
