"""The laptop-thèque's staff pages: scan a tag, lend, take back with the checklist,
record the reset, renew, overdue loans with their reminders, the maintenance log."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from appliance.errors import N_, InvalidInput, NotFound
from appliance.lending import loans, maintenance, reservations
from appliance.lending.borrowers import SeveralMatches, resolve_borrower
from appliance.lending.inventory import (
    accessories_of,
    count_by,
    get_device,
    list_devices,
    normalise_tag,
)
from appliance.lending.terms import terms_language, terms_text
from appliance.models import Device, Loan, Member
from appliance.web import lending_forms as lf
from appliance.web.forms import EmptyForm
from appliance.web.labels import LANGUAGE_LABELS
from appliance.web.security import login_required
from appliance.web.util import attach_error, local_now, settings, translate

bp = Blueprint("lending", __name__, url_prefix="/staff/lending")


@bp.context_processor
def labels() -> dict:
    def resolved(lazy: dict) -> dict:
        return {key: str(value) for key, value in lazy.items()}

    return {
        "kind_labels": resolved(lf.KIND_LABELS),
        "status_labels": resolved(lf.STATUS_LABELS),
        "condition_labels": resolved(lf.CONDITION_LABELS),
        "loan_kind_labels": resolved(lf.LOAN_KIND_LABELS),
        "loan_state_labels": resolved(lf.LOAN_STATE_LABELS),
        "record_labels": resolved(lf.RECORD_LABELS),
        "accessory_label": lf.accessory_label,
        "accessories_of": accessories_of,
        "language_names": LANGUAGE_LABELS,
    }


def _device_or_404(tag: str) -> Device:
    try:
        return get_device(tag)
    except NotFound:
        abort(404)


def _desk(scan: lf.ScanForm, status: int = 200):  # type: ignore[no-untyped-def]
    now = local_now()
    reservations.hold_due(now.date())
    return render_template(
        "lending/desk.html",
        scan=scan,
        by_status=count_by("status"),
        current=loans.current_loans(),
        overdue=loans.overdue_loans(now),
        ahead=reservations.ahead(now.date())[:10],
        now=now,
    ), status


@bp.route("/")
@login_required
def desk():  # type: ignore[no-untyped-def]
    return _desk(lf.ScanForm(formdata=None))


@bp.route("/scan")
@login_required
def scan():  # type: ignore[no-untyped-def]
    """A USB barcode reader types the tag and Enter into the desk's field: open the device."""
    form = lf.ScanForm(request.args)
    if not form.validate():
        return _desk(form, 400)
    tag = normalise_tag(form.tag.data)
    if Device.get_or_none(Device.tag == tag) is None:
        form.tag.errors = [_("No device has the tag %(tag)s.", tag=tag[:20])]
        return _desk(form, 404)
    return redirect(url_for("lending.device", tag=tag))


@bp.route("/devices")
@login_required
def devices():  # type: ignore[no-untyped-def]
    kind, status = request.args.get("kind", ""), request.args.get("status", "")
    return render_template(
        "lending/devices.html", devices=list_devices(kind, status), kind=kind, status=status
    )


def _checkout_form(device: Device, formdata=None) -> lf.CheckoutForm:  # type: ignore[no-untyped-def]
    form = lf.CheckoutForm(formdata=formdata)  # None: a blank form
    if formdata is None:
        form.new_language.data = settings().site.default_language
    form.deposit.label.text = _(
        "Deposit received: %(amount)s €", amount=f"{settings().lending.deposit_cents / 100:.2f}"
    )
    return form


def _checkin_form(device: Device, loan: Loan | None, formdata=None) -> lf.CheckinForm:  # type: ignore[no-untyped-def]
    form = lf.CheckinForm(formdata=formdata)
    given = accessories_of(loan.accessories_out if loan else device.accessories)
    form.accessories.choices = [(code, lf.accessory_label(code)) for code in given]
    if formdata is None:
        form.condition.data = device.condition
    return form


