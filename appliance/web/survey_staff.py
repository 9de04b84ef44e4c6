"""The survey for staff: is it open, how many answered this month (a count, nothing
more), and, for coordinators, opening and closing it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import InputRequired, Optional

from appliance.errors import InvalidInput, NotFound
from appliance.period import Period
from appliance.survey.responses import (
    PRESETS,
    cancel_window,
    close_now,
    count_responses,
    open_window,
    preset_window,
    survey_state,
)
from appliance.web.forms import REQUIRED, EmptyForm
from appliance.web.security import coordinator_required, login_required
from appliance.web.util import attach_error, local_now

bp = Blueprint("survey_staff", __name__, url_prefix="/staff/survey")


class SurveyWindowForm(FlaskForm):
    first_day = DateField(_l("First day"), validators=[InputRequired(REQUIRED)])
    last_day = DateField(_l("Last day (empty: until you close it)"), validators=[Optional()])


def _page(form: SurveyWindowForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    today = local_now().date()
    return render_template(
        "staff/survey.html",
        state=survey_state(today),
        answers=count_responses(Period.containing(today, "month")),
        november=preset_window("november", today),
        form=form or SurveyWindowForm(formdata=None, data={"first_day": today}),
        button_form=EmptyForm(),
        today=today,
    ), status


@bp.route("/")
@login_required
def index():  # type: ignore[no-untyped-def]
    return _page()


@bp.route("/open", methods=["POST"])
@coordinator_required
def open_survey():  # type: ignore[no-untyped-def]
    today = local_now().date()
    preset = request.form.get("preset")
    form = SurveyWindowForm()
    if preset is None and not form.validate_on_submit():
        return _page(form, 400)
    if preset is not None and (preset not in PRESETS or not EmptyForm().validate_on_submit()):
        abort(400)
    try:
        first, last = (
            preset_window(preset, today) if preset else (form.first_day.data, form.last_day.data)
        )
        open_window(first, last, today)
    except InvalidInput as error:
        attach_error(form, error, fallback="first_day")
        return _page(form, 400)
    flash(_("The survey period is saved."), "success")
    return redirect(url_for("survey_staff.index"))


@bp.route("/close", methods=["POST"])
@coordinator_required
def close_survey():  # type: ignore[no-untyped-def]
    if not EmptyForm().validate_on_submit():
        abort(400)
    if close_now(local_now().date()):
        flash(_("The survey is closed."), "success")
    return redirect(url_for("survey_staff.index"))


@bp.route("/periods/<int:window_id>/remove", methods=["POST"])
@coordinator_required
def remove_period(window_id: int):  # type: ignore[no-untyped-def]
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        cancel_window(window_id, local_now().date())
    except NotFound:
        abort(404)
    flash(_("The planned period is removed."), "success")
    return redirect(url_for("survey_staff.index"))
