"""Demo data: a Brussels EPN with 16 computers, opening hours, two staff accounts and a
few weeks of visits. Made once; running it again changes nothing."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from pathlib import Path

from peewee import chunked

from appliance.accounts import create_user
from appliance.config import load_config, write_config_file
from appliance.db import database, init_database
from appliance.desk.schedule import add_closure, add_shift, set_weekly_hours
from appliance.desk.visits import PURPOSES, SERVICES
from appliance.members import create_member
from appliance.models import StaffUser, Visit

DEMO_ACCOUNTS = [
    ("sophie", "demo-coordination", "coordinator"),
    ("karim", "demo-mediation", "mediator"),
]
DEMO_SITE = {
    "name": "EPN Saint-Gilles (démo)",
    "commune": "21013",
    "postal_code": "1060",
    "computers": 16,
}
# Share of visits per purpose, in the order of PURPOSES (regional study, rounded).
PURPOSE_WEIGHTS = (22, 27, 18, 8, 25)


def _t(text: str) -> time:
    return time.fromisoformat(text)


WEEK = {
    0: [(_t("09:30"), _t("12:30")), (_t("13:30"), _t("17:00"))],
    1: [(_t("09:30"), _t("12:30")), (_t("13:30"), _t("17:00"))],
    2: [(_t("13:00"), _t("19:00"))],
    3: [(_t("09:30"), _t("12:30")), (_t("13:30"), _t("17:00"))],
    4: [(_t("09:30"), _t("12:30")), (_t("13:30"), _t("16:00"))],
    5: [(_t("10:00"), _t("13:00"))],
    6: [],
}


def seed_demo(
    data_dir: Path, today: date | None = None, weeks: int = 4, site: dict | None = None,
    seed: int = 1060,
) -> bool:
    """Create the demo data directory; False when it already holds demo data."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if not (data_dir / "config.yaml").exists():
        # A demo runs on a laptop whose clock is trusted; a Pi waits for NTP.
        write_config_file(data_dir, {"site": site or DEMO_SITE,
                                     "federation": {"require_clock_sync": False},
                                     "printing": {"backend": "fake", "public_queues": list(DEMO_PRINTERS)}})
    config = load_config(data_dir)
    init_database(config.database_path)
    today = today or datetime.now(config.tz).date()
    with database.connection_context():
        if StaffUser.select().exists():
            return False
        with database.atomic():
            _seed_everything(today, weeks, seed)
            _seed_printing(config, today)
    return True


def _seed_everything(today: date, weeks: int, seed: int) -> None:
    users = {
        username: create_user(username, password, role, username.capitalize())
        for username, password, role in DEMO_ACCOUNTS
    }
    set_weekly_hours(WEEK)
    for weekday, intervals in WEEK.items():
        for starts, ends in intervals:
            add_shift(weekday, starts, ends, users["karim"].id)
    add_shift(2, _t("13:00"), _t("19:00"), users["sophie"].id)
    add_shift(5, _t("10:00"), _t("13:00"), users["sophie"].id)
    add_closure(date(today.year, 12, 24), date(today.year + 1, 1, 1), "Congé d'hiver")
    _seed_visits(today, weeks, seed)
    _seed_survey(today, seed)
    _seed_help_queue(today)
    _seed_bookings(today, users)
    _seed_wifi(today, weeks, seed)
    for name, language in (("Mme Diallo", "fr"), ("Ahmed B.", "ar"), ("Jan P.", "nl")):
        create_member(name, "", language, "visitor", True, users["karim"], today - timedelta(days=20))
    from appliance.lending.demo import seed_lending  # the laptop-thèque's demo devices and loans

    seed_lending(today, users["karim"])


def _seed_visits(today: date, weeks: int, seed: int) -> None:
    rng = random.Random(seed)
    rows = []
    day = today - timedelta(weeks=weeks)
    while day < today:
        rows.extend(_visits_of_day(rng, day, busy=rng.uniform(0.6, 1.0)))
        day += timedelta(days=1)
    for batch in chunked(rows, 500):
        Visit.insert_many(batch).execute()