def render_device(device: Device, status: int = 200, **forms):  # type: ignore[no-untyped-def]
    """The device's page: what it is, where it is, and the one action its status allows."""
    device = Device.get_by_id(device.id)
    loan = loans.open_loan_of(device)
    candidates = forms.pop("candidates", [])
    context = {
        "device": device,
        "loan": loan,
        "candidates": candidates,
        "checkout": forms.get("checkout") or _checkout_form(device),
        "checkin": forms.get("checkin") or _checkin_form(device, loan),
        "reset": forms.get("reset") or lf.ResetForm(formdata=None, prefix="reset"),
        "record": forms.get("record") or lf.MaintenanceForm(formdata=None),
        "small_form": EmptyForm(formdata=None),
        "history": loans.loans_of_device(device),
        "log": maintenance.log_of(device),
        "reset_ok": loans.reset_recorded(device),
        "now": local_now(),
        "held_for": [r for r in device.reservations if r.state == "active"],
        "waiting": reservations.waiting_list(device.kind),
        "deposit_cents": settings().lending.deposit_cents,
        "terms_preview": terms_text(settings().site.default_language),
        # A refused form is shown again with its message and what was typed, even when the
        # device's status no longer offers that action (another desk was quicker).
        "checkout_failed": "checkout" in forms,
        "checkin_failed": "checkin" in forms,
    }
    return render_template("lending/device.html", **context), status


@bp.route("/devices/<tag>")
@login_required
def device(tag: str):  # type: ignore[no-untyped-def]
    return render_device(_device_or_404(tag))


def _borrower_from(form: lf.CheckoutForm) -> tuple[Member | None, dict | None]:
    if form.member_id.data:
        member = (
            Member.get_or_none(Member.id == int(form.member_id.data))
            if form.member_id.data.isdigit()
            else None
        )
        if member is None:
            raise InvalidInput("borrower", N_("Choose a person from the list."))
        return member, None
    if (form.borrower.data or "").strip():
        return resolve_borrower(form.borrower.data), None
    if (form.new_name.data or "").strip():
        return None, {
            "display_name": form.new_name.data,
            "contact": form.new_contact.data or "",
            "language": form.new_language.data or "fr",
            "category": form.new_category.data or "visitor",
            "id_seen": form.id_seen.data,
        }
    raise InvalidInput(
        "borrower", N_("Scan the member card, type a name, or register a new borrower.")
    )


@bp.route("/devices/<tag>/checkout", methods=["POST"])
@login_required
def checkout(tag: str):  # type: ignore[no-untyped-def]
    device = _device_or_404(tag)
    form = _checkout_form(device, request.form)
    if not form.validate_on_submit():
        return render_device(device, 400, checkout=form)
    deposit = settings().lending.deposit_cents if form.deposit.data else 0
    try:
        member, new = _borrower_from(form)
        loan = loans.check_out(
            device.tag,
            member,
            form.loan_kind.data,
            g.user,
            local_now(),
            accept_terms=form.accept_terms.data,
            due_day=form.due_day.data,
            deposit_cents=deposit,
            config=settings().lending,
            new_borrower=new,
            id_seen_by=g.user if form.id_seen.data else None,
        )
    except SeveralMatches as several:
        form.member_id.choices = [
            (str(m.id), f"{m.display_name} ({m.number})") for m in several.candidates
        ]
        attach_error(form, several, "borrower")
        return render_device(device, 400, checkout=form, candidates=several.candidates)
    except loans.DeviceUnavailable as error:
        attach_error(form, error, "borrower")
        return render_device(device, 409, checkout=form)
    except InvalidInput as error:
        field = {"display_name": "new_name", "contact": "new_contact", "tag": "borrower"}.get(
            error.field, error.field
        )
        error.field = field
        attach_error(form, error, "borrower")
        return render_device(device, 400, checkout=form)
    flash(_("Lent until %(day)s.", day=format_date(loan.due_at, "full")), "ok")
    return redirect(url_for("lending.device", tag=device.tag, slip=loan.id))


@bp.route("/devices/<tag>/checkin", methods=["POST"])
@login_required
def checkin(tag: str):  # type: ignore[no-untyped-def]
    device = _device_or_404(tag)
    form = _checkin_form(device, loans.open_loan_of(device), request.form)
    if not form.validate_on_submit():
        return render_device(device, 400, checkin=form)
    try:
        back = loans.check_in(
            device.tag,
            g.user,
            local_now(),
            form.accessories.data or [],
            form.condition.data,
            form.notes.data or "",
            form.damaged.data,
            form.wiped.data,
            form.signed_out.data,
        )
    except InvalidInput as error:
        attach_error(form, error, "condition")
        return render_device(device, 409 if error.field == "tag" else 400, checkin=form)
    flash(_("Taken back."), "ok")
    if back.maintenance is not None:
        flash(_("A maintenance record was opened."), "error")
    elif not back.reset:
        flash(_("Record the reset before the device is lent again."), "error")
    return redirect(url_for("lending.device", tag=device.tag))


