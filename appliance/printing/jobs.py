"""Held jobs and their life: held -> released (pages reserved) -> charged or refunded;
a held job may instead be cancelled or expire.

CUPS's job state decides: pages are charged only when CUPS says the job completed, and
refunded when it was cancelled, aborted, vanished, or waited too long on a stopped
printer. Each move is a conditional UPDATE on the job's state inside one transaction
with its ledger entry, so two releases (or a release and a sync) never charge twice.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from appliance.config import Config, PrintingConfig
from appliance.db import database
from appliance.errors import N_, InvalidInput, NotFound
from appliance.hardware.printing import (
    ABORTED,
    CANCELED,
    COMPLETED,
    FINISHED,
    PROCESSING,
    CupsJob,
    PrintSystem,
    PrintSystemError,
)
from appliance.models import Member, PrintJob, PrintLedgerEntry, utcnow
from appliance.printing.pages import count_pages
from appliance.printing.quotas import Balance, guest_balance, member_balance, quota_period

log = logging.getLogger("appliance.printing")
CODE_ALPHABET = "ACDEFHJKMNPRTUVWXY34679"  # no 0/O, 1/I/L, 2/Z, 5/S, 8/B
CODE_LENGTH = 6
MAX_COPIES = 20
OPEN_STATES = ("held", "released")


@dataclass(frozen=True)
class Released:
    job: PrintJob
    waiting: bool  # the printer is stopped: the job waits (refunded if it waits too long)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    return "".join(c for c in (text or "").upper() if c.isalnum())[:CODE_LENGTH]


def units_for(pages: int, copies: int, duplex: bool, charge_by: str) -> int:
    """Sides, or sheets when charged per sheet (a two-sided sheet counts once)."""
    per_copy = (pages + 1) // 2 if duplex and charge_by == "sheet" else pages
    return per_copy * copies


def is_public(printer: str, settings: PrintingConfig) -> bool:
    return not settings.public_queues or printer in settings.public_queues


def upload_queue(settings: PrintingConfig) -> str:
    if settings.upload_queue:
        return settings.upload_queue
    return settings.public_queues[0] if settings.public_queues else ""


def price_of(units: int, colour: bool, settings: PrintingConfig) -> int:
    return units * (settings.price_colour_cents if colour else settings.price_bw_cents)


def _utc(now: datetime, config: Config) -> datetime:
    """Local `now` (naive) as the naive UTC the models store."""
    return now.replace(tzinfo=config.tz).astimezone(timezone.utc).replace(tzinfo=None)


def get_job(job_id: int) -> PrintJob:
    job = PrintJob.get_or_none(PrintJob.id == job_id)
    if job is None:
        raise NotFound(job_id)
    return job


def held_jobs(host: str | None = None, code: str | None = None) -> list[PrintJob]:
    query = PrintJob.select().where(PrintJob.state == "held")
    if host is not None:
        query = query.where(PrintJob.host == host)
    if code is not None:
        query = query.where(PrintJob.code == code)
    return list(query.order_by(PrintJob.submitted_at, PrintJob.id))


# --- New jobs: found held in CUPS, or uploaded on the portal ---------------------------


def _code_for_host(host: str) -> str:
    """Jobs held from one computer share a code, so a visitor releases them together."""
    if host and host not in ("localhost", "127.0.0.1", "::1"):
        earlier = PrintJob.get_or_none((PrintJob.host == host) & (PrintJob.state == "held"))
        if earlier is not None:
            return earlier.code
    return new_code()


def record_held(system: PrintSystem, config: Config, held: CupsJob) -> PrintJob | None:
    """Record a job found held on a public queue, with its pages counted from its document.
    A job that cannot be counted (not PDF or PostScript, damaged, too long) is cancelled."""
    settings = config.printing
    try:
        data = system.document(held.job_id)
    except PrintSystemError as error:  # CUPS withheld the document: try again at the next pass
        log.warning("job %s: document not readable (%s)", held.job_id, error)
        return None
    try:
        pages, note = count_pages(data, settings.max_pages).pages, ""
    except InvalidInput as problem:
        pages, note = 0, "uncountable"
        log.info("job %s cancelled: its pages cannot be counted (%s)", held.job_id, problem.message)
    copies = min(max(held.copies, 1), MAX_COPIES)
    duplex = held.sides.startswith("two-sided")
    with database.atomic():
        if PrintJob.get_or_none(PrintJob.cups_job_id == held.job_id) is not None:
            return None
        job = PrintJob.create(
            cups_job_id=held.job_id, printer=held.printer, title=held.title[:120], host=held.host[:120],
            source="cups", code=_code_for_host(held.host), pages=pages, copies=copies, duplex=duplex,
            colour=held.colour_mode == "color", units=units_for(pages, copies, duplex, settings.charge_by),
            state="held" if not note else "cancelled", cups_state=held.state, note=note,
            submitted_at=held.submitted_at, finished_at=utcnow() if note else None,
        )
    if note:
        _cancel_quietly(system, held.job_id)
    return job


def discover(system: PrintSystem, config: Config) -> int:
    """Record the jobs newly held on the public queues; return how many."""
    known = {row.cups_job_id for row in PrintJob.select(PrintJob.cups_job_id).where(PrintJob.state == "held")}
    found = 0
    for held in system.held_jobs():
        if held.job_id in known or not is_public(held.printer, config.printing):
            continue
        if record_held(system, config, held) is not None:
            found += 1
    return found


def _check_copies(copies: int) -> int:
    if not 1 <= copies <= MAX_COPIES:
        raise InvalidInput("copies", N_("Choose between 1 and %(n)s copies."), n=MAX_COPIES)
    return copies


def upload(system: PrintSystem, config: Config, data: bytes, filename: str, copies: int,
           colour: bool, duplex: bool, code: str | None = None, host: str = "") -> PrintJob:
    """Send an uploaded document to the upload queue, held; nothing is reserved yet."""
    settings = config.printing
    _check_copies(copies)
    limit = config.server.max_upload_kb * 1024
    if len(data) > limit:
        raise InvalidInput("file", N_("The file is too large: at most %(kb)s kB."), kb=config.server.max_upload_kb)
    document = count_pages(data, settings.max_pages)
    if document.pages * copies > settings.max_pages:
        raise InvalidInput("copies", N_("At most %(max)s pages in all; choose fewer copies."), max=settings.max_pages)
    queue = upload_queue(settings)
    if not queue:
        raise InvalidInput("file", N_("No printer takes documents from phones here."))
    title = Path(filename or "document.pdf").name[:120] or "document.pdf"
    options = {"sides": "two-sided-long-edge" if duplex else "one-sided",
               "print-color-mode": "color" if colour else "monochrome"}
    with tempfile.NamedTemporaryFile(suffix="." + ("pdf" if document.kind == "pdf" else "ps")) as handle:
        handle.write(data)
        handle.flush()
        try:
            cups_id = system.submit(queue, Path(handle.name), title, copies, options, hold=True)
        except PrintSystemError as error:
            log.warning("upload not queued: %s", error)
            raise InvalidInput("file", N_("The printer is not available; nothing was printed.")) from None
    with database.atomic():
        existing = PrintJob.get_or_none(PrintJob.cups_job_id == cups_id)  # found by a sync meanwhile
        if existing is not None:
            existing.delete_instance()
        return PrintJob.create(
            cups_job_id=cups_id, printer=queue, title=title, host=host[:120], source="upload",
            code=normalise_code(code or "") or new_code(), pages=document.pages, copies=copies,
            duplex=duplex, colour=colour, units=units_for(document.pages, copies, duplex, settings.charge_by),
        )


# --- Release: check the quota, reserve, then let CUPS print ---------------------------


def _over_quota(job: PrintJob, balance: Balance) -> InvalidInput | None:
    left = balance.left(job.colour)
    if job.units <= left:
        return None
    if job.colour:
        return InvalidInput("quota", N_("Not enough colour pages left: this job needs %(need)s, %(left)s left."),
                            need=job.units, left=left)
    return InvalidInput("quota", N_("Not enough pages left: this job needs %(need)s, %(left)s left."),
                        need=job.units, left=left)


def _reserve(job_id: int, member: Member | None, config: Config, now: datetime) -> PrintJob:
    """In one write transaction: check the state and the quota, mark released, reserve."""
    settings = config.printing
    with database.atomic("IMMEDIATE"):
        job = get_job(job_id)
        if job.state != "held":
            raise InvalidInput("job", N_("This job was already released or cancelled."))
        period = quota_period(now.date(), settings)
        balance = member_balance(member, period, settings) if member else guest_balance(job.code, settings)
        refusal = _over_quota(job, balance)
        if refusal is not None:
            raise refusal
        changed = PrintJob.update(state="released", member=member, released_at=_utc(now, config)).where(
            (PrintJob.id == job.id) & (PrintJob.state == "held")).execute()
        if changed != 1:
            raise InvalidInput("job", N_("This job was already released or cancelled."))
        PrintLedgerEntry.create(job=job, member=member, kind="reserve", colour=job.colour, units=job.units,
                                price_cents=price_of(job.units, job.colour, settings), period=period,
                                day=now.date())
    return get_job(job_id)


def release(system: PrintSystem, config: Config, job_id: int, now: datetime,
            member: Member | None = None) -> Released:
    """Release one held job for `member` (or the guest holding its code), `now` local time.

    Refused, with nothing written, when the quota does not cover it or the printer is
    gone. On a stopped printer the job waits; the sync refunds it if it waits too long."""
    job = get_job(job_id)
    printer = system.printer(job.printer)
    if printer is None:
        raise InvalidInput("job", N_("The printer %(name)s is not available."), name=job.printer)
    job = _reserve(job_id, member, config, now)
    try:
        system.release(job.cups_job_id)
    except PrintSystemError as error:
        log.warning("release of job %s failed: %s", job.cups_job_id, error)
        _finish(job, "refund", "release_failed", config, now)
        raise InvalidInput("job", N_("The printer did not take the job; nothing was charged.")) from None
    return Released(get_job(job_id), waiting=printer.state == "stopped" or not printer.accepting)


def release_code(system: PrintSystem, config: Config, code: str, now: datetime) -> list[Released]:
    """A guest's release by code: every job held under it, within the guest allowance."""
    code = normalise_code(code)
    jobs = held_jobs(code=code) if len(code) == CODE_LENGTH else []
    if not jobs:
        raise InvalidInput("code", N_("No document waits under this code."))
    return [release(system, config, job.id, now) for job in jobs]


