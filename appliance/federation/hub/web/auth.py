"""Sign-in and sign-out of the coordination's accounts."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from appliance.federation.hub.accounts import authenticate, end_sessions, is_locked
from appliance.federation.hub.epns import naive_utc
from appliance.federation.hub.web import login_required
from appliance.web.forms import EmptyForm, LoginForm
from appliance.web.security import safe_next

bp = Blueprint("hub_auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("hub/login.html", form=form), 400 if request.method == "POST" else 200
    hub = current_app.extensions["epn_config"].hub
    now = naive_utc(current_app.extensions["hub_clock"]())
    account = authenticate(form.username.data, form.password.data, hub.login_attempts,
                           timedelta(minutes=hub.lockout_minutes), now)
    if account is None:
        if is_locked(form.username.data, now):
            message = _("Too many failed attempts: this account is locked for %(n)s minutes.",
                        n=hub.lockout_minutes)
        else:
            message = _("Wrong username or password.")
        form.form_errors.append(message)
        return render_template("hub/login.html", form=form), 401
    session.clear()
    session.permanent = True
    session["account_id"] = account.id
    session["epoch"] = account.session_epoch
    return redirect(safe_next(request.args.get("next"), url_for("hub_dashboard.home")))


@bp.route("/logout", methods=["POST"])
@login_required
def logout():  # type: ignore[no-untyped-def]
    EmptyForm().validate_on_submit()
    end_sessions(g.account.id)
    session.clear()
    return redirect(url_for("hub_auth.login"))
