"""Staff sign-in and sign-out."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from appliance.accounts import authenticate, end_sessions, is_locked
from appliance.web.forms import EmptyForm, LoginForm
from appliance.web.security import login_required, safe_next
from appliance.web.util import settings

bp = Blueprint("auth", __name__, url_prefix="/staff")


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    form = LoginForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("staff/login.html", form=form), status
    staff = settings().staff
    user = authenticate(
        form.username.data, form.password.data, staff.login_attempts,
        timedelta(minutes=staff.lockout_minutes),
    )
    if user is None:
        if is_locked(form.username.data):
            message = _("Too many failed attempts: this account is locked for %(n)s minutes.",
                        n=staff.lockout_minutes)
        else:
            message = _("Wrong username or password.")
        form.form_errors.append(message)
        return render_template("staff/login.html", form=form), 401
    session.clear()
    session.permanent = True
    session["user_id"] = user.id
    session["epoch"] = user.session_epoch
    return redirect(safe_next(request.args.get("next"), url_for("desk.home")))


@bp.route("/logout", methods=["POST"])
@login_required
def logout():  # type: ignore[no-untyped-def]
    EmptyForm().validate_on_submit()
    end_sessions(g.user.id)
    session.clear()
    return redirect(url_for("auth.login"))