def _visits_of_day(rng: random.Random, day: date, busy: float) -> list[dict]:
    rows = []
    for opens, closes in WEEK[day.weekday()]:
        for hour in range(opens.hour, closes.hour + (closes.minute > 0)):
            for _ in range(round(rng.randint(2, 9) * busy)):
                services = {name for name in SERVICES if rng.random() < (0.6 if name == "computer" else 0.2)}
                rows.append({
                    "day": day, "hour": hour, "source": "walk_in",
                    "purpose": rng.choices(PURPOSES, PURPOSE_WEIGHTS)[0],
                    **{f"used_{name}": name in services for name in SERVICES},
                })
    return rows


def _seed_survey(today: date, seed: int, answers: int = 60) -> None:
    """The survey open this month, and answer sheets of last month (so its month report
    carries a survey part, small cells suppressed)."""
    from appliance.models import SurveyWindow
    from appliance.survey.questions import QUESTIONS
    from appliance.survey.responses import open_window, preset_window, record_response

    rng = random.Random(seed + 1)
    last_month_end = today.replace(day=1) - timedelta(days=1)
    # Last month's window is history (staff can only open windows from today on).
    SurveyWindow.create(first_day=last_month_end.replace(day=1), last_day=last_month_end)
    open_window(*preset_window("this_month", today), today)
    # Uneven shares, so that some answers are rare and their cells get suppressed.
    weights = {q.code: [rng.random() ** 3 for _ in q.options] for q in QUESTIONS}
    for _ in range(answers):
        sheet = {}
        for question in QUESTIONS:
            if rng.random() < 0.15:
                continue  # every question is optional
            count = rng.randint(1, 2) if question.multiple else 1
            sheet[question.code] = list(set(rng.choices(question.options, weights[question.code], k=count)))
        record_response(sheet, last_month_end - timedelta(days=rng.randint(0, 27)))


def _seed_help_queue(today: date) -> None:
    """Today's help queue: two served (counted as queue visits), one absent, one being
    called, three waiting; the visitor page, the desk's list and /now show them."""
    import secrets

    from appliance.models import QueueTicket

    rows = [("forms", "served", 9, 35), ("job", "served", 9, 50), ("eid", "absent", 10, 5),
            ("computer", "called", 10, 20), ("forms", "waiting", 10, 40), ("other", "waiting", 10, 45),
            ("job", "waiting", 10, 55)]
    purposes = {"forms": "admin_procedures", "eid": "admin_procedures", "job": "job_search",
                "computer": "learning_ict", "other": "leisure_culture_info"}
    for number, (kind, state, hour, minute) in enumerate(rows, start=1):
        taken = datetime.combine(today, time(hour, minute))
        called = taken + timedelta(minutes=12) if state != "waiting" else None
        closed = called + timedelta(minutes=9) if state in ("served", "absent") else None
        visit = None
        if state == "served":
            visit = Visit.create(day=today, hour=called.hour, purpose=purposes[kind], source="queue",
                                 used_mediator=True)
        QueueTicket.create(day=today, number=number, kind=kind, token=secrets.token_urlsafe(12),
                           origin="desk" if number % 3 == 0 else "portal", state=state, taken_at=taken,
                           called_at=called, closed_at=closed, visit=visit,
                           waited_seconds=720 if called else None, counter=1 if called else None)


