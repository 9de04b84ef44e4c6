"""The first-boot setup wizard, /setup/: the code shown on the console, then the EPN,
the visitors' Wi-Fi, the first coordinator, the hub, and the finishing steps' progress.

While setup is pending every other page (but /healthz and /static) sends here; once it
is done, /setup/ sends to the staff sign-in. Works without JavaScript: the progress page
refreshes itself with a meta refresh.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from appliance.config import LANGUAGES
from appliance.setup import draft as drafts
from appliance.setup.code import SetupDone, check_code, claim_is_valid
from appliance.setup.finish import progress, start_finishing
from appliance.setup.state import DONE, PENDING, read_state
from appliance.web.forms import REQUIRED, EmptyForm
from appliance.web.i18n import COOKIE
from appliance.web.security import safe_next
from appliance.web.util import attach_error, settings

bp = Blueprint("setup", __name__, url_prefix="/setup")
CLAIM = "setup_claim"
OLD_ZONES = ("Etc/", "SystemV/", "US/", "posix/", "right/")
ORDER = ("site", "wifi", "account", "hub", "review")


class CodeForm(FlaskForm):
    code = StringField(_l("Setup code"), validators=[DataRequired(REQUIRED), Length(max=40)])


class SiteForm(FlaskForm):
    name = StringField(_l("Name of the EPN"), validators=[DataRequired(REQUIRED), Length(max=100)])
    commune = StringField(_l("Municipality"), validators=[Optional(), Length(max=80)])
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=10)])
    computers = StringField(_l("Number of computers for visitors"), validators=[Optional(), Length(max=10)])
    timezone = SelectField(_l("Time zone"), validate_choice=False,
                           choices=["UTC", *sorted(zone for zone in zoneinfo.available_timezones()
                                                   if "/" in zone and not zone.startswith(OLD_ZONES))])


class WifiForm(FlaskForm):
    ssid = StringField(_l("Name of the visitors' Wi-Fi"), validators=[DataRequired(REQUIRED), Length(max=64)])
    portal = BooleanField(_l("Show the welcome page (captive portal) to visitors who join the Wi-Fi"))


class AccountForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(REQUIRED), Length(max=40)])
    display_name = StringField(_l("Name shown to colleagues"), validators=[Optional(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[Length(max=200)])
    password_again = PasswordField(_l("Password again"), validators=[Length(max=200)])


class HubForm(FlaskForm):
    hub_url = StringField(_l("Address of the hub"), validators=[Length(max=300)])
    token = StringField(_l("Enrolment token"), validators=[Length(max=300)])


def init_app(app: Any) -> None:
    """While setup is pending, every page but /healthz, /static and /setup sends here."""
    app.before_request_funcs.setdefault(None, []).insert(0, _send_to_setup)


def _send_to_setup() -> Any:
    path = request.path
    if path == "/healthz" or path == "/setup" or path.startswith(("/setup/", "/static/")):
        return None
    if current_app.extensions.get("epn_setup_done"):
        return None
    found = read_state(settings().data_dir).get("status")
    if found == PENDING:
        return redirect(url_for("setup.index"))
    if found == DONE:  # done is for good: no more reading the file
        current_app.extensions["epn_setup_done"] = True
    return None


@bp.before_request
def _only_while_pending() -> Any:
    if request.endpoint == "setup.choose_language":
        return None
    if read_state(settings().data_dir).get("status") != PENDING:
        if session.pop(CLAIM, None):
            flash(_("Setup is complete. Sign in with the coordinator account you created."), "ok")
        return redirect(url_for("auth.login"))
    return None


def claimed(view: Callable) -> Callable:
    """The view needs a session that typed the current setup code."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not claim_is_valid(read_state(settings().data_dir), session.get(CLAIM)):
            return redirect(url_for("setup.index"))
        try:
            return view(*args, **kwargs)
        except drafts.NotClaimed:
            return redirect(url_for("setup.index"))

    return wrapped


@bp.route("/lang/<code>")
def choose_language(code: str) -> Any:
    response = make_response(redirect(safe_next(request.args.get("next"), url_for("setup.index"))))
    if code in LANGUAGES:
        response.set_cookie(COOKIE, code, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
                            secure=settings().server.tls)
    return response


@bp.route("/", methods=["GET", "POST"])
def index() -> Any:
    if claim_is_valid(read_state(settings().data_dir), session.get(CLAIM)):
        return redirect(url_for("setup.site"))
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("setup/code.html", form=form), 400 if request.method == "POST" else 200
    try:
        result = check_code(settings().data_dir, form.code.data, request.remote_addr or "?")
    except SetupDone:
        return redirect(url_for("auth.login"))
    if result.claim:
        session[CLAIM] = result.claim
        return redirect(url_for("setup.site"))
    if result.wait_minutes:
        form.code.errors = [_("Too many wrong codes. Try again in %(n)s minutes.", n=result.wait_minutes)]
        return render_template("setup/code.html", form=form), 429
    form.code.errors = [_("This is not the code shown on the appliance's screen. Check it and try again.")]
    return render_template("setup/code.html", form=form), 400


