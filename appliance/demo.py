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
                                     "federation": {"require_clock_sync": False}})
    config = load_config(data_dir)
    init_database(config.database_path)
    today = today or datetime.now(config.tz).date()
    with database.connection_context():
        if StaffUser.select().exists():
            return False
        with database.atomic():
            _seed_everything(today, weeks, seed)
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
    for name, language in (("Mme Diallo", "fr"), ("Ahmed B.", "ar"), ("Jan P.", "nl")):
        create_member(name, "", language, "visitor", True, users["karim"], today - timedelta(days=20))


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
