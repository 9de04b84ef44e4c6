"""The anonymous survey's records: when it is open, the answer sheets, their retention.

An answer sheet holds the day it was given and the answer codes, nothing else: no time,
no session, no device, no booking, no member. Its row id is random, so that not even the
order of the sheets tells who answered when. Nothing is stored until a visitor finishes.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from peewee import IntegrityError

from appliance.config import RetentionConfig
from appliance.db import database
from appliance.errors import N_, InvalidInput, NotFound
from appliance.models import Member, SurveyResponse, SurveyWindow
from appliance.period import Period
from appliance.registry import register_personal_data
from appliance.survey.questions import BY_CODE, area_of_postal_code

Answers = dict[str, list[str]]
PRESETS = ("this_month", "november", "until_closed")


class SurveyClosed(Exception):
    """The survey is not open today: nothing was stored."""


# --- The answer sheet ----------------------------------------------------------------


def clean_answers(raw: Mapping[str, Iterable[str]]) -> Answers:
    """Check every code against the questions; return question -> codes in option order.

    Every question is optional: a question with no code is left out. A single-answer
    question takes one code, a multiple-answer question several, each at most once.
    """
    answers: Answers = {}
    for code, values in raw.items():
        question = BY_CODE.get(code)
        if question is None:
            raise InvalidInput("answers", N_("Unknown question."))
        chosen = list(values)
        if not chosen:
            continue
        if len(chosen) > 1 and not question.multiple:
            raise InvalidInput(code, N_("One answer only."))
        if len(set(chosen)) != len(chosen) or not set(chosen) <= set(question.options):
            raise InvalidInput(code, N_("Unknown answer."))
        answers[code] = [option for option in question.options if option in chosen]
    return answers


def area_answer(postal_code: str) -> str:
    """The area code of a typed postal code; the postal code itself is never kept."""
    area = area_of_postal_code(postal_code)
    if area is None:
        raise InvalidInput("postal_code", N_("Type the 4 digits of your postal code."))
    return area


def record_response(raw: Mapping[str, Iterable[str]], today: date) -> None:
    """Store one finished answer sheet, with the day only; SurveyClosed if not open."""
    answers = clean_answers(raw)
    if not is_open(today):
        raise SurveyClosed()
    text = json.dumps(answers, sort_keys=True, separators=(",", ":"))
    for _ in range(5):
        try:
            with database.atomic():
                # A random id: the sheets' order must not tell who answered when.
                SurveyResponse.create(id=secrets.randbelow(2**62) + 1, day=today, answers=text)
            return
        except IntegrityError:
            continue
    raise RuntimeError("could not draw a free answer sheet id")


def responses_in(period: Period) -> Iterator[Answers]:
    """The answer sheets given during `period`."""
    query = SurveyResponse.select(SurveyResponse.answers).where(
        (SurveyResponse.day >= period.start) & (SurveyResponse.day < period.end)
    )
    for (text,) in query.tuples().iterator():
        yield json.loads(text)


def count_responses(period: Period) -> int:
    return (
        SurveyResponse.select()
        .where((SurveyResponse.day >= period.start) & (SurveyResponse.day < period.end))
        .count()
    )


# --- When the survey is open ------------------------------------------------------------


@dataclass(frozen=True)
class SurveyState:
    """Whether the survey is open today, the period it is in, and the periods to come."""

    open: bool
    current: SurveyWindow | None
    upcoming: list[SurveyWindow]


def _covers(today: date):  # type: ignore[no-untyped-def]
    return (SurveyWindow.first_day <= today) & (
        SurveyWindow.last_day.is_null() | (SurveyWindow.last_day >= today)
    )


def is_open(today: date) -> bool:
    return SurveyWindow.select().where(_covers(today)).exists()


def survey_state(today: date) -> SurveyState:
    current = SurveyWindow.select().where(_covers(today)).first()
    upcoming = list(
        SurveyWindow.select().where(SurveyWindow.first_day > today).order_by(SurveyWindow.first_day)
    )
    return SurveyState(open=current is not None, current=current, upcoming=upcoming)


def preset_window(preset: str, today: date) -> tuple[date, date | None]:
    """The days of a one-tap choice: this month, the region's November, or until closed."""
    if preset == "this_month":
        month = Period.containing(today, "month")
        return month.start, month.end - timedelta(days=1)
    if preset == "november":
        year = today.year if today.month <= 11 else today.year + 1
        return date(year, 11, 1), date(year, 11, 30)
    if preset == "until_closed":
        return today, None
    raise InvalidInput("preset", N_("Choose a period from the list."))


def _day_after(last_day: date | None) -> date:
    return date.max if last_day is None else last_day + timedelta(days=1)


def open_window(first_day: date, last_day: date | None, today: date) -> SurveyWindow:
    """Open the survey from `first_day` to `last_day` (None: until closed).

    Periods that overlap or touch the new one are merged into it, so each day belongs to
    one period at most.
    """
    if last_day is not None and last_day < first_day:
        raise InvalidInput("last_day", N_("The last day comes before the first day."))
    if last_day is not None and last_day < today:
        raise InvalidInput("last_day", N_("This period is already over."))
    with database.atomic():
        for window in list(SurveyWindow.select()):
            if window.first_day <= _day_after(last_day) and first_day <= _day_after(
                window.last_day
            ):
                first_day = min(first_day, window.first_day)
                if last_day is not None:
                    last_day = None if window.last_day is None else max(last_day, window.last_day)
                window.delete_instance()
        return SurveyWindow.create(first_day=first_day, last_day=last_day)


def close_now(today: date) -> bool:
    """Close the survey from today on; the periods to come stay planned. False if it was closed."""
    with database.atomic():
        current = SurveyWindow.select().where(_covers(today)).first()
        if current is None:
            return False
        if current.first_day >= today:
            current.delete_instance()
        else:
            current.last_day = today - timedelta(days=1)
            current.save()
    return True


def cancel_window(window_id: int, today: date) -> None:
    """Remove a period that has not started yet (one under way is closed with close_now)."""
    deleted = (
        SurveyWindow.delete()
        .where((SurveyWindow.id == window_id) & (SurveyWindow.first_day > today))
        .execute()
    )
    if not deleted:
        raise NotFound(window_id)


# --- Personal data --------------------------------------------------------------------


def purge_responses(today: date, retention: RetentionConfig) -> int:
    """Delete the answer sheets older than `retention.survey_days`."""
    limit = today - timedelta(days=retention.survey_days)
    return SurveyResponse.delete().where(SurveyResponse.day < limit).execute()


def export_member(member: Member) -> list:
    """Nothing: an answer sheet is linked to no member, so none can be found for one."""
    return []


def erase_member(member: Member) -> int:
    """0: an answer sheet is linked to no member, so there is nothing of theirs to erase.

    A visitor who wants their answers gone cannot point at them either: that is the
    point of an anonymous survey. They leave with the retention purge."""
    return 0


register_personal_data("survey", export=export_member, erase=erase_member, purge=purge_responses)
