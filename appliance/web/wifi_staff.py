"""The visitors' Wi-Fi for staff: devices connected now (no address shown), ending a
session, pausing the Wi-Fi (e.g. during an exam), printing and revoking vouchers."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from appliance.errors import InvalidInput
from appliance.hardware.firewall import FirewallError, firewall_for
from appliance.web.forms import REQUIRED, EmptyForm
from appliance.web.security import login_required
from appliance.web.util import attach_error, settings
from appliance.wifi import sessions
from appliance.wifi.vouchers import create_vouchers, display, recent_vouchers, revoke_voucher

bp = Blueprint("wifi_staff", __name__, url_prefix="/staff/wifi")
RANGE = _l("Type a number in the range shown.")


class VoucherForm(FlaskForm):
    count = IntegerField(_l("How many codes (1 to 200)"), default=10,
                         validators=[InputRequired(REQUIRED), NumberRange(1, 200, RANGE)])
    minutes = IntegerField(_l("Minutes of internet per code"), default=180,
                           validators=[InputRequired(REQUIRED), NumberRange(5, 10080, RANGE)])
    uses_allowed = IntegerField(_l("Devices per code"), default=1,
                                validators=[InputRequired(REQUIRED), NumberRange(1, 100, RANGE)])
    batch = StringField(_l("For (e.g. the workshop's name)"), validators=[Optional(), Length(max=60)])


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _page(form: VoucherForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    now = _now()
    wifi, firewall = settings().wifi, firewall_for(settings())
    try:
        sessions.refresh(now, wifi, firewall)
        firewall_ok = True
    except FirewallError:
        firewall_ok = False
    active = sessions.active_sessions(now)
    return render_template(
        "wifi/staff.html", active=active, now=now, paused=sessions.is_paused(),
        firewall_ok=firewall_ok, form=form or VoucherForm(formdata=None),
        button_form=EmptyForm(), vouchers=recent_vouchers(50), display=display,
        seconds_left=sessions.seconds_left,
    ), status


@bp.route("/")
@login_required
def index():  # type: ignore[no-untyped-def]
    return _page()


@bp.route("/sessions/<int:session_id>/end", methods=["POST"])
@login_required
def end(session_id: int):  # type: ignore[no-untyped-def]
    try:
        ended = sessions.end_session(session_id, _now(), firewall_for(settings()))
    except FirewallError:
        flash(_("The Wi-Fi did not answer: try again."), "error")
        return redirect(url_for("wifi_staff.index"), 303)
    flash(_("Session ended.") if ended else _("This session had already ended."), "info")
    return redirect(url_for("wifi_staff.index"), 303)


@bp.route("/pause", methods=["POST"])
@login_required
def pause():  # type: ignore[no-untyped-def]
    paused = request.form.get("paused") == "1"
    try:
        sessions.pause(paused, _now(), firewall_for(settings()))
    except FirewallError:
        flash(_("The Wi-Fi did not answer: try again."), "error")
        return redirect(url_for("wifi_staff.index"), 303)
    flash(_("The visitors' Wi-Fi is paused.") if paused else _("The visitors' Wi-Fi is on again."), "info")
    return redirect(url_for("wifi_staff.index"), 303)


@bp.route("/vouchers", methods=["POST"])
@login_required
def new_vouchers():  # type: ignore[no-untyped-def]
    form = VoucherForm()
    if not form.validate():
        return _page(form, 400)
    try:
        made = create_vouchers(form.count.data, form.minutes.data, form.batch.data or "",
                               form.uses_allowed.data)
    except InvalidInput as error:
        attach_error(form, error, "count")
        return _page(form, 400)
    return render_template("wifi/voucher_sheet.html", vouchers=made, display=display,
                           wifi=settings().wifi)


@bp.route("/vouchers/revoke", methods=["POST"])
@login_required
def revoke():  # type: ignore[no-untyped-def]
    form = EmptyForm()
    if not form.validate():
        return _page(status=400)
    try:
        voucher = revoke_voucher(request.form.get("code", "")[:40], _now())
        ended = sessions.revoke_voucher_sessions(voucher, _now(), firewall_for(settings()))
    except InvalidInput as error:
        flash(_(error.message), "error")
        return redirect(url_for("wifi_staff.index"), 303)
    except FirewallError:
        flash(_("The Wi-Fi did not answer: try again."), "error")
        return redirect(url_for("wifi_staff.index"), 303)
    flash(_("Code revoked; %(count)s session(s) ended.", count=ended), "info")
    return redirect(url_for("wifi_staff.index"), 303)
