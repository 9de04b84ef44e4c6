"""The survey's staff page: everyone sees whether it is open and how many answered this
month; only coordinators open and close it."""

from __future__ import annotations

from datetime import date

import pytest

from appliance.db import database
from appliance.models import SurveyResponse, SurveyWindow
from tests.survey.conftest import TODAY


def windows() -> list[tuple[date, date | None]]:
    with database.connection_context():
        return [
            (w.first_day, w.last_day)
            for w in SurveyWindow.select().order_by(SurveyWindow.first_day)
        ]


def test_a_mediator_sees_the_state_and_this_months_count_only(client, auth, survey_open) -> None:
    with database.connection_context():
        for index, day in enumerate([TODAY, TODAY, date(2026, 10, 3)]):
            SurveyResponse.create(id=index + 1, day=day, answers='{"age": ["20_29"]}')
    auth("mediator")
    client.get("/lang/en?next=/")
    page = client.get("/staff/survey/").get_data(as_text=True)
    assert "Open for answers" in page and '<dd class="big">2</dd>' in page
    assert "20_29" not in page and "Close now" not in page and 'name="preset"' not in page
    assert 'href="/staff/survey/"' in page and 'aria-current="page"' in page  # in the staff menu


@pytest.mark.parametrize(
    "path, data",
    [
        ("/staff/survey/open", {"preset": "until_closed"}),
        ("/staff/survey/close", {}),
        ("/staff/survey/periods/1/remove", {}),
    ],
)
def test_a_mediator_may_not_open_or_close_the_survey(client, auth, survey_open, path, data) -> None:
    token = auth("mediator")
    before = windows()
    assert client.post(path, data={"csrf_token": token, **data}).status_code == 403
    assert windows() == before


@pytest.mark.parametrize(
    "preset, expected",
    [
        ("this_month", [(date(2026, 11, 1), date(2026, 11, 30))]),
        ("november", [(date(2026, 11, 1), date(2026, 11, 30))]),
        ("until_closed", [(TODAY, None)]),
    ],
)
def test_a_coordinator_opens_the_survey_in_one_tap(client, auth, preset, expected) -> None:
    token = auth("coordinator")
    response = client.post("/staff/survey/open", data={"csrf_token": token, "preset": preset})
    assert response.status_code == 302
    assert windows() == expected
    assert 'href="/survey/"' in client.get("/").get_data(as_text=True)


def test_a_coordinator_opens_chosen_days_and_plans_ahead(client, auth) -> None:
    token = auth("coordinator")
    client.post(
        "/staff/survey/open",
        data={"csrf_token": token, "first_day": "2027-03-01", "last_day": "2027-03-31"},
    )
    assert windows() == [(date(2027, 3, 1), date(2027, 3, 31))]
    client.get("/lang/en?next=/")
    page = client.get("/staff/survey/").get_data(as_text=True)
    assert "Not open" in page and "March" in page and "Remove" in page


@pytest.mark.parametrize(
    "data",
    [
        {"first_day": "2026-11-20", "last_day": "2026-11-19"},
        {"first_day": "2026-10-01", "last_day": "2026-10-31"},
        {"first_day": "not a day"},
        {"preset": "forever"},
    ],
)
def test_a_wrong_period_is_refused_and_nothing_changes(client, auth, data) -> None:
    token = auth("coordinator")
    response = client.post("/staff/survey/open", data={"csrf_token": token, **data})
    assert response.status_code == 400
    assert windows() == []


def test_a_coordinator_closes_now_and_removes_a_planned_period(client, auth, survey_open) -> None:
    token = auth("coordinator")
    client.post(
        "/staff/survey/open", data={"csrf_token": token, "preset": "november"}
    )  # same month
    client.post(
        "/staff/survey/open",
        data={"csrf_token": token, "first_day": "2027-11-01", "last_day": "2027-11-30"},
    )
    assert client.post("/staff/survey/close", data={"csrf_token": token}).status_code == 302
    assert windows() == [
        (date(2026, 11, 1), date(2026, 11, 16)),
        (date(2027, 11, 1), date(2027, 11, 30)),
    ]
    assert "/survey/" not in client.get("/").get_data(as_text=True)
    with database.connection_context():
        planned = SurveyWindow.get(SurveyWindow.first_day == date(2027, 11, 1)).id
    assert (
        client.post(
            f"/staff/survey/periods/{planned}/remove", data={"csrf_token": token}
        ).status_code
        == 302
    )
    assert windows() == [(date(2026, 11, 1), date(2026, 11, 16))]
    assert (
        client.post(
            f"/staff/survey/periods/{planned}/remove", data={"csrf_token": token}
        ).status_code
        == 404
    )


def test_the_staff_page_needs_signing_in(client) -> None:
    response = client.get("/staff/survey/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")