def _seed_bookings(today: date, users: dict) -> None:
    """Eight bookable seats, a weekly smartphone workshop (8 Wednesdays, the first one full
    with one person waiting), a CV workshop, a few seats and help appointments in the
    coming days, and three past sessions with participants for the training figures."""
    import secrets

    from appliance.booking.bookings import Visitor, book_help, book_seat, book_workshop
    from appliance.booking.catalogue import WorkshopDraft, add_seat, create_workshops
    from appliance.booking.slots import help_slots, seat_slots
    from appliance.config import BookingConfig
    from appliance.desk.schedule import Calendar
    from appliance.errors import InvalidInput
    from appliance.models import Booking, Workshop

    add_seat("Poste 1", ["eid_reader", "scanner"])
    add_seat("Poste 2", ["accessibility"])
    for number in range(3, 9):
        add_seat(f"Poste {number}")
    start = datetime.combine(today, time(0))
    wednesday = today + timedelta(days=(2 - today.weekday()) % 7 or 7)
    series = create_workshops(WorkshopDraft(
        "Premiers pas avec le smartphone", "Appels, photos, WhatsApp : à votre rythme.", "fr", "beginner",
        "Seniors", wednesday, _t("14:00"), 120, 4, users["karim"].id, "Salle du fond", 8), start)[0]
    create_workshops(WorkshopDraft(
        "CV et lettre de motivation", "Écrire et mettre en page son CV.", "fr", "intermediate",
        "Chercheurs d'emploi", wednesday + timedelta(days=1), _t("10:00"), 150, 8, users["sophie"].id,
        "Salle 1", 1), start)
    for name in ("Fatima", "Marc", "Yasmina", "Rose", "Luc"):
        book_workshop(series[0].id, Visitor(name), start, waitlist=True)
    config, calendar = BookingConfig(), Calendar.load()
    for offset in range(7):
        day = today + timedelta(days=offset)
        for slot, name in zip([s for s in seat_slots(day, start, config, calendar) if s.free][1:3], ("Samir", "Anne")):
            book_seat(slot.starts, Visitor(f"{name} {offset}"), start, config)
        for slot, kind in zip(help_slots(day, start, config, calendar)[:1], ("itsme",)):
            try:
                book_help(slot.starts, kind, Visitor(f"Mme Z. {offset}"), start, config)
            except InvalidInput:
                pass
    for weeks_ago in (1, 2, 3):
        past = Workshop.create(title="Premiers pas avec le smartphone", language="fr", level="beginner",
                               starts=datetime.combine(wednesday - timedelta(weeks=weeks_ago), _t("14:00")),
                               minutes=120, capacity=6, mediator=users["karim"], uid=f"{secrets.token_hex(12)}@epn")
        for n in range(4):
            Booking.create(code=None, kind="workshop", status="checked_in" if n < 3 else "booked",
                           starts=past.starts, ends=past.starts + timedelta(minutes=120), workshop=past,
                           nickname="", purged=True, created_at=past.starts)


DEMO_PRINTERS = ("accueil-laser", "accueil-couleur")


def _seed_printing(config, today: date) -> None:  # type: ignore[no-untyped-def]
    """Simulated printers (no CUPS needed): jobs charged over the past weeks, for the
    figures, and three documents held now from the EPN's computers and a phone."""
    from appliance.hardware.printing import FakePrintSystem, print_system_for
    from appliance.printing.jobs import discover, release, sync, upload
    from pypdf import PdfWriter

    if config.printing.backend != "fake":
        return
    system = print_system_for(config)
    assert isinstance(system, FakePrintSystem)
    folder = config.data_dir / "print-demo"
    folder.mkdir(exist_ok=True)
    documents = {}
    for pages in (1, 2, 3):
        writer = PdfWriter()
        for _ in range(pages):
            writer.add_blank_page(595, 842)
        documents[pages] = folder / f"demo-{pages}.pdf"
        writer.write(str(documents[pages]))
    for offset in range(28, 0, -3):
        when = datetime.combine(today - timedelta(days=offset), time(11))
        job = upload(system, config, documents[1 + offset % 3].read_bytes(), "document.pdf", 1, False, False)
        release(system, config, job.id, when)
        sync(system, config, when)
    for host, name, pages in (("pc-03", "CV Mme Diallo.pdf", 2), ("pc-07", "Attestation.pdf", 1)):
        system.submit(DEMO_PRINTERS[0], documents[pages], name, 1, host=host)
    discover(system, config)
    upload(system, config, documents[3].read_bytes(), "Billet de train.pdf", 1, False, False)


def _seed_wifi(today: date, weeks: int, seed: int) -> None:
    """A sheet of Wi-Fi vouchers, and past visitors' sessions (anonymous, addresses already
    erased) for the figures. The demo's Wi-Fi backend is the in-memory fake."""
    from appliance.models import WifiSession
    from appliance.wifi.vouchers import create_vouchers

    create_vouchers(8, 180, "Atelier CV")
    rng = random.Random(seed + 6)
    rows = []
    for offset in range(1, weeks * 7):
        day = today - timedelta(days=offset)
        for _ in range(rng.randint(0, 12) if day.weekday() < 6 else 0):
            start = datetime.combine(day, time(9 + rng.randint(0, 8), rng.randint(0, 59)))
            minutes = rng.choice((20, 45, 90, 120))
            rows.append({"resume_code": "", "kind": "rules", "day": day, "started_at": start,
                         "expires_at": start + timedelta(minutes=120),
                         "ended_at": start + timedelta(minutes=minutes), "end_reason": "expired",
                         "bytes_used": rng.randint(5, 400) * 1_000_000, "addresses_erased": True})
    for batch in chunked(rows, 500):
        WifiSession.insert_many(batch).execute()