def _step(name: str, form: FlaskForm, check: Callable[[FlaskForm, dict], dict]) -> Any:
    """Show a step; on a right answer store it and go on, else show it again with the errors."""
    if form.validate_on_submit():
        try:
            answers = check(form, _draft())
        except drafts.StepErrors as problem:
            for error in problem.errors:
                attach_error(form, error)
        else:
            drafts.save_step(settings().data_dir, session.get(CLAIM), name, answers)
            return redirect(url_for("setup." + ORDER[ORDER.index(name) + 1]))
    status = 400 if request.method == "POST" else 200
    return render_template(f"setup/{name}.html", form=form, draft=_draft()), status


def _draft() -> dict:
    return drafts.read_draft(settings().data_dir, session.get(CLAIM))


@bp.route("/site", methods=["GET", "POST"])
@claimed
def site() -> Any:
    current = settings().site
    saved = _draft().get("site") or {
        "name": "" if current.name == drafts.PLACEHOLDER_NAME else current.name, "commune_typed": current.commune,
        "postal_code": current.postal_code, "computers": current.computers or "", "timezone": current.timezone}
    form = SiteForm(data={**saved, "commune": saved["commune_typed"], "computers": str(saved["computers"])})
    return _step("site", form, lambda f, _d: drafts.check_site(
        f.name.data, f.commune.data or "", f.postal_code.data or "", f.computers.data or "", f.timezone.data))


@bp.route("/wifi", methods=["GET", "POST"])
@claimed
def wifi() -> Any:
    current = settings().wifi
    saved = _draft().get("wifi") or {"ssid": current.ssid, "portal": current.backend == "nft"}
    return _step("wifi", WifiForm(data=saved), lambda f, _d: drafts.check_wifi(f.ssid.data, f.portal.data))


@bp.route("/account", methods=["GET", "POST"])
@claimed
def account() -> Any:
    saved = _draft().get("account") or {}
    form = AccountForm(data={"username": saved.get("username", ""), "display_name": saved.get("display_name", "")})

    def check(f: FlaskForm, draft: dict) -> dict:
        kept = (draft.get("account") or {}).get("password_hash")
        return drafts.check_account(f.username.data, f.display_name.data or "", f.password.data or "",
                                    f.password_again.data or "", kept)

    return _step("account", form, check)


@bp.route("/hub", methods=["GET", "POST"])
@claimed
def hub() -> Any:
    saved = _draft().get("hub") or {}
    form = HubForm(data={"hub_url": saved.get("url", ""), "token": saved.get("token", "")})
    if request.method == "POST" and request.form.get("action") == "skip" and form.validate_on_submit():
        drafts.save_step(settings().data_dir, session.get(CLAIM), "hub", None)
        return redirect(url_for("setup.review"))
    return _step("hub", form, lambda f, _d: drafts.check_hub(f.hub_url.data or "", f.token.data or ""))


@bp.route("/review", methods=["GET", "POST"])
@claimed
def review() -> Any:
    form, draft = EmptyForm(), _draft()
    missing = drafts.missing_steps(draft)
    if form.validate_on_submit() and not missing:
        start_finishing(settings().data_dir, session.get(CLAIM))
        return redirect(url_for("setup.progress_page"))
    status = 400 if request.method == "POST" else 200
    return render_template("setup/review.html", form=form, draft=draft, missing=missing), status


@bp.route("/progress")
@claimed
def progress_page() -> Any:
    found = progress(settings().data_dir)
    if found is None:
        return redirect(url_for("setup.review"))
    return render_template("setup/progress.html", progress=found, form=EmptyForm(),
                           step_labels=STEP_LABELS, state_labels=STATE_LABELS,
                           reason=REASONS.get(found["reason"]))


@bp.route("/retry", methods=["POST"])
@claimed
def retry() -> Any:
    if EmptyForm().validate_on_submit():
        start_finishing(settings().data_dir, session.get(CLAIM))
    return redirect(url_for("setup.progress_page"))


STEP_LABELS = {
    "hub": _l("Enrol with the hub"),
    "settings": _l("Save the settings"),
    "account": _l("Create the coordinator account"),
    "wifi": _l("Prepare the visitors' Wi-Fi"),
    "done": _l("Finish the setup"),
}
STATE_LABELS = {
    "waiting": _l("Waiting"), "running": _l("Running…"), "done": _l("Done"),
    "skipped": _l("Skipped"), "failed": _l("Failed"),
}
REASONS = {
    "hub_unreachable": _l("The hub did not answer. Check its address and the appliance's internet "
                          "connection, then try again."),
    "expired_token": _l("This enrolment token has expired. Ask the hub's administrator for a new one, "
                        "change it on the hub step, then try again."),
    "used_token": _l("This enrolment token was used already. Ask the hub's administrator for a new one, "
                     "change it on the hub step, then try again."),
    "unknown_token": _l("The hub does not know this enrolment token. Check it on the hub step, then try again."),
    "revoked_key": _l("The hub refused this appliance's key. Skip the hub for now and enrol later "
                      "with `epn enrol --new-key`."),
    "key_in_use": _l("The hub refused this appliance's key. Skip the hub for now and enrol later "
                     "with `epn enrol --new-key`."),
    "hub_refused": _l("The hub refused the enrolment. The details below can help its administrator."),
    "settings": _l("The settings could not be saved."),
    "username_taken": _l("This username is already taken. Choose another one on the account step."),
    "wifi": _l("The Wi-Fi settings could not be written."),
    "interrupted": _l("The appliance stopped while finishing. Try again: the steps already done are kept."),
    "unexpected": _l("Something went wrong. Try again; if it happens again, note the details below."),
}