# --- Ends: charge, refund, cancel, expire ---------------------------------------------


def _finish(job: PrintJob, kind: str, note: str, config: Config, now: datetime, cups_state: int | None = None) -> bool:
    """released -> charged (kind charge) or refunded (kind refund), once."""
    state = "charged" if kind == "charge" else "refunded"
    with database.atomic("IMMEDIATE"):
        changed = PrintJob.update(
            state=state, note=note, finished_at=utcnow(),
            cups_state=cups_state if cups_state is not None else job.cups_state,
        ).where((PrintJob.id == job.id) & (PrintJob.state == "released")).execute()
        if changed != 1:
            return False
        reserve = PrintLedgerEntry.get((PrintLedgerEntry.job == job.id) & (PrintLedgerEntry.kind == "reserve"))
        PrintLedgerEntry.create(job=job.id, member=reserve.member, kind=kind, colour=reserve.colour,
                                units=reserve.units, price_cents=reserve.price_cents, period=reserve.period,
                                day=now.date())
    return True


def _cancel_quietly(system: PrintSystem, cups_job_id: int) -> None:
    try:
        system.cancel(cups_job_id)
    except PrintSystemError as error:
        log.info("cancel of job %s: %s", cups_job_id, error)


def cancel(system: PrintSystem, config: Config, job_id: int, now: datetime) -> PrintJob:
    """Staff cancel a held job (nothing was reserved) or a released one (refunded)."""
    job = get_job(job_id)
    if job.state not in OPEN_STATES:
        raise InvalidInput("job", N_("This job is already finished."))
    _cancel_quietly(system, job.cups_job_id)
    if job.state == "released":
        _finish(job, "refund", "cancelled", config, now, CANCELED)
    else:
        PrintJob.update(state="cancelled", note="staff", finished_at=utcnow(), cups_state=CANCELED).where(
            (PrintJob.id == job.id) & (PrintJob.state == "held")).execute()
    return get_job(job_id)