@bp.route("/devices/<tag>/reset", methods=["POST"])
@login_required
def reset(tag: str):  # type: ignore[no-untyped-def]
    device = _device_or_404(tag)
    form = lf.ResetForm(prefix="reset")  # its boxes may share the page with the check-in's
    if not form.validate_on_submit():
        return render_device(device, 400, reset=form)
    try:
        loans.record_reset(device.tag, form.wiped.data, form.signed_out.data, g.user, local_now())
    except InvalidInput as error:
        attach_error(form, error, "wiped")
        return render_device(device, 400, reset=form)
    flash(_("Reset recorded."), "ok")
    return redirect(url_for("lending.device", tag=device.tag))


@bp.route("/devices/<tag>/maintenance", methods=["POST"])
@login_required
def add_record(tag: str):  # type: ignore[no-untyped-def]
    device = _device_or_404(tag)
    form = lf.MaintenanceForm()
    if not form.validate_on_submit():
        return render_device(device, 400, record=form)
    try:
        maintenance.add_record(
            device.tag,
            form.kind.data,
            form.note.data or "",
            form.keep_open.data,
            g.user,
            local_now(),
        )
    except InvalidInput as error:
        attach_error(form, error, "kind")
        return render_device(device, 400, record=form)
    flash(_("Added to the maintenance log."), "ok")
    return redirect(url_for("lending.device", tag=device.tag))


def _small_action(action, success: str, tag_of):  # type: ignore[no-untyped-def]
    """A button-only form (renew, lost, close a record): act, then back to the device."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        tag = tag_of()
        action()
    except NotFound:
        abort(404)
    except InvalidInput as error:
        flash(translate(error), "error")
        return render_device(get_device(tag), 409)
    flash(success, "ok")
    return redirect(url_for("lending.device", tag=tag))


@bp.route("/loans/<int:loan_id>/renew", methods=["POST"])
@login_required
def renew(loan_id: int):  # type: ignore[no-untyped-def]
    return _small_action(
        lambda: loans.renew(loan_id, local_now(), settings().lending),
        _("Loan renewed."),
        lambda: loans.get_loan(loan_id).device.tag,
    )


@bp.route("/loans/<int:loan_id>/lost", methods=["POST"])
@login_required
def lost(loan_id: int):  # type: ignore[no-untyped-def]
    return _small_action(
        lambda: loans.declare_lost(loan_id, g.user, local_now()),
        _("Declared lost."),
        lambda: loans.get_loan(loan_id).device.tag,
    )


@bp.route("/maintenance/<int:record_id>/close", methods=["POST"])
@login_required
def close_record(record_id: int):  # type: ignore[no-untyped-def]
    from appliance.models import MaintenanceRecord

    def tag_of() -> str:
        record = MaintenanceRecord.get_or_none(MaintenanceRecord.id == record_id)
        if record is None:
            raise NotFound(record_id)
        return record.device.tag

    return _small_action(
        lambda: maintenance.close_record(record_id, local_now()), _("Record closed."), tag_of
    )


def reminder_text(loan: Loan) -> str:
    """A short text in the borrower's language, to send by SMS or read on the phone."""
    member = loan.borrower
    language = member.language if member else settings().site.default_language
    with force_locale(language):
        return _(
            "Hello %(name)s, this is %(epn)s. The %(device)s (%(tag)s) you borrowed was due back on "
            "%(day)s. Please bring it back soon, or call us. Thank you!",
            name=member.display_name if member else "",
            epn=settings().site.name,
            device=str(lf.KIND_LABELS[loan.device.kind]).lower(),
            tag=loan.device.tag,
            day=format_date(loan.due_at, "long"),
        )


@bp.route("/overdue")
@login_required
def overdue():  # type: ignore[no-untyped-def]
    late = loans.overdue_loans(local_now())
    return render_template(
        "lending/overdue.html",
        late=late,
        texts={o.loan.id: reminder_text(o.loan) for o in late},
        small_form=EmptyForm(formdata=None),
        lost_after=settings().lending.lost_after_days,
    )


@bp.route("/loans/<int:loan_id>/reminded", methods=["POST"])
@login_required
def reminded(loan_id: int):  # type: ignore[no-untyped-def]
    if not EmptyForm().validate_on_submit():
        abort(400)
    loans.mark_reminded(loan_id, local_now())
    flash(_("Reminder noted."), "ok")
    return redirect(url_for("lending.overdue"))


@bp.route("/loans/<int:loan_id>/slip")
@login_required
def slip(loan_id: int):  # type: ignore[no-untyped-def]
    try:
        loan = loans.get_loan(loan_id)
    except NotFound:
        abort(404)
    language = loan.borrower.language if loan.borrower else settings().site.default_language
    return render_template(
        "lending/slip.html",
        loan=loan,
        terms=terms_text(language),
        terms_lang=terms_language(language),
    )


from appliance.web import lending_pages  # noqa: F401  (more routes on this blueprint)
