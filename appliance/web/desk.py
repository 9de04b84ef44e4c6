"""The desk: the staff home screen, logging and correcting visits, importing tallies."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from appliance.desk import glance
from appliance.desk.tallies import TallyFileError, import_tallies, parse_tallies
from appliance.desk.visits import correct_visit, delete_visit, get_visit, log_visit, services_of, visits_on
from appliance.errors import InvalidInput, NotFound
from appliance.web.forms import EditVisitForm, EmptyForm, ImportForm, LogVisitForm
from appliance.web.labels import PURPOSE_LABELS
from appliance.web.security import coordinator_required, login_required
from appliance.web.util import attach_error, local_now, translate

bp = Blueprint("desk", __name__, url_prefix="/staff")


def _home(form: LogVisitForm, status: int = 200):  # type: ignore[no-untyped-def]
    now = local_now()
    return render_template(
        "staff/desk.html", form=form, glance=glance(now), visits=visits_on(now.date(), limit=30),
        services_of=services_of, undo_form=EmptyForm(),
    ), status


@bp.route("/")
@login_required
def home():  # type: ignore[no-untyped-def]
    return _home(LogVisitForm(formdata=None))


@bp.route("/visits", methods=["POST"])
@login_required
def log():  # type: ignore[no-untyped-def]
    form = LogVisitForm()
    if not form.validate_on_submit():
        return _home(form, 400)
    try:
        visit = log_visit(form.purpose.data, form.services.data or [], local_now())
    except InvalidInput as error:
        attach_error(form, error, "purpose")
        return _home(form, 400)
    flash(_("Visit logged: %(purpose)s.", purpose=PURPOSE_LABELS[visit.purpose]), "logged")
    flash(str(visit.id), "undo")
    return redirect(url_for("desk.home"))


@bp.route("/visits")
@login_required
def day():  # type: ignore[no-untyped-def]
    try:
        chosen = date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        chosen = local_now().date()
    return render_template("staff/visits.html", day=chosen, visits=visits_on(chosen),
                           services_of=services_of)


@bp.route("/visits/<int:visit_id>", methods=["GET", "POST"])
@login_required
def edit(visit_id: int):  # type: ignore[no-untyped-def]
    try:
        visit = get_visit(visit_id)
    except NotFound:
        abort(404)
    form = EditVisitForm(data={"purpose": visit.purpose, "services": services_of(visit),
                               "hour": str(visit.hour if visit.hour is not None else 12)})
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                correct_visit(visit_id, form.purpose.data, form.services.data or [], int(form.hour.data))
                flash(_("Visit corrected."), "ok")
                return redirect(url_for("desk.day", day=visit.day.isoformat()))
            except InvalidInput as error:
                attach_error(form, error, "purpose")
        return render_template("staff/visit_edit.html", form=form, visit=visit,
                               delete_form=EmptyForm()), 400
    return render_template("staff/visit_edit.html", form=form, visit=visit, delete_form=EmptyForm())


@bp.route("/visits/<int:visit_id>/delete", methods=["POST"])
@login_required
def delete(visit_id: int):  # type: ignore[no-untyped-def]
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        day_of_visit = get_visit(visit_id).day
        delete_visit(visit_id)
    except NotFound:
        abort(404)
    except InvalidInput as error:
        flash(translate(error), "error")
        return redirect(url_for("desk.edit", visit_id=visit_id))
    flash(_("Visit deleted."), "ok")
    if request.form.get("back") == "desk":
        return redirect(url_for("desk.home"))
    return redirect(url_for("desk.day", day=day_of_visit.isoformat()))


@bp.route("/import", methods=["GET", "POST"])
@coordinator_required
def import_visits():  # type: ignore[no-untyped-def]
    form = ImportForm()
    if request.method == "GET":
        return render_template("staff/import.html", form=form, errors=[])
    if not form.validate_on_submit():
        return render_template("staff/import.html", form=form, errors=[]), 400
    try:
        tallies = parse_tallies(form.file.data.read(), local_now().date())
    except TallyFileError as problem:
        errors = [(e.line, _(e.message, **e.params)) for e in problem.errors]
        return render_template("staff/import.html", form=form, errors=errors), 400
    total = import_tallies(tallies)
    flash(ngettext("%(num)s visit imported.", "%(num)s visits imported.", total), "ok")
    return redirect(url_for("desk.import_visits"))
