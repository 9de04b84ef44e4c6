"""Printing, for staff: held jobs (release for a member or a guest, cancel), release by
code, printers (state, pause, resume; adding one is for coordinators), member quotas."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from appliance.errors import N_, InvalidInput, NotFound
from appliance.hardware.printing import PrintSystemError
from appliance.members import is_valid_number, normalise_number
from appliance.models import Member, PrintJob
from appliance.printing import jobs as print_jobs
from appliance.printing import printers as print_printers
from appliance.printing.quotas import MAX_GRANT, grant, member_balance, quota_period
from appliance.web.forms import choices
from appliance.web.printing import CodeForm, print_system, refresh_held, released_message
from appliance.web.security import coordinator_required, login_required
from appliance.web.util import attach_error, local_now, settings, translate

bp = Blueprint("printing_staff", __name__, url_prefix="/staff/printing")
REQUIRED = _l("This field is required.")
STATE_LABELS = {
    "held": _l("Waiting"), "released": _l("Printing"), "charged": _l("Printed"),
    "refunded": _l("Refunded"), "cancelled": _l("Cancelled"), "expired": _l("Expired"),
}
PRINTER_LABELS = {
    "idle": _l("Ready"), "printing": _l("Printing"), "stopped": _l("Paused"), "no_paper": _l("Out of paper"),
}


class ReleaseForm(FlaskForm):
    member = StringField(_l("Member card (optional)"), validators=[Optional(), Length(max=20)])


class EmptyForm(FlaskForm):
    pass


class PrinterForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(REQUIRED), Length(max=60)])
    uri = StringField(_l("Address (URI)"), validators=[InputRequired(REQUIRED), Length(max=255)])


class GrantForm(FlaskForm):
    kind = RadioField(_l("Pages"), default="bw", validators=[InputRequired(REQUIRED)],
                      choices=choices((("bw", _l("Black & white")), ("colour", _l("Colour")))))
    pages = IntegerField(_l("Pages to add (negative to remove)"), validators=[
        InputRequired(REQUIRED), NumberRange(-MAX_GRANT, MAX_GRANT)])
    reason = StringField(_l("Reason"), validators=[InputRequired(REQUIRED), Length(max=200)])


def member_by_number(text: str) -> Member | None:
    """The member whose card number was typed or scanned; None when nothing was typed."""
    number = normalise_number(text or "")
    if not number:
        return None
    member = Member.get_or_none(Member.number == number) if is_valid_number(number) else None
    if member is None:
        raise InvalidInput("member", N_("No member has this card number."))
    return member


def _desk(code_form: CodeForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    reachable = refresh_held()
    recent = (PrintJob.select().where(PrintJob.state != "held")
              .order_by(PrintJob.id.desc()).limit(20))
    return render_template(
        "printing/staff.html", held=print_jobs.held_jobs(), recent=list(recent), reachable=reachable,
        code_form=code_form or CodeForm(formdata=None), release_form=ReleaseForm(formdata=None),
        cancel_form=EmptyForm(), state_labels=STATE_LABELS,
    ), status


@bp.route("/")
@login_required
def desk():  # type: ignore[no-untyped-def]
    return _desk()


@bp.route("/release-code", methods=["POST"])
@login_required
def release_code():  # type: ignore[no-untyped-def]
    form = CodeForm()
    if not form.validate_on_submit():
        return _desk(form, 400)
    try:
        done = print_jobs.release_code(print_system(), settings(), form.code.data, local_now())
    except InvalidInput as error:
        attach_error(form, error, "code")
        return _desk(form, 400)
    flash(released_message(done), "ok")
    return redirect(url_for("printing_staff.desk"))


@bp.route("/jobs/<int:job_id>/release", methods=["POST"])
@login_required
def release(job_id: int):  # type: ignore[no-untyped-def]
    form = ReleaseForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        member = member_by_number(form.member.data)
        done = print_jobs.release(print_system(), settings(), job_id, local_now(), member=member)
    except NotFound:
        abort(404)
    except (InvalidInput, PrintSystemError) as error:
        message = translate(error) if isinstance(error, InvalidInput) else _("The printer cannot be reached.")
        flash(message, "error")
        return _desk(status=400)
    flash(released_message([done]), "ok")
    return redirect(url_for("printing_staff.desk"))


@bp.route("/jobs/<int:job_id>/cancel", methods=["POST"])
@login_required
def cancel(job_id: int):  # type: ignore[no-untyped-def]
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        print_jobs.cancel(print_system(), settings(), job_id, local_now())
    except NotFound:
        abort(404)
    except InvalidInput as error:
        flash(translate(error), "error")
        return redirect(url_for("printing_staff.desk"))
    flash(_("Job cancelled; nothing is counted."), "ok")
    return redirect(url_for("printing_staff.desk"))


# --- Printers ---------------------------------------------------------------------------


def _printers(form: PrinterForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    found = print_printers.list_printers(print_system())
    return render_template(
        "printing/printers.html", printers=found, status_of=print_printers.status_of,
        labels=PRINTER_LABELS, form=form or PrinterForm(formdata=None), action_form=EmptyForm(),
    ), status


@bp.route("/printers")
@login_required
def printers():  # type: ignore[no-untyped-def]
    return _printers()


def _printer_action(name: str, action: str):  # type: ignore[no-untyped-def]
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        getattr(print_printers, action)(print_system(), name)
    except InvalidInput as error:
        flash(translate(error), "error")
        return _printers(status=400)
    flash(_("Printer paused.") if action == "pause" else _("Printer started again."), "ok")
    return redirect(url_for("printing_staff.printers"))


@bp.route("/printers/<name>/pause", methods=["POST"])
@login_required
def pause_printer(name: str):  # type: ignore[no-untyped-def]
    return _printer_action(name, "pause")


@bp.route("/printers/<name>/resume", methods=["POST"])
@login_required
def resume_printer(name: str):  # type: ignore[no-untyped-def]
    return _printer_action(name, "resume")


@bp.route("/printers", methods=["POST"])
@coordinator_required
def add_printer():  # type: ignore[no-untyped-def]
    form = PrinterForm()
    if not form.validate_on_submit():
        return _printers(form, 400)
    try:
        print_printers.add_printer(print_system(), settings(), form.name.data, form.uri.data)
    except InvalidInput as error:
        attach_error(form, error, "uri")
        return _printers(form, 400)
    flash(_("Printer added: %(name)s.", name=form.name.data.strip()), "ok")
    return redirect(url_for("printing_staff.printers"))


# --- Quotas -----------------------------------------------------------------------------


@bp.route("/quota", methods=["GET", "POST"])
@login_required
def quota():  # type: ignore[no-untyped-def]
    """A member's pages this period; staff add (or remove) pages with a reason."""
    typed = request.values.get("member", "")[:20]
    form = GrantForm(formdata=request.form if request.method == "POST" else None)
    period = quota_period(local_now().date(), settings().printing)
    error, member = None, None
    try:
        member = member_by_number(typed)
    except InvalidInput as problem:
        error = translate(problem)
    status = 200 if error is None else 400
    if request.method == "POST" and member is not None:
        if form.validate_on_submit():
            try:
                grant(member, period, form.kind.data == "colour", form.pages.data, form.reason.data, g.user)
                flash(_("Quota changed."), "ok")
                return redirect(url_for("printing_staff.quota", member=member.number))
            except InvalidInput as problem:
                attach_error(form, problem, "pages")
        status = 400
    balance = member_balance(member, period, settings().printing) if member else None
    return render_template("printing/quota.html", typed=typed, member=member, error=error, form=form,
                           balance=balance, period=period), status
