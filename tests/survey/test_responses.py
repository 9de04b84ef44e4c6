"""The survey's records: validated answer sheets with the day only and no link to
anyone, the open period, counts, and the retention purge."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

import pytest

from appliance.config import RetentionConfig
from appliance.errors import InvalidInput, NotFound
from appliance.members import create_member, export_member, purge_expired
from appliance.models import SurveyResponse, SurveyWindow
from appliance.period import Period
from appliance.registry import DOMAIN_MODULES, personal_data_handlers
from appliance.survey.questions import QUESTIONS, area_of_postal_code
from appliance.survey.responses import (
    SurveyClosed,
    area_answer,
    cancel_window,
    clean_answers,
    close_now,
    count_responses,
    is_open,
    open_window,
    preset_window,
    purge_responses,
    record_response,
    survey_state,
)

TODAY = date(2026, 11, 17)


@pytest.fixture
def opened(db) -> None:  # type: ignore[no-untyped-def]
    open_window(date(2026, 11, 1), date(2026, 11, 30), TODAY)


# --- Postal codes -------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, area",
    [
        ("1000", "brussels"),
        ("1080", "brussels"),
        ("1210", "brussels"),
        ("1299", "brussels"),
        ("1300", "walloon_brabant"),
        ("1348", "walloon_brabant"),
        ("1499", "walloon_brabant"),
        ("1500", "halle_vilvoorde"),
        ("1800", "halle_vilvoorde"),
        ("1930", "halle_vilvoorde"),
        ("1999", "halle_vilvoorde"),
        ("3090", "halle_vilvoorde"),  # Overijse
        ("3000", "leuven"),
        ("3020", "leuven"),
        ("3070", "leuven"),
        ("3080", "leuven"),  # Tervuren
        ("3499", "leuven"),
        ("3500", "other_belgium"),
        ("4000", "other_belgium"),
        ("9999", "other_belgium"),
        (" 1 0 8 0 ", "brussels"),
        ("١٠٨٠", "brussels"),  # typed on a phone set to Arabic
    ],
)
def test_a_postal_code_gives_its_district(code: str, area: str) -> None:
    assert area_of_postal_code(code) == area


@pytest.mark.parametrize("code", ["", "108", "10800", "0999", "abcd", "1O80", "²²²²", "-100"])
def test_what_is_not_a_belgian_postal_code_gives_no_district(code: str) -> None:
    assert area_of_postal_code(code) is None
    with pytest.raises(InvalidInput):
        area_answer(code)


# --- The answer sheet ---------------------------------------------------------------


def test_answers_are_checked_and_put_in_the_order_of_the_options() -> None:
    raw = {"gender": ["woman"], "devices": ["smartphone", "computer"], "age": []}
    assert clean_answers(raw) == {"gender": ["woman"], "devices": ["computer", "smartphone"]}


@pytest.mark.parametrize(
    "raw",
    [
        {"shoe_size": ["42"]},
        {"gender": ["robot"]},
        {"gender": ["woman", "man"]},
        {"devices": ["tablet", "tablet"]},
        {"area": ["1080"]},  # a postal code is never an answer: only its district
        {"satisfaction": ["11"]},
    ],
)
def test_an_unknown_or_impossible_answer_is_refused(raw: dict) -> None:
    with pytest.raises(InvalidInput):
        clean_answers(raw)


def test_every_question_is_optional_even_all_of_them(opened) -> None:
    record_response({}, TODAY)
    assert json.loads(SurveyResponse.get().answers) == {}


def test_a_sheet_is_stored_with_its_day_and_answers_and_nothing_else(opened) -> None:
    record_response(
        {"age": ["60_plus"], "area": [area_answer("1080")], "languages": ["arabic", "french"]},
        TODAY,
    )
    sheet = SurveyResponse.get()
    assert sheet.day == TODAY
    assert json.loads(sheet.answers) == {
        "age": ["60_plus"],
        "area": ["brussels"],
        "languages": ["french", "arabic"],
    }
    assert "1080" not in sheet.answers


def test_the_model_has_no_field_that_could_link_a_sheet_to_anyone() -> None:
    assert set(SurveyResponse._meta.fields) == {"id", "day", "answers"}
    assert type(SurveyResponse.day).__name__ == "DateField"  # a day, never a time


def test_sheet_ids_do_not_follow_the_order_of_the_answers(opened) -> None:
    in_order: list[int] = []
    for _ in range(20):
        before = {row.id for row in SurveyResponse.select()}
        record_response({"help_home": ["yes"]}, TODAY)
        (new,) = {row.id for row in SurveyResponse.select()} - before
        in_order.append(new)
    assert in_order != sorted(in_order)  # by chance once in 20! runs
    assert max(in_order) > 1000  # not 1, 2, 3 ...


def test_nothing_is_stored_while_the_survey_is_closed(db) -> None:
    with pytest.raises(SurveyClosed):
        record_response({"age": ["20_29"]}, TODAY)
    assert SurveyResponse.select().count() == 0


def test_a_bad_sheet_stores_nothing(opened) -> None:
    with pytest.raises(InvalidInput):
        record_response({"age": ["20_29"], "gender": ["robot"]}, TODAY)
    assert SurveyResponse.select().count() == 0


def test_responses_are_counted_per_period(opened) -> None:
    record_response({}, TODAY)
    record_response({}, date(2026, 11, 30))
    SurveyResponse.create(id=7, day=date(2026, 10, 31), answers="{}")
    assert count_responses(Period.parse("2026-11")) == 2
    assert count_responses(Period.parse("2026-10")) == 1


# --- The open period ------------------------------------------------------------------


def test_the_survey_is_open_only_inside_its_period(opened) -> None:
    assert not is_open(date(2026, 10, 31))
    assert is_open(date(2026, 11, 1)) and is_open(TODAY) and is_open(date(2026, 11, 30))
    assert not is_open(date(2026, 12, 1))


def test_open_until_closed_then_close_now(db) -> None:
    open_window(TODAY - timedelta(days=3), None, TODAY)
    assert is_open(date(2030, 1, 1))
    assert close_now(TODAY)
    assert not is_open(TODAY)
    assert is_open(TODAY - timedelta(days=1))  # the days already past keep their period
    assert not close_now(TODAY)


def test_closing_a_period_that_starts_today_removes_it(db) -> None:
    open_window(TODAY, None, TODAY)
    close_now(TODAY)
    assert SurveyWindow.select().count() == 0


def test_closing_now_keeps_the_periods_to_come(db) -> None:
    open_window(TODAY, TODAY + timedelta(days=2), TODAY)
    open_window(date(2027, 11, 1), date(2027, 11, 30), TODAY)
    close_now(TODAY)
    state = survey_state(TODAY)
    assert not state.open and [w.first_day for w in state.upcoming] == [date(2027, 11, 1)]


def test_overlapping_or_touching_periods_become_one(db) -> None:
    open_window(date(2026, 11, 1), date(2026, 11, 30), TODAY)
    open_window(date(2026, 12, 1), date(2026, 12, 15), TODAY)
    open_window(date(2026, 11, 20), None, TODAY)
    windows = list(SurveyWindow.select())
    assert [(w.first_day, w.last_day) for w in windows] == [(date(2026, 11, 1), None)]


@pytest.mark.parametrize(
    "first, last",
    [
        (date(2026, 11, 20), date(2026, 11, 19)),  # ends before it starts
        (date(2026, 10, 1), date(2026, 10, 31)),  # already over
    ],
)
def test_an_impossible_period_is_refused(db, first: date, last: date) -> None:
    with pytest.raises(InvalidInput):
        open_window(first, last, TODAY)
    assert SurveyWindow.select().count() == 0


def test_one_tap_periods() -> None:
    assert preset_window("this_month", TODAY) == (date(2026, 11, 1), date(2026, 11, 30))
    assert preset_window("november", date(2026, 3, 4)) == (date(2026, 11, 1), date(2026, 11, 30))
    assert preset_window("november", date(2026, 12, 2)) == (date(2027, 11, 1), date(2027, 11, 30))
    assert preset_window("until_closed", TODAY) == (TODAY, None)
    with pytest.raises(InvalidInput):
        preset_window("forever", TODAY)


def test_only_a_period_to_come_can_be_removed(db) -> None:
    current = open_window(TODAY, TODAY + timedelta(days=5), TODAY)
    with pytest.raises(NotFound):
        cancel_window(current.id, TODAY)
    planned = open_window(date(2027, 11, 1), date(2027, 11, 30), TODAY)
    cancel_window(planned.id, TODAY)
    assert [w.id for w in SurveyWindow.select()] == [current.id]


# --- Retention and the personal-data registry ----------------------------------------


def test_sheets_older_than_the_retention_period_are_purged(db) -> None:
    retention = replace(RetentionConfig(), survey_days=400)
    limit = TODAY - timedelta(days=400)
    SurveyResponse.create(id=1, day=limit - timedelta(days=1), answers="{}")
    SurveyResponse.create(id=2, day=limit, answers="{}")
    assert purge_responses(TODAY, retention) == 1
    assert [row.id for row in SurveyResponse.select()] == [2]


def test_the_survey_joins_the_personal_data_registry_and_the_nightly_purge(db) -> None:
    assert "appliance.survey.responses" in DOMAIN_MODULES
    assert "survey" in [handler.domain for handler in personal_data_handlers()]
    SurveyResponse.create(id=1, day=TODAY - timedelta(days=500), answers="{}")
    counts = purge_expired(TODAY, RetentionConfig())
    assert counts["survey"] == 1 and SurveyResponse.select().count() == 0


def test_a_member_has_no_survey_answers_to_export_or_erase(opened) -> None:
    record_response({"age": ["30_39"]}, TODAY)
    member = create_member("Amina", "", "ar", "visitor", True, None, TODAY)
    handler = next(h for h in personal_data_handlers() if h.domain == "survey")
    assert export_member(member)["survey"] == []
    assert handler.erase(member) == 0
    assert SurveyResponse.select().count() == 1  # anonymous: nobody's sheet to erase


def test_every_question_code_has_at_least_two_options() -> None:
    assert len(QUESTIONS) == 15 and all(len(q.options) >= 2 for q in QUESTIONS)
