"""More pages of the laptop-thèque (on the `lending` blueprint): the inventory and its CSV,
the label sheet, reservations, the lending terms and the audit walk."""

from __future__ import annotations

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from appliance.errors import InvalidInput, NotFound
from appliance.lending import loans, maintenance, reservations
from appliance.lending.borrowers import resolve_borrower
from appliance.lending.inventory import (
    InventoryFileError,
    export_inventory,
    import_inventory,
    list_devices,
    normalise_tag,
    parse_inventory,
    retire_device,
    save_device,
)
from appliance.lending.labels import qr_svg, sheets
from appliance.lending.privacy import export_member
from appliance.lending.terms import (
    DEFAULT_TERMS,
    is_custom,
    save_terms,
    terms_language,
    terms_text,
)
from appliance.members import get_member
from appliance.models import Reservation
from appliance.web import lending_forms as lf
from appliance.web.forms import EmptyForm, ImportForm
from appliance.web.labels import LANGUAGE_LABELS
from appliance.web.lending import _device_or_404, bp, render_device
from appliance.web.security import coordinator_required, login_required
from appliance.web.util import attach_error, local_now, settings, translate

# --- Inventory ----------------------------------------------------------------------


@bp.route("/devices/new", methods=["GET", "POST"])
@coordinator_required
def new_device():  # type: ignore[no-untyped-def]
    form = lf.DeviceForm()
    if not form.validate_on_submit():
        return render_template(
            "lending/device_form.html", form=form
        ), 400 if request.method == "POST" else 200
    values = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}
    values["ownership_years"] = settings().lending.ownership_years
    try:
        device = save_device(values)
    except InvalidInput as error:
        attach_error(form, error, "tag")
        return render_template("lending/device_form.html", form=form), 400
    flash(_("Device added."), "ok")
    return redirect(url_for("lending.device", tag=device.tag))


@bp.route("/devices/<tag>/edit", methods=["GET", "POST"])
@coordinator_required
def edit_device(tag: str):  # type: ignore[no-untyped-def]
    device = _device_or_404(tag)
    form = lf.DeviceForm(obj=device)
    del form.tag  # the tag is on the label: it does not change
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("lending/device_form.html", form=form, device=device), status
    values = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}
    values["ownership_years"] = settings().lending.ownership_years
    try:
        save_device(values, device)
    except InvalidInput as error:
        attach_error(form, error, "model")
        return render_template("lending/device_form.html", form=form, device=device), 400
    flash(_("Changes saved."), "ok")
    return redirect(url_for("lending.device", tag=device.tag))


@bp.route("/devices/<tag>/retire", methods=["POST"])
@coordinator_required
def retire(tag: str):  # type: ignore[no-untyped-def]
    device = _device_or_404(tag)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        retire_device(device, local_now())
    except InvalidInput as error:
        flash(translate(error), "error")
        return render_device(device, 409)
    flash(_("Device retired from the inventory."), "ok")
    return redirect(url_for("lending.device", tag=device.tag))


@bp.route("/import", methods=["GET", "POST"])
@coordinator_required
def import_devices():  # type: ignore[no-untyped-def]
    form = ImportForm()
    if request.method == "GET":
        return render_template("lending/import.html", form=form, errors=[])
    if not form.validate_on_submit():
        return render_template("lending/import.html", form=form, errors=[]), 400
    try:
        rows = parse_inventory(form.file.data.read(), settings().lending.ownership_years)
    except InventoryFileError as problem:
        errors = [(e.line, _(e.message, **e.params)) for e in problem.errors]
        return render_template("lending/import.html", form=form, errors=errors), 400
    added, updated = import_inventory(rows)
    flash(
        _(
            "Inventory imported: %(added)s added, %(updated)s updated.",
            added=added,
            updated=updated,
        ),
        "ok",
    )
    return redirect(url_for("lending.devices"))


