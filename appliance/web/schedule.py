"""Opening hours, mediator presence and closures (coordinators edit, everyone reads)."""

from __future__ import annotations

from typing import Callable

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from appliance.accounts import active_staff
from appliance.desk.schedule import (
    MAX_INTERVALS_PER_DAY,
    WEEKDAYS,
    add_closure,
    add_shift,
    closures,
    delete_closure,
    delete_shift,
    set_weekly_hours,
    shifts,
    weekly_hours,
)
from appliance.errors import InvalidInput, NotFound
from appliance.web.forms import ClosureForm, EmptyForm, ShiftForm, choices, hours_form_class
from appliance.web.security import coordinator_required, login_required
from appliance.web.util import attach_error, local_now

bp = Blueprint("schedule", __name__, url_prefix="/staff/schedule")


def _hours_form(formdata: bool = True):  # type: ignore[no-untyped-def]
    data = {}
    for day, intervals in weekly_hours().items():
        for slot, (opens, closes) in enumerate(intervals):
            data[f"d{day}_{slot}_opens"] = opens
            data[f"d{day}_{slot}_closes"] = closes
    form_class = hours_form_class()
    return form_class(data=data) if not formdata else form_class()


def _shift_form() -> ShiftForm:
    form = ShiftForm()
    form.mediator.choices = choices((user.id, user.display_name) for user in active_staff())
    return form


def _page(hours_form=None, shift_form=None, closure_form=None, status: int = 200):  # type: ignore[no-untyped-def]
    shift_form = shift_form or _shift_form()
    return render_template(
        "staff/schedule.html",
        hours_form=hours_form or _hours_form(formdata=False),
        shift_form=shift_form,
        closure_form=closure_form or ClosureForm(formdata=None),
        shifts=shifts(),
        closures=closures(local_now().date()),
        weekdays=WEEKDAYS,
        slots=range(MAX_INTERVALS_PER_DAY),
        button_form=EmptyForm(),
    ), status


@bp.route("/")
@login_required
def show():  # type: ignore[no-untyped-def]
    return _page()


@bp.route("/hours", methods=["POST"])
@coordinator_required
def hours():  # type: ignore[no-untyped-def]
    form = _hours_form()
    if not form.validate_on_submit():
        return _page(hours_form=form, status=400)
    week = {}
    for day in WEEKDAYS:
        week[day] = []
        for slot in range(MAX_INTERVALS_PER_DAY):
            opens = form[f"d{day}_{slot}_opens"].data
            closes = form[f"d{day}_{slot}_closes"].data
            if opens is None and closes is None:
                continue
            if opens is None or closes is None:
                form[f"d{day}_{slot}_opens"].errors = [_("Give both the opening and the closing time.")]
                return _page(hours_form=form, status=400)
            week[day].append((opens, closes))
    try:
        set_weekly_hours(week)
    except InvalidInput as error:
        day = int(error.field[3:]) if error.field.startswith("day") else 0
        attach_error(form, InvalidInput(f"d{day}_0_opens", error.message, **error.params))
        return _page(hours_form=form, status=400)
    flash(_("Opening hours saved."), "ok")
    return redirect(url_for("schedule.show"))


@bp.route("/shifts", methods=["POST"])
@coordinator_required
def new_shift():  # type: ignore[no-untyped-def]
    form = _shift_form()
    if not form.validate_on_submit():
        return _page(shift_form=form, status=400)
    try:
        add_shift(form.weekday.data, form.starts.data, form.ends.data, form.mediator.data)
    except InvalidInput as error:
        attach_error(form, error, "starts")
        return _page(shift_form=form, status=400)
    flash(_("Mediator presence added."), "ok")
    return redirect(url_for("schedule.show"))


@bp.route("/shifts/<int:shift_id>/delete", methods=["POST"])
@coordinator_required
def remove_shift(shift_id: int):  # type: ignore[no-untyped-def]
    return _remove(delete_shift, shift_id, _("Mediator presence removed."))


@bp.route("/closures", methods=["POST"])
@coordinator_required
def new_closure():  # type: ignore[no-untyped-def]
    form = ClosureForm()
    if not form.validate_on_submit():
        return _page(closure_form=form, status=400)
    try:
        add_closure(form.first_day.data, form.last_day.data, form.reason.data)
    except InvalidInput as error:
        attach_error(form, error, "reason")
        return _page(closure_form=form, status=400)
    flash(_("Closure added."), "ok")
    return redirect(url_for("schedule.show"))


@bp.route("/closures/<int:closure_id>/delete", methods=["POST"])
@coordinator_required
def remove_closure(closure_id: int):  # type: ignore[no-untyped-def]
    return _remove(delete_closure, closure_id, _("Closure removed."))


def _remove(delete: Callable[[int], None], record_id: int, done: str):  # type: ignore[no-untyped-def]
    """A delete button: check its CSRF token, delete, say so, back to the page."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        delete(record_id)
    except NotFound:
        abort(404)
    flash(done, "ok")
    return redirect(url_for("schedule.show"))
