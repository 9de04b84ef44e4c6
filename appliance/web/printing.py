"""Printing, for visitors: the jobs held from this computer with their code, a PDF sent
from a phone, and releasing by code. No JavaScript needed; FR, NL, EN and Arabic."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import InputRequired, Length, NumberRange

from appliance.errors import InvalidInput
from appliance.hardware.printing import PrintSystem, PrintSystemError, print_system_for
from appliance.printing.jobs import CODE_LENGTH, MAX_COPIES, Released, discover, held_jobs, release_code, upload
from appliance.web.util import attach_error, local_now, settings, translate

bp = Blueprint("printing", __name__, url_prefix="/print")
log = logging.getLogger("appliance.web.printing")
CODE_KEY = "print_code"  # in the visitor's own session cookie: the code of their uploads


class UploadForm(FlaskForm):
    file = FileField(_l("Your PDF document"), validators=[FileRequired(_l("Choose a PDF file."))])
    copies = IntegerField(_l("Copies"), default=1, validators=[
        InputRequired(_l("How many copies?")),
        NumberRange(1, MAX_COPIES, _l("Choose between 1 and %(max)s copies.", max=MAX_COPIES))])
    duplex = BooleanField(_l("Both sides of the paper"))
    colour = BooleanField(_l("In colour"))


class CodeForm(FlaskForm):
    code = StringField(_l("Your code"), validators=[
        InputRequired(_l("Type the code you were given.")), Length(max=20)])


def print_system() -> PrintSystem:
    """The app's print system: CUPS or the fake, per printing.backend (tests may set one)."""
    system = current_app.extensions.get("epn_print_system")
    if system is None:
        system = current_app.extensions["epn_print_system"] = print_system_for(settings())
    return system


def refresh_held() -> bool:
    """Record jobs newly held in CUPS; False when CUPS cannot be reached."""
    try:
        discover(print_system(), settings())
        return True
    except PrintSystemError as error:
        log.warning("held jobs not read: %s", error)
        return False


def released_message(done: list[Released]) -> str:
    pages = sum(item.job.units for item in done)
    if any(item.waiting for item in done):
        return _("The printer is paused: your document waits and prints when it starts again. "
                 "If it does not, nothing is counted.")
    return ngettext("Printing: %(num)s page.", "Printing: %(num)s pages.", pages)


def _page(upload_form: UploadForm, code_form: CodeForm, status: int = 200):  # type: ignore[no-untyped-def]
    reachable = refresh_held()
    mine = held_jobs(host=request.remote_addr or "-")
    code = session.get(CODE_KEY)
    if code:
        mine += [job for job in held_jobs(code=code) if job not in mine]
    printing = settings().printing
    return render_template(
        "printing/portal.html", jobs=mine, upload_form=upload_form, code_form=code_form,
        reachable=reachable, guest_bw=printing.guest_bw, guest_colour=printing.guest_colour,
        max_pages=printing.max_pages, max_kb=settings().server.max_upload_kb, code_length=CODE_LENGTH,
    ), status


@bp.route("/")
def home():  # type: ignore[no-untyped-def]
    return _page(UploadForm(formdata=None), CodeForm(formdata=None))


@bp.route("/upload", methods=["POST"])
def send():  # type: ignore[no-untyped-def]
    form = UploadForm()
    if not form.validate_on_submit():
        return _page(form, CodeForm(formdata=None), 400)
    colour = bool(form.colour.data) and settings().printing.guest_colour > 0
    try:
        job = upload(print_system(), settings(), form.file.data.read(), form.file.data.filename or "",
                     form.copies.data, colour, bool(form.duplex.data), code=session.get(CODE_KEY))
    except InvalidInput as error:
        attach_error(form, error, "file")
        return _page(form, CodeForm(formdata=None), 400)
    session[CODE_KEY] = job.code
    flash(_("Your document is waiting. Your code: %(code)s", code=job.code), "ok")
    return redirect(url_for("printing.home"), 303)


@bp.route("/release", methods=["POST"])
def release():  # type: ignore[no-untyped-def]
    form = CodeForm()
    if not form.validate_on_submit():
        return _page(UploadForm(formdata=None), form, 400)
    try:
        done = release_code(print_system(), settings(), form.code.data, local_now())
    except InvalidInput as error:
        attach_error(form, error, "code")
        return _page(UploadForm(formdata=None), form, 400)
    except PrintSystemError:
        form.code.errors = list(form.code.errors) + [_("The printer cannot be reached. Ask at the desk.")]
        return _page(UploadForm(formdata=None), form, 503)
    flash(released_message(done), "ok")
    return redirect(url_for("printing.home"), 303)


__all__ = ["bp", "print_system", "refresh_held", "released_message", "translate"]