@bp.route("/export.csv")
@login_required
def export_devices():  # type: ignore[no-untyped-def]
    return Response(
        export_inventory(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="inventory.csv"'},
    )


@bp.route("/labels")
@login_required
def labels_sheet():  # type: ignore[no-untyped-def]
    """A4 sheets of labels (3 x 8), one per device (of a kind), each with its QR code."""
    kind = request.args.get("kind", "")
    chosen = {normalise_tag(t) for t in request.args.get("tags", "").split(",") if t.strip()}
    devices = [d for d in list_devices(kind) if not chosen or d.tag in chosen]
    skip = request.args.get("skip", "0")
    skip_n = int(skip) if skip.isdigit() and int(skip) < 24 else 0
    labels = [
        {"device": d, "qr": qr_svg(url_for("lending.device", tag=d.tag, _external=True))}
        for d in devices
    ]
    return render_template(
        "lending/labels.html", sheets=sheets(labels, skip_n), kind=kind, count=len(devices)
    )


# --- Reservations -------------------------------------------------------------------


def _reservations_page(form: lf.ReservationForm, status: int = 200):  # type: ignore[no-untyped-def]
    today = local_now().date()
    return render_template(
        "lending/reservations.html",
        form=form,
        ahead=reservations.ahead(today),
        waiting=reservations.waiting_list(),
        small_form=EmptyForm(formdata=None),
    ), status


@bp.route("/reservations")
@login_required
def reservations_page():  # type: ignore[no-untyped-def]
    return _reservations_page(lf.ReservationForm(formdata=None))


@bp.route("/reservations", methods=["POST"])
@login_required
def reserve():  # type: ignore[no-untyped-def]
    form = lf.ReservationForm()
    if not form.validate_on_submit():
        return _reservations_page(form, 400)
    now = local_now()
    try:
        member = resolve_borrower(form.borrower.data)
        reservations.reserve(
            member, form.kind.data, now.date(), now, form.tag.data or "", form.for_day.data
        )
    except InvalidInput as error:
        attach_error(form, error, "borrower")
        return _reservations_page(form, 400)
    flash(_("Reservation recorded."), "ok")
    return redirect(url_for("lending.reservations_page"))


@bp.route("/reservations/<int:reservation_id>/cancel", methods=["POST"])
@login_required
def cancel_reservation(reservation_id: int):  # type: ignore[no-untyped-def]
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        reservations.cancel(reservation_id, local_now())
    except NotFound:
        abort(404)
    except InvalidInput as error:
        flash(translate(error), "error")
        return _reservations_page(lf.ReservationForm(formdata=None), 409)
    flash(_("Reservation cancelled."), "ok")
    return redirect(url_for("lending.reservations_page"))


# --- Borrowers and terms ----------------------------------------------------------------


@bp.route("/borrowers/<int:member_id>")
@login_required
def borrower(member_id: int):  # type: ignore[no-untyped-def]
    try:
        member = get_member(member_id)
    except NotFound:
        abort(404)
    return render_template(
        "lending/borrower.html",
        member=member,
        data=export_member(member),
        current=loans.current_loans(member),
        held=[
            r
            for r in Reservation.select().where(
                (Reservation.member == member) & (Reservation.state == "active")
            )
        ],
    )


@bp.route("/terms", methods=["GET", "POST"])
@coordinator_required
def terms():  # type: ignore[no-untyped-def]
    language = request.values.get("language", settings().site.default_language)
    if language not in LANGUAGE_LABELS:
        abort(404)
    form = lf.TermsForm(data={"language": language, "text": terms_text(language)})
    status = 200
    if request.method == "POST":
        form = lf.TermsForm()
        if form.validate_on_submit():
            try:
                save_terms(language, form.text.data or "", g.user, local_now())
                flash(_("Lending terms saved."), "ok")
                return redirect(url_for("lending.terms", language=language))
            except InvalidInput as error:
                attach_error(form, error, "text")
        status = 400
    return render_template(
        "lending/terms.html",
        form=form,
        language=language,
        custom=is_custom(language),
        has_default=language in DEFAULT_TERMS,
        languages=LANGUAGE_LABELS,
    ), status


@bp.route("/terms/print")
@login_required
def print_terms():  # type: ignore[no-untyped-def]
    """The terms on paper, with the borrower's name and a place to sign."""
    member = None
    if request.args.get("member", "").isdigit():
        try:
            member = get_member(int(request.args["member"]))
        except NotFound:
            abort(404)
    language = request.args.get("language") or (
        member.language if member else settings().site.default_language
    )
    if language not in LANGUAGE_LABELS:
        abort(404)
    return render_template(
        "lending/terms_print.html",
        member=member,
        text=terms_text(language),
        language=terms_language(language),
        today=local_now().date(),
    )


# --- Audit walk -----------------------------------------------------------------------


def _audit_page(form: lf.AuditScanForm, status: int = 200):  # type: ignore[no-untyped-def]
    audit = maintenance.current_audit()
    return render_template(
        "lending/audit.html",
        form=form,
        audit=audit,
        small_form=EmptyForm(formdata=None),
        missing=maintenance.not_seen(audit) if audit else [],
        seen=maintenance.seen(audit) if audit else [],
    ), status


@bp.route("/audit")
@login_required
def audit():  # type: ignore[no-untyped-def]
    return _audit_page(lf.AuditScanForm(formdata=None))


@bp.route("/audit/start", methods=["POST"])
@login_required
def start_audit():  # type: ignore[no-untyped-def]
    if not EmptyForm().validate_on_submit():
        abort(400)
    maintenance.start_audit(g.user, local_now())
    return redirect(url_for("lending.audit"))


@bp.route("/audit/scan", methods=["POST"])
@login_required
def audit_scan():  # type: ignore[no-untyped-def]
    form = lf.AuditScanForm()
    if not form.validate_on_submit():
        return _audit_page(form, 400)
    try:
        device = maintenance.scan(form.tag.data, local_now())
    except InvalidInput as error:
        attach_error(form, error, "tag")
        return _audit_page(form, 404 if "No device" in error.message else 400)
    flash(_("Seen: %(tag)s.", tag=device.tag), "ok")
    return redirect(url_for("lending.audit"))


@bp.route("/audit/finish", methods=["POST"])
@login_required
def finish_audit():  # type: ignore[no-untyped-def]
    if not EmptyForm().validate_on_submit():
        abort(400)
    maintenance.finish_audit(local_now())
    flash(_("Audit finished."), "ok")
    return redirect(url_for("lending.desk"))
