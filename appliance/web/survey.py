"""The anonymous survey, for visitors: one question per page, no JavaScript needed.

Low literacy and phones first: one question at a time, big answer buttons with a
pictogram, a single tap moves on, every page can be skipped, "3 / 15" shows how far.
The answers given so far travel in the form's hidden fields (never in a server-side
session, a cookie or the address bar), and only the last page's POST stores the answer
sheet, at once, with the day only. A visitor who stops half-way leaves nothing behind.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from flask import Blueprint, make_response, redirect, render_template, request, session, url_for
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict

from appliance.config import VISITOR_LANGUAGES
from appliance.errors import InvalidInput
from appliance.survey.questions import QUESTIONS
from appliance.survey.responses import (
    Answers,
    SurveyClosed,
    area_answer,
    clean_answers,
    is_open,
    record_response,
)
from appliance.web import survey_labels
from appliance.web.i18n import COOKIE, NAMES
from appliance.web.util import local_now, settings, translate

bp = Blueprint("survey", __name__, url_prefix="/survey")

PREFIX = "a."  # the fields carrying the answers given so far: a.<question> = <answer code>
CONTROLS = {"csrf_token", "sheet", "step", "go", "answer", "postal_code", "lang"}
MOVES = {"start", "next", "skip", "back"}
MAX_BODY = 16 * 1024  # a full sheet is about 2 kB
MAX_VALUES = 100
SHEET_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SENT = "survey_sent"  # in the visitor's own session cookie: this sheet was stored already


class BadSheet(Exception):
    """The form is not one our pages send (altered, oversized): nothing is stored."""


@dataclass
class Page:
    """What a survey page sent back: the answers so far and where the visitor was."""

    answers: Answers
    step: int  # the question on the page sent; -1 for the start page
    sheet: str  # random id of this answer sheet, so a resent last page is stored once


@bp.app_template_global()
def survey_is_open() -> bool:
    """For the visitor home page: show the way to the survey while it is open."""
    return is_open(local_now().date())


@bp.route("/")
def start():  # type: ignore[no-untyped-def]
    if not is_open(local_now().date()):
        return render_template("survey/closed.html")
    return render_template(
        "survey/start.html", sheet=secrets.token_urlsafe(16), count=len(QUESTIONS)
    )


@bp.route("/", methods=["POST"])
def step():  # type: ignore[no-untyped-def]
    if not is_open(local_now().date()):
        return render_template("survey/closed.html")
    try:
        page = read_page(request.form)
        target, error = move(page, request.form)
    except BadSheet:
        return render_template("survey/bad_input.html"), 400
    if target == len(QUESTIONS):
        return finish(page)
    language = request.form.get("lang")
    if language in VISITOR_LANGUAGES:
        return switch_language(page, target, language)
    return question_page(page, target, error), 400 if error else 200


@bp.route("/thanks")
def thanks():  # type: ignore[no-untyped-def]
    return render_template("survey/thanks.html")


# --- Reading and moving ---------------------------------------------------------------


def read_page(form: MultiDict) -> Page:
    """The page's answers and position, or BadSheet if anything was altered."""
    if (request.content_length or 0) > MAX_BODY:
        raise BadSheet()
    values = [value for key in form for value in form.getlist(key)]
    if len(values) > MAX_VALUES or any(len(value) > 200 for value in values):
        raise BadSheet()
    answered = {key[len(PREFIX) :]: form.getlist(key) for key in form if key.startswith(PREFIX)}
    if any(key not in CONTROLS and not key.startswith(PREFIX) for key in form):
        raise BadSheet()
    try:
        answers = clean_answers(answered)
    except InvalidInput:
        raise BadSheet() from None
    sheet = form.get("sheet", "")
    step_text = form.get("step", "-1" if form.get("go") == "start" else "")
    if not SHEET_ID.match(sheet) or not re.fullmatch(r"-1|\d{1,2}", step_text):
        raise BadSheet()
    step = int(step_text)
    if step >= len(QUESTIONS) or (step == -1) != (form.get("go") == "start"):
        raise BadSheet()
    return Page(answers, step, sheet)


def move(page: Page, form: MultiDict) -> tuple[int, str | None]:
    """Apply this page's answer to the sheet; return the question to show next (or
    len(QUESTIONS) when done) and a message if the typed postal code was not one.

    A tap on an answer moves on; Skip forgets the question's answer; Back keeps it; a
    language button shows the same question again in that language."""
    go = form.get("go", "next")
    switching = "lang" in form
    if go not in MOVES or (switching and ("go" in form or form["lang"] not in VISITOR_LANGUAGES)):
        raise BadSheet()
    if go == "start":
        return 0, None
    question = QUESTIONS[page.step]
    if go == "skip":
        page.answers.pop(question.code, None)
        return page.step + 1, None
    chosen = form.get("answer")
    if chosen is not None:
        if switching:
            raise BadSheet()
        page.answers[question.code] = _one_answer(question.code, chosen)
    elif question.code == "area" and form.get("postal_code", "").strip():
        try:
            page.answers["area"] = [area_answer(form["postal_code"])]
        except InvalidInput as error:
            return page.step, translate(error)
    if switching:
        return page.step, None
    if go == "back":
        return max(page.step - 1, 0), None
    return page.step + 1, None


def _one_answer(question: str, chosen: str) -> list[str]:
    try:
        return clean_answers({question: [chosen]})[question]
    except InvalidInput:
        raise BadSheet() from None


def finish(page: Page):  # type: ignore[no-untyped-def]
    """Store the finished sheet (once, even if the last page is sent again)."""
    if session.get(SENT) != page.sheet:
        try:
            record_response(page.answers, local_now().date())
        except SurveyClosed:
            return render_template("survey/closed.html")
        session[SENT] = page.sheet
    return redirect(url_for("survey.thanks"), 303)


# --- Showing a question ---------------------------------------------------------------


def question_page(page: Page, index: int, error: str | None = None) -> str:
    question = QUESTIONS[index]
    carried = [
        (code, value)
        for code, values in page.answers.items()
        if not (code == question.code and question.multiple)  # its boxes carry it
        for value in values
    ]
    area = page.answers.get("area")
    return render_template(
        "survey/question.html",
        question=question,
        index=index,
        count=len(QUESTIONS),
        sheet=page.sheet,
        carried=carried,
        chosen=page.answers.get(question.code, []),
        error=error,
        area_label=survey_labels.option_label("area", area[0]) if area else None,
        languages=[(code, NAMES[code]) for code in VISITOR_LANGUAGES],
        **survey_labels.words_for(question),
    )


def switch_language(page: Page, index: int, language: str):  # type: ignore[no-untyped-def]
    """The same question in the language chosen, remembered as the portal's links do."""
    with force_locale(language):
        response = make_response(question_page(page, index))
    response.set_cookie(
        COOKIE,
        language,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=settings().server.tls,
    )
    return response
