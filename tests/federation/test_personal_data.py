"""Nothing personal leaves the appliance: a report built from a data directory full of
members and survey answers holds only allow-listed counts."""

import json
import re
from datetime import date, datetime, timezone

from appliance.federation.canonical import parse_strict
from appliance.federation.report import build_report
from appliance.federation.schema import SCHEMAS, validate_report
from appliance.members import create_member
from appliance.models import Member, OutboxReport, StaffUser, SurveyResponse
from appliance.period import Period
from tests.federation.conftest import NOW, SYNCED, add_visits

PEOPLE = [
    ("Zéphyrine Quaglieri", "zephyrine.q@example.org"),
    ("Abdelkader Wouters-Ndiaye", "+32 470 12 34 56"),
    ("Jelle Vanhoutteghem", "jelle@vanhoutteghem.example"),
    ("Mariam Al-Khatib", "0485/99.88.77"),
]
SHEET = {"status": ["job_seeker"], "age": ["30_39"], "gender": ["woman"], "devices": ["smartphone"],
         "heard_from": ["word_of_mouth", "poster"], "satisfaction": ["9"], "area": ["brussels"],
         "mother_tongue": ["arabic"], "languages": ["french", "arabic"]}


def fill_with_people() -> None:
    coordinator = StaffUser.get(StaffUser.role == "coordinator")
    for name, contact in PEOPLE:
        create_member(name, contact, "fr", "visitor", True, coordinator, date(2026, 9, 3))
    for day in (2, 9, 16, 23):
        for _ in range(6):
            SurveyResponse.create(day=date(2026, 9, day), answers=json.dumps(SHEET))
        SurveyResponse.create(day=date(2026, 9, day), answers=json.dumps({"age": ["60_plus"]}))
    for day in range(1, 31):
        add_visits(date(2026, 9, day), 7)


def test_no_name_contact_or_member_number_travels_and_every_key_is_allowed(linked, config):
    fill_with_people()
    secrets = [m.display_name for m in Member.select()] + [m.contact for m in Member.select()]
    secrets += [m.number for m in Member.select()] + [StaffUser.get().username, config.site.name]
    after_the_year = datetime(2027, 1, 4, 3, 0, tzinfo=timezone.utc)
    for period in ("2026-09", "2026-W37", "2026"):
        build_report(Period.parse(period), config, now=after_the_year, clock=SYNCED)
    for row in OutboxReport.select():
        data = bytes(row.body)
        text = data.decode("utf-8")
        for secret in secrets:
            for part in re.split(r"[\s@/.+-]+", secret):
                if len(part) >= 4:
                    assert part.lower().encode() not in data.lower(), (row.period, part)
        assert json.dumps(SHEET) not in text
        body = parse_strict(data)
        validate_report(body)
        assert set(body["figures"]) <= SCHEMAS[body["schema"]]
        assert all(type(v) is int for v in body["figures"].values())
        # Only envelope strings and figure keys: no free text anywhere.
        strings = {v for v in body.values() if isinstance(v, str)}
        assert strings == {body[f] for f in ("protocol", "hub", "epn", "key_id", "period",
                                              "report_id", "created_at")}


def test_survey_breakdowns_travel_in_month_reports_only_with_small_cells_suppressed(linked, config):
    fill_with_people()
    month = build_report(Period.parse("2026-09"), config, now=NOW, clock=SYNCED)["figures"]
    week = build_report(Period.parse("2026-W37"), config, now=NOW, clock=SYNCED)["figures"]
    assert not any(key.startswith("survey.") for key in week)
    assert month["survey.responses"] == 28
    assert month["survey.age._total"] == 28
    assert month["survey.age.30_39"] == 24
    # Four people over 60: a cell below k = 5, hidden with the zero cells beside it.
    assert "survey.age.60_plus" not in month
    assert month["survey.age._suppressed_sum"] == 4


def test_a_months_survey_figures_are_final_once_queued_even_when_answers_change(linked, config):
    fill_with_people()
    first = build_report(Period.parse("2026-09"), config, now=NOW, clock=SYNCED)["figures"]
    SurveyResponse.delete().where(SurveyResponse.day == date(2026, 9, 2)).execute()  # e.g. retention
    add_visits(date(2026, 9, 30), 3)
    second = build_report(Period.parse("2026-09"), config, now=NOW, clock=SYNCED, if_changed=True)["figures"]
    survey = {k: v for k, v in first.items() if k.startswith("survey.")}
    assert survey and {k: v for k, v in second.items() if k.startswith("survey.")} == survey
    assert second["visits.total"] == first["visits.total"] + 3
