"""The hub's administration, for admin accounts only: EPNs (add, enrolment tokens, keys,
retire, identity), the coordination's accounts, and the audit log of these actions.

Every change goes through administration.py or accounts.py, which write one audit entry
in the action's own transaction. Bad input answers 400 with the page, what was typed kept
and nothing written.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from peewee import JOIN, OperationalError
from werkzeug.exceptions import NotFound as HttpNotFound
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from appliance.errors import InvalidInput, NotFound
from appliance.federation.hub import ORGANISERS, administration
from appliance.federation.hub.accounts import (
    AUTOMATIC,
    CLI,
    ROLES,
    AuditEntry,
    HubAccount,
    add_account,
    purge,
    set_active,
    set_password,
    set_role,
)
from appliance.federation.hub.epns import get_epn, list_epns, naive_utc
from appliance.federation.hub.web import admin_required
from appliance.federation.hub.web.hub_labels import ORGANISER_LABELS
from appliance.municipalities import commune_label
from appliance.web.forms import REQUIRED, EmptyForm, choices
from appliance.web.util import attach_error

bp = Blueprint("hub_admin", __name__, url_prefix="/admin")
log = logging.getLogger("appliance.federation.hub")
AUDIT_PAGE = 100

ROLE_LABELS = {"coordinator": _l("Coordinator (dashboard and exports)"),
               "admin": _l("Admin (also EPNs and accounts)")}
ACTION_LABELS = {
    "epn.add": _l("EPN added"),
    "epn.token": _l("Enrolment token issued"),
    "epn.correct": _l("Identity corrected"),
    "epn.retire": _l("EPN retired"),
    "epn.reactivate": _l("EPN reactivated"),
    "key.revoke": _l("Key revoked"),
    "key.rotate": _l("Key revoked, new enrolment token"),
    "token.add": _l("API token created"),
    "account.add": _l("Account added"),
    "account.disable": _l("Account disabled"),
    "account.enable": _l("Account enabled"),
    "account.role": _l("Role changed"),
    "account.password": _l("Password reset"),
    "purge": _l("Retention purge"),
}


class EpnForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=100)])
    commune = StringField(_l("Municipality (NIS code, or French or Dutch name)"),
                          validators=[DataRequired(REQUIRED), Length(max=60)])
    postal_code = StringField(_l("Postal code"), validators=[DataRequired(REQUIRED), Length(max=4)])
    organiser = SelectField(_l("Organiser"), choices=choices((code, ORGANISER_LABELS[code]) for code in ORGANISERS),
                            validators=[InputRequired(REQUIRED)])


class AccountForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(REQUIRED), Length(max=40)])
    display_name = StringField(_l("Display name"), validators=[Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED), Length(max=200)])
    role = SelectField(_l("Role"), choices=choices((role, ROLE_LABELS[role]) for role in ROLES),
                       validators=[InputRequired(REQUIRED)])


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=choices((role, ROLE_LABELS[role]) for role in ROLES),
                       validators=[InputRequired(REQUIRED)])


class PasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(REQUIRED), Length(max=200)])


def _hub():  # type: ignore[no-untyped-def]
    return current_app.extensions["epn_config"].hub


def _now() -> datetime:
    moment = current_app.extensions["hub_clock"]()
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _language() -> str:
    return str(get_locale() or "fr")


def _epn_or_404(epn_id: str):  # type: ignore[no-untyped-def]
    try:
        return get_epn(epn_id[:32])
    except NotFound:
        raise HttpNotFound() from None


@bp.route("/")
@admin_required
def home():  # type: ignore[no-untyped-def]
    return redirect(url_for("hub_admin.epns"))


@bp.before_app_request
def daily_purge() -> None:
    """Apply the retention of accounts and audit entries once a day per worker, on a page
    request (never on the API's hot path); `hub serve` also does it when it starts."""
    if request.path.startswith("/api/") or request.path in ("/healthz", "/favicon.ico") \
            or request.endpoint == "static":
        return
    now = naive_utc(_now())
    last = current_app.extensions.get("hub_last_purge")
    if last is not None and timedelta(0) <= now - last < timedelta(days=1):
        return
    current_app.extensions["hub_last_purge"] = now
    hub = _hub()
    try:
        purge(now, hub.account_retention_days, hub.audit_days)
    except OperationalError:  # busy: the next day, or the next worker, does it
        log.warning("retention purge skipped: database busy")


# --- EPNs ---------------------------------------------------------------------------------


def _epns_page(form: EpnForm, status: int = 200):  # type: ignore[no-untyped-def]
    rows = list_epns()
    return render_template("hub/admin_epns.html", form=form, epns=rows, language=_language(),
                           commune_label=commune_label, hours=_hub().enrolment_token_hours), status


@bp.route("/epns", methods=["GET", "POST"])
@admin_required
def epns():  # type: ignore[no-untyped-def]
    form = EpnForm()
    if request.method == "GET":
        return _epns_page(form)
    if not form.validate_on_submit():
        return _epns_page(form, 400)
    hours = _hub().enrolment_token_hours
    try:
        epn, token = administration.add_epn(g.account, form.name.data, form.commune.data, form.postal_code.data,
                                            form.organiser.data, _now(), hours)
    except InvalidInput as error:
        if error.field == "commune":  # epns.add_epn words it in English for the command line
            error = InvalidInput("commune", "Unknown municipality: give its 5-digit NIS code or its French or "
                                            "Dutch name.")
        attach_error(form, error, fallback="name")
        return _epns_page(form, 400)
    return _token_page(epn, token, added=True)


def _token_page(epn, token: str, added: bool = False, rotated: bool = False):  # type: ignore[no-untyped-def]
    return render_template("hub/admin_token.html", epn=epn, token=token, added=added, rotated=rotated,
                           hours=_hub().enrolment_token_hours)


def _epn_page(epn, form: EpnForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    if form is None:
        form = EpnForm(data={"name": epn.name, "commune": epn.commune, "postal_code": epn.postal_code,
                             "organiser": epn.organiser})
    return render_template("hub/admin_epn.html", epn=epn, form=form, action=EmptyForm(),
                           keys=administration.keys_of(epn.id),
                           pending=administration.pending_tokens(epn.id, _now()),
                           commune_name=commune_label(epn.commune, _language()),
                           hours=_hub().enrolment_token_hours), status


@bp.route("/epns/<epn_id>", methods=["GET", "POST"])
@admin_required
def epn(epn_id: str):  # type: ignore[no-untyped-def]
    """An EPN's administration page; POST corrects its identity."""
    current = _epn_or_404(epn_id)
    if request.method == "GET":
        return _epn_page(current)
    form = EpnForm()
    if not form.validate_on_submit():
        return _epn_page(current, form, 400)
    try:
        administration.correct_identity(g.account, current.id, form.name.data, form.commune.data,
                                        form.postal_code.data, form.organiser.data, _now())
    except InvalidInput as error:
        attach_error(form, error, fallback="name")
        return _epn_page(current, form, 400)
    flash(_("The EPN's identity is saved."), "ok")
    return redirect(url_for("hub_admin.epn", epn_id=current.id), 303)


def _action(epn_id: str):  # type: ignore[no-untyped-def]
    """The EPN of a button's form, or the EPN page again with 400 (no CSRF token)."""
    current = _epn_or_404(epn_id)
    if not EmptyForm().validate_on_submit():
        return current, _epn_page(current, status=400)
    return current, None


@bp.route("/epns/<epn_id>/token", methods=["POST"])
@admin_required
def enrolment_token(epn_id: str):  # type: ignore[no-untyped-def]
    current, refused = _action(epn_id)
    if refused:
        return refused
    try:
        token = administration.new_enrolment_token(g.account, current.id, _now(), _hub().enrolment_token_hours)
    except InvalidInput:
        flash(_("A retired EPN gets no enrolment token: reactivate it first."), "error")
        return _epn_page(current, status=400)
    return _token_page(current, token)


@bp.route("/epns/<epn_id>/rotate", methods=["POST"])
@admin_required
def rotate(epn_id: str):  # type: ignore[no-untyped-def]
    current, refused = _action(epn_id)
    if refused:
        return refused
    try:
        token = administration.rotate_from_hub(g.account, current.id, _now(), _hub().enrolment_token_hours)
    except InvalidInput:
        flash(_("A retired EPN gets no enrolment token: reactivate it first."), "error")
        return _epn_page(current, status=400)
    return _token_page(current, token, rotated=True)


@bp.route("/epns/<epn_id>/keys/<key_id>/revoke", methods=["POST"])
@admin_required
def revoke(epn_id: str, key_id: str):  # type: ignore[no-untyped-def]
    current, refused = _action(epn_id)
    if refused:
        return refused
    if key_id not in {row.key_id for row in administration.keys_of(current.id)}:
        raise HttpNotFound()
    administration.revoke_key(g.account, key_id, _now())
    flash(_("The key is revoked: reports signed with it are refused from now on."), "ok")
    return redirect(url_for("hub_admin.epn", epn_id=current.id), 303)


@bp.route("/epns/<epn_id>/retire", methods=["POST"])
@admin_required
def retire(epn_id: str):  # type: ignore[no-untyped-def]
    current, refused = _action(epn_id)
    if refused:
        return refused
    administration.retire(g.account, current.id, _now())
    flash(_("The EPN is retired: no report is expected from it any more; its reports stay in the figures."), "ok")
    return redirect(url_for("hub_admin.epn", epn_id=current.id), 303)


@bp.route("/epns/<epn_id>/reactivate", methods=["POST"])
@admin_required
def reactivate(epn_id: str):  # type: ignore[no-untyped-def]
    current, refused = _action(epn_id)
    if refused:
        return refused
    administration.reactivate(g.account, current.id, _now())
    flash(_("The EPN is active again: issue an enrolment token so that it can enrol a key."), "ok")
    return redirect(url_for("hub_admin.epn", epn_id=current.id), 303)


# --- Accounts -----------------------------------------------------------------------------


def _accounts_page(form: AccountForm | None = None, status: int = 200, error: str | None = None):  # type: ignore[no-untyped-def]
    accounts = list(HubAccount.select().order_by(HubAccount.active.desc(), HubAccount.login))
    return render_template("hub/admin_accounts.html", form=form or AccountForm(formdata=None), accounts=accounts,
                           action=EmptyForm(), roles=ROLE_LABELS, error=error,
                           retention_days=_hub().account_retention_days), status


def _account_or_404(account_id: int) -> HubAccount:
    account = HubAccount.get_or_none(HubAccount.id == account_id)
    if account is None:
        raise HttpNotFound()
    return account


@bp.route("/accounts", methods=["GET", "POST"])
@admin_required
def accounts():  # type: ignore[no-untyped-def]
    form = AccountForm()
    if request.method == "GET":
        return _accounts_page(form)
    if not form.validate_on_submit():
        return _accounts_page(form, 400)
    try:
        account = add_account(g.account, form.username.data, form.password.data, form.role.data,
                              form.display_name.data or "")
    except InvalidInput as error:
        attach_error(form, error, fallback="username")
        return _accounts_page(form, 400)
    flash(_("Account %(login)s added.", login=account.login), "ok")
    return redirect(url_for("hub_admin.accounts"), 303)


def _account_change(account_id: int, change):  # type: ignore[no-untyped-def]
    """Run `change(account)`; an InvalidInput gives the accounts page again with 400."""
    account = _account_or_404(account_id)
    try:
        change(account)
    except InvalidInput as error:
        from appliance.web.util import translate

        return _accounts_page(status=400, error=translate(error))
    return redirect(url_for("hub_admin.accounts"), 303)


@bp.route("/accounts/<int:account_id>/disable", methods=["POST"])
@admin_required
def disable(account_id: int):  # type: ignore[no-untyped-def]
    if not EmptyForm().validate_on_submit():
        return _accounts_page(status=400)

    def change(account: HubAccount) -> None:
        set_active(g.account, account.id, False, naive_utc(_now()))
        flash(_("Account %(login)s disabled: it can no longer sign in; it is deleted after %(days)s days.",
                login=account.login, days=_hub().account_retention_days), "ok")

    return _account_change(account_id, change)


@bp.route("/accounts/<int:account_id>/enable", methods=["POST"])
@admin_required
def enable(account_id: int):  # type: ignore[no-untyped-def]
    if not EmptyForm().validate_on_submit():
        return _accounts_page(status=400)

    def change(account: HubAccount) -> None:
        set_active(g.account, account.id, True, naive_utc(_now()))
        flash(_("Account %(login)s enabled.", login=account.login), "ok")

    return _account_change(account_id, change)


@bp.route("/accounts/<int:account_id>/role", methods=["POST"])
@admin_required
def role(account_id: int):  # type: ignore[no-untyped-def]
    form = RoleForm()
    if not form.validate_on_submit():
        return _accounts_page(status=400, error=_("Choose a role from the list."))

    def change(account: HubAccount) -> None:
        set_role(g.account, account.id, form.role.data)
        flash(_("Account %(login)s: role saved.", login=account.login), "ok")

    return _account_change(account_id, change)


@bp.route("/accounts/<int:account_id>/password", methods=["GET", "POST"])
@admin_required
def password(account_id: int):  # type: ignore[no-untyped-def]
    account = _account_or_404(account_id)
    form = PasswordForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            set_password(g.account, account.id, form.password.data)
        except InvalidInput as error:
            attach_error(form, error, fallback="password")
        else:
            flash(_("Account %(login)s: new password saved; its sessions have ended.", login=account.login), "ok")
            return redirect(url_for("hub_admin.accounts"), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("hub/admin_password.html", form=form, account=account), status


# --- Audit log ----------------------------------------------------------------------------


@bp.route("/audit")
@admin_required
def audit_log():  # type: ignore[no-untyped-def]
    page = request.args.get("page", "1")
    number = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    query = AuditEntry.select(AuditEntry, HubAccount).join(HubAccount, JOIN.LEFT_OUTER).order_by(
        AuditEntry.at.desc(), AuditEntry.id.desc())
    total = AuditEntry.select().count()
    entries = [_audit_row(entry) for entry in query.paginate(number, AUDIT_PAGE)]
    return render_template("hub/admin_audit.html", entries=entries, page=number, action=EmptyForm(),
                           more=number * AUDIT_PAGE < total, audit_days=_hub().audit_days,
                           retention_days=_hub().account_retention_days)


def _audit_row(entry: AuditEntry) -> dict:
    """When, who, what, on what, details: the origin (command line, automatic) that
    administration.py puts first in the detail becomes the "who" of an entry without account."""
    origin, _sep, rest = entry.detail.partition("; ")
    if origin not in (CLI, AUTOMATIC):
        origin, rest = "", entry.detail
    if entry.account_id is not None:
        who = entry.account.login
    else:
        who = {CLI: _("command line"), AUTOMATIC: _("the hub (automatic)")}.get(origin, _("deleted account"))
    return {"at": entry.at, "who": who, "what": str(ACTION_LABELS.get(entry.action, entry.action)),
            "target": entry.target, "detail": rest}


@bp.route("/purge", methods=["POST"])
@admin_required
def run_purge():  # type: ignore[no-untyped-def]
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("hub_admin.audit_log"), 303)
    hub = _hub()
    accounts_deleted, entries_deleted = purge(naive_utc(_now()), hub.account_retention_days, hub.audit_days)
    flash(_("Retention applied: %(accounts)s accounts and %(entries)s audit entries deleted.",
            accounts=accounts_deleted, entries=entries_deleted), "ok")
    return redirect(url_for("hub_admin.audit_log"), 303)