def _settle(system: PrintSystem, config: Config, job: PrintJob, now: datetime) -> str | None:
    """Charge or refund one released job from CUPS's own state; None while it goes on."""
    cups = system.job(job.cups_job_id)
    if cups is None:
        return "refund" if _finish(job, "refund", "missing", config, now) else None
    if cups.state == COMPLETED:
        return "charge" if _finish(job, "charge", "", config, now, COMPLETED) else None
    if cups.state in (CANCELED, ABORTED):
        note = "aborted" if cups.state == ABORTED else "cancelled"
        return "refund" if _finish(job, "refund", note, config, now, cups.state) else None
    waited = _utc(now, config) - (job.released_at or job.submitted_at)
    # A job still printing is left alone; one that waits (printer stopped) is not.
    if cups.state != PROCESSING and waited > timedelta(minutes=config.printing.stalled_minutes):
        _cancel_quietly(system, job.cups_job_id)
        return "refund" if _finish(job, "refund", "stalled", config, now, CANCELED) else None
    if cups.state != job.cups_state:
        PrintJob.update(cups_state=cups.state).where(PrintJob.id == job.id).execute()
    return None


def _tidy_held(system: PrintSystem, config: Config, job: PrintJob, now: datetime) -> str | None:
    """A held job cancelled outside the appliance, or held too long, is closed."""
    cups = system.job(job.cups_job_id)
    if cups is None or cups.state in FINISHED:
        PrintJob.update(state="cancelled", note="outside", finished_at=utcnow()).where(
            (PrintJob.id == job.id) & (PrintJob.state == "held")).execute()
        return "cancelled"
    if _utc(now, config) - job.submitted_at > timedelta(hours=config.printing.hold_hours):
        _cancel_quietly(system, job.cups_job_id)
        PrintJob.update(state="expired", note="expired", finished_at=utcnow(), cups_state=CANCELED).where(
            (PrintJob.id == job.id) & (PrintJob.state == "held")).execute()
        return "expired"
    return None


def sync(system: PrintSystem, config: Config, now: datetime) -> dict[str, int]:
    """The periodic pass: find new held jobs, settle released ones, expire old held ones."""
    counts = {"found": discover(system, config), "charge": 0, "refund": 0, "cancelled": 0, "expired": 0}
    for job in PrintJob.select().where(PrintJob.state == "released"):
        outcome = _settle(system, config, job, now)
        if outcome:
            counts[outcome] += 1
    for job in PrintJob.select().where(PrintJob.state == "held"):
        outcome = _tidy_held(system, config, job, now)
        if outcome:
            counts[outcome] += 1
    return counts
